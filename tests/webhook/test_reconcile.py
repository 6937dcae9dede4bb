"""The reconciler: what it re-evaluates, what it skips, and what it costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.webhook.conftest import (
    HYPERV,
    FakeGerrit,
    account,
    change_info,
    drain,
    hyperv_map,
    queued_jobs,
)
from webhook.jobs import CHANGE, Job, Jobs
from webhook.reconcile import Reconciler

GROUPED = hyperv_map("gerrit:Hyper-V Core")


@pytest.fixture
def world(gerrit: FakeGerrit, tmp_path: Path) -> tuple[Jobs, Reconciler]:
    gerrit.set_branch("nova", "master", "a" * 40, GROUPED)
    gerrit.groups["Hyper-V Core"] = [account("bob")]
    gerrit.add_change(change_info(1, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.add_change(change_info(2, HYPERV, {"victor": 2}, owner="uma"))
    gerrit.add_change(change_info(3, HYPERV, status="MERGED"))
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", projects=frozenset({"nova"}))
    return jobs, Reconciler(jobs)


def bot_vote(gerrit: FakeGerrit, number: int) -> int:
    votes = gerrit.changes[number]["labels"]["Owner-Approval"]["all"]
    return next((v["value"] for v in votes if v["username"] == "owners-bot"), 0)


def test_a_first_sweep_evaluates_every_open_change_then_skips_them(
    world: tuple[Jobs, Reconciler], gerrit: FakeGerrit
) -> None:
    jobs, reconciler = world
    first = reconciler.sweep()
    assert (first.seen, first.queued, first.skipped) == (2, 2, 0)
    drain(jobs)
    assert (bot_vote(gerrit, 1), bot_vote(gerrit, 2)) == (1, 0)
    # The bot's own votes are among the inputs: one more look, then nothing.
    reconciler.sweep()
    drain(jobs)
    third = reconciler.sweep()
    assert (third.queued, third.skipped) == (0, 2)
    # one query, one branch head, one group: the cost of an idle sweep
    assert third.rest_calls == 3


def test_a_lost_vote_event_is_repaired(world: tuple[Jobs, Reconciler], gerrit: FakeGerrit) -> None:
    jobs, reconciler = world
    for _ in range(3):
        reconciler.sweep()
        drain(jobs)
    gerrit.changes[2]["labels"]["Code-Review"]["all"].append(dict(account("bob"), value=2))
    sweep = reconciler.sweep()
    assert (sweep.queued, sweep.skipped) == (1, 1)
    drain(jobs)
    assert bot_vote(gerrit, 2) == 1


def test_a_lost_account_deactivation_is_repaired(
    world: tuple[Jobs, Reconciler], gerrit: FakeGerrit
) -> None:
    jobs, reconciler = world
    for _ in range(3):
        reconciler.sweep()
        drain(jobs)
    assert bot_vote(gerrit, 1) == 1
    gerrit.changes[1]["labels"]["Code-Review"]["all"][0]["inactive"] = True  # bob's +2
    sweep = reconciler.sweep()
    assert (sweep.queued, sweep.skipped) == (1, 1)
    drain(jobs)
    assert bot_vote(gerrit, 1) == 0


def test_a_group_membership_change_is_noticed(
    world: tuple[Jobs, Reconciler], gerrit: FakeGerrit
) -> None:
    """Gerrit sends no event when a group changes; the sweep reads the members afresh, and the
    evaluation does not trust the five-minute group cache either."""
    jobs, reconciler = world
    for _ in range(3):
        reconciler.sweep()
        drain(jobs)
    assert bot_vote(gerrit, 2) == 0
    gerrit.groups["Hyper-V Core"].append(account("victor"))
    assert reconciler.sweep().queued == 2
    drain(jobs)
    assert bot_vote(gerrit, 2) == 1


def test_records_of_closed_changes_are_dropped(
    world: tuple[Jobs, Reconciler], gerrit: FakeGerrit
) -> None:
    jobs, reconciler = world
    reconciler.sweep()
    drain(jobs)
    gerrit.changes[1]["status"] = "MERGED"
    assert reconciler.sweep().forgotten == 1
    assert [key for key, _ in jobs.inputs.items()] == ["change:nova~2"]


def test_one_sweep_per_interval_across_workers(
    world: tuple[Jobs, Reconciler], gerrit: FakeGerrit, tmp_path: Path
) -> None:
    jobs, reconciler = world
    other = Reconciler(queued_jobs(gerrit, tmp_path / "queue.db"))
    now = [10_000.0]
    jobs.clock = other.jobs.clock = lambda: now[0]
    claim = reconciler.claim(60)
    assert claim is not None and other.claim(60) is None
    reconciler.release(claim)  # the sweep failed: someone may try again
    assert other.claim(60) is not None and reconciler.claim(60) is None
    now[0] += 60
    assert reconciler.claim(60) is not None


def test_a_sweep_after_verdicts_from_events_evaluates_nothing(
    world: tuple[Jobs, Reconciler], gerrit: FakeGerrit
) -> None:
    """Every verdict records its inputs, whoever asked for it, as the bot left them (its own
    new vote in place): the first sweep after events finds nothing to do."""
    jobs, reconciler = world
    gerrit.changes[2]["messages"].append({"author": account("owners-bot"), "message": "hi"})
    for number in (2, 1):
        jobs.submit(Job(CHANGE, "nova", number))
    drain(jobs)
    assert (bot_vote(gerrit, 1), bot_vote(gerrit, 2)) == (1, 0)
    sweep = reconciler.sweep()
    assert (sweep.seen, sweep.queued, sweep.skipped) == (2, 0, 2)
    assert sweep.rest_calls == 3  # one query, one branch head, one group


def test_one_query_sweeps_every_named_project(gerrit: FakeGerrit, tmp_path: Path) -> None:
    projects = frozenset(f"p{i:03}" for i in range(250))
    for i, project in enumerate(sorted(projects)[::50]):
        gerrit.set_branch(project, "master", "a" * 40, GROUPED)
        gerrit.add_change(change_info(10 + i, HYPERV, project=project))
    gerrit.groups["Hyper-V Core"] = [account("bob")]
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", projects=projects)
    gerrit.log.clear()
    sweep = Reconciler(jobs).sweep()
    assert sweep.seen == 5
    # a query per 100 projects; for each project with open changes its branch's head and
    # (new) OWNERS.yaml; the group once.  The 245 projects without open changes cost nothing.
    assert [path for _, path in gerrit.log].count("changes/") == 3
    assert sweep.rest_calls == 3 + 5 * 2 + 1
