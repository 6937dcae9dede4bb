"""Changes built on other changes: when a change moves (a new patch set, abandoned, restored,
merged), every open change whose current revision has one of its revisions as a parent is
judged again, so that a stack or a merge never keeps a verdict its parent no longer earns."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import Actor, ChangeEvent, parse_event
from tests.webhook.conftest import (
    BOT,
    HEAD,
    HYPERV,
    FakeGerrit,
    change_info,
    drain,
    hyperv_map,
    queued_jobs,
    settings,
)
from webhook.jobs import CHANGE, STACK, Job, job_for

EVENTS = Path(__file__).parent.parent / "fixtures" / "events"
CONFIG = hyperv_map("bob")
BELOW_PS1, BELOW_PS2 = "1" * 40, "2" * 40


def with_parents(info: dict[str, Any], *parents: str) -> dict[str, Any]:
    revision = info["revisions"][info["current_revision"]]
    revision["commit"] = {"parents": [{"commit": p} for p in parents]}
    return info


def new_patch_set(info: dict[str, Any], sha: str) -> None:
    """Gerrit after an upload: the new revision is current, the old ones stay listed."""
    current = copy.deepcopy(info["revisions"][info["current_revision"]])
    current["_number"] += 1
    info["revisions"][sha] = current
    info["current_revision"] = sha


@pytest.fixture
def gerrit() -> FakeGerrit:
    """Change 1 has two patch sets; 2 is stacked on its first, 3 merges its second into the
    branch, 4 sits on the branch, 5 is on another branch, 6 is abandoned."""
    fake = FakeGerrit()
    fake.set_branch("nova", "master", HEAD, CONFIG)
    below = change_info(1, HYPERV, owner="uma")
    below["revisions"] = {BELOW_PS1: below["revisions"][below["current_revision"]]}
    below["current_revision"] = BELOW_PS1
    new_patch_set(below, BELOW_PS2)
    fake.add_change(below)
    fake.foreign_commits.update({BELOW_PS1, BELOW_PS2})  # not merged
    fake.add_change(with_parents(change_info(2, HYPERV, {"bob": 2}, owner="zed"), BELOW_PS1))
    fake.add_change(with_parents(change_info(3, HYPERV, owner="zed"), HEAD, BELOW_PS2))
    fake.add_change(change_info(4, HYPERV, owner="zed"))
    fake.add_change(with_parents(change_info(5, HYPERV, branch="stable"), BELOW_PS1))
    fake.add_change(with_parents(change_info(6, HYPERV, status="ABANDONED"), BELOW_PS1))
    return fake


# -- the events ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "job"),
    [
        ("patchset-created", STACK),
        ("change-abandoned", STACK),
        ("change-restored", STACK),
        ("change-merged", STACK),
        ("comment-added", CHANGE),
        ("vote-deleted", CHANGE),
        ("reviewer-deleted", CHANGE),
        ("wip-state-changed", CHANGE),
    ],
)
def test_events_that_move_a_change_judge_what_is_built_on_it(kind: str, job: str) -> None:
    event = ChangeEvent(kind, "nova", "master", 42, "I1", Actor("alice"))
    assert job_for(event) == Job(job, "nova", 42)


@pytest.mark.parametrize("name", ["change-abandoned.json", "change-merged.json"])
def test_the_recorded_closing_events_are_handled(name: str) -> None:
    payload = json.loads((EVENTS / name).read_text())
    event = parse_event(payload)
    assert isinstance(event, ChangeEvent)
    job = job_for(event)
    assert job == Job(STACK, payload["change"]["project"], payload["change"]["number"])
    assert Job.from_dict(job.to_dict()) == job
    assert job.key == f"stack:smoke%2Fevents~{payload['change']['number']}"


# -- which changes -------------------------------------------------------------------------


def test_the_dependents_are_the_open_changes_of_the_branch_on_any_of_its_patch_sets(
    gerrit: FakeGerrit,
) -> None:
    connection = GerritConnection(settings(), rest=gerrit)
    assert connection.changes.dependents("nova", 1) == [2, 3]
    assert connection.changes.dependents("nova", 4) == []


def test_a_change_the_bot_may_not_read_is_reported_as_such_not_as_a_failed_stack(
    gerrit: FakeGerrit, tmp_path: Path
) -> None:
    jobs = queued_jobs(gerrit, tmp_path / "queue.db")
    jobs.submit(Job(STACK, "nova", 99))  # Gerrit answers 404 for a change hidden from the bot
    drain(jobs)
    assert [letter["job"]["kind"] for letter in jobs.dead_letters()] == [CHANGE]


# -- the verdict -----------------------------------------------------------------------------


def test_a_stack_on_a_patch_set_that_is_no_longer_current_is_blocked_at_once(
    gerrit: FakeGerrit, tmp_path: Path
) -> None:
    gerrit.changes[2] = with_parents(gerrit.changes[2], BELOW_PS2)
    jobs = queued_jobs(gerrit, tmp_path / "queue.db")
    jobs.submit(Job(CHANGE, "nova", 2))
    drain(jobs)
    assert _bot_vote(gerrit, 2) == 1

    new_patch_set(gerrit.changes[1], "3" * 40)  # change 2's parent is outdated now
    gerrit.foreign_commits.add("3" * 40)
    jobs.submit(job_for(ChangeEvent("patchset-created", "nova", "master", 1, "I1", Actor())))
    drain(jobs)

    assert _bot_vote(gerrit, 2) == -1
    assert f"Parent {BELOW_PS2[:12]} is neither on master" in gerrit.reviews()[-1]["message"]


def test_a_stack_on_an_abandoned_change_is_blocked_and_restored_with_it(
    gerrit: FakeGerrit, tmp_path: Path
) -> None:
    gerrit.changes[2] = with_parents(gerrit.changes[2], BELOW_PS2)
    jobs = queued_jobs(gerrit, tmp_path / "queue.db")
    jobs.submit(Job(CHANGE, "nova", 2))
    drain(jobs)
    assert _bot_vote(gerrit, 2) == 1

    for status, kind, vote in (
        ("ABANDONED", "change-abandoned", -1),
        ("NEW", "change-restored", 1),
    ):
        gerrit.changes[1]["status"] = status
        jobs.submit(job_for(ChangeEvent(kind, "nova", "master", 1, "I1", Actor())))
        drain(jobs)
        assert _bot_vote(gerrit, 2) == vote, kind


def _bot_vote(gerrit: FakeGerrit, number: int) -> int:
    votes = gerrit.changes[number]["labels"]["Owner-Approval"]["all"]
    return next((v["value"] for v in votes if v["username"] == BOT), 0)
