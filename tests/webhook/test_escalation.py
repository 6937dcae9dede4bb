"""Escalation from the reconciler's sweep (`webhook.escalation`), on the fake Gerrit with the
queue's clock moved by hand: past the SLA the co-owners are asked once, a review in time or a
work-in-progress change stops it, and nothing is voted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.webhook.conftest import (
    BOT,
    FakeGerrit,
    HTTPStatus,
    account,
    change_info,
    queued_jobs,
)
from webhook.escalation import ESCALATION_TAG
from webhook.reconcile import Reconciler

HYPERV = {"nova/virt/hyperv/vmops.py": {}}
CONFIG = b"""\
version: 1
policy:
  review_sla: 2d
root:
  owners: [carol]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [alice, bob]
"""
CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def gerrit_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.000000000")


def sweep(gerrit: FakeGerrit, tmp_path: Path, after: timedelta) -> int:
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", projects=frozenset({"nova"}))
    jobs.clock = lambda: (CREATED + after).timestamp()
    return Reconciler(jobs).sweep().escalated


def escalations(gerrit: FakeGerrit, number: int) -> list[str]:
    messages = gerrit.changes[number]["messages"]
    return [m["message"] for m in messages if m["tag"] == ESCALATION_TAG]


def reviewers(gerrit: FakeGerrit, number: int) -> set[str]:
    return {a["username"] for a in gerrit.changes[number]["reviewers"]["REVIEWER"]}


def test_past_the_sla_the_owners_are_asked_once_and_nothing_is_voted(
    gerrit: FakeGerrit, tmp_path: Path
) -> None:
    gerrit.set_branch("nova", "master", "a" * 40, CONFIG)
    gerrit.add_change(
        change_info(
            1, HYPERV, owner="uma", created=gerrit_time(CREATED), updated=gerrit_time(CREATED)
        )
    )
    assert sweep(gerrit, tmp_path, timedelta(days=1)) == 0
    assert escalations(gerrit, 1) == []
    assert sweep(gerrit, tmp_path, timedelta(days=3)) == 1
    [comment] = escalations(gerrit, 1)
    assert "review SLA of hyperv (2d)" in comment
    assert {"alice", "bob"} <= reviewers(gerrit, 1)
    assert all(v["username"] != BOT for v in gerrit.changes[1]["labels"]["Code-Review"]["all"])
    assert sweep(gerrit, tmp_path, timedelta(days=4)) == 0
    assert len(escalations(gerrit, 1)) == 1


def test_an_owners_vote_in_time_and_work_in_progress_are_not_escalated(
    gerrit: FakeGerrit, tmp_path: Path
) -> None:
    gerrit.set_branch("nova", "master", "a" * 40, CONFIG)
    reviewed = change_info(
        1,
        HYPERV,
        owner="uma",
        created=gerrit_time(CREATED), updated=gerrit_time(CREATED),
        messages=[
            {"author": account(name), "date": gerrit_time(CREATED + timedelta(hours=5)),
             "message": "Patch Set 1: Code-Review-1\n\nnot yet", "tag": None}
            for name in ("alice", "carol")
        ],
    )  # fmt: skip
    gerrit.add_change(reviewed)
    wip = change_info(
        2, HYPERV, owner="uma", created=gerrit_time(CREATED), updated=gerrit_time(CREATED)
    )
    gerrit.add_change({**wip, "work_in_progress": True})
    assert sweep(gerrit, tmp_path, timedelta(days=3)) == 0
    assert escalations(gerrit, 1) == escalations(gerrit, 2) == []


def test_a_vote_by_the_changes_own_writer_is_no_review(gerrit: FakeGerrit, tmp_path: Path) -> None:
    config = CONFIG.replace(b"owners: [alice, bob]", b"owners: [alice, bob, uma]")
    gerrit.set_branch("nova", "master", "a" * 40, config)
    mine = change_info(
        1,
        HYPERV,
        owner="uma",
        created=gerrit_time(CREATED), updated=gerrit_time(CREATED),
        messages=[{"author": account("uma"), "date": gerrit_time(CREATED),
                   "message": "Patch Set 1: Code-Review+2", "tag": None}],
    )  # fmt: skip
    gerrit.add_change(mine)
    assert sweep(gerrit, tmp_path, timedelta(days=3)) == 1


def test_a_change_gerrit_fails_on_does_not_stop_the_others(
    gerrit: FakeGerrit, tmp_path: Path
) -> None:
    gerrit.set_branch("nova", "master", "a" * 40, CONFIG)
    for number in (1, 2):
        gerrit.add_change(
            change_info(
                number,
                HYPERV,
                owner="uma",
                created=gerrit_time(CREATED),
                updated=gerrit_time(CREATED),
            )
        )
    read = gerrit._get_change

    def forbidden_first(project: str | None, number: str, **kw: object) -> object:
        if number == "1":
            raise HTTPStatus(403, "hidden since the query")
        return read(project, number, **kw)

    gerrit._get_change = forbidden_first  # type: ignore[method-assign]
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", projects=frozenset({"nova"}))
    jobs.clock = lambda: (CREATED + timedelta(days=3)).timestamp()
    assert Reconciler(jobs).sweep().escalated == 1
    assert escalations(gerrit, 1) == [] and len(escalations(gerrit, 2)) == 1


def test_a_change_marked_ready_later_waits_from_then(gerrit: FakeGerrit, tmp_path: Path) -> None:
    gerrit.set_branch("nova", "master", "a" * 40, CONFIG)
    ready = CREATED + timedelta(days=10)
    info = change_info(
        1,
        HYPERV,
        owner="uma",
        created=gerrit_time(CREATED),
        updated=gerrit_time(ready),
        messages=[{"author": account("uma"), "date": gerrit_time(ready),
                   "message": "Set Ready For Review",
                   "tag": "autogenerated:gerrit:setReadyForReview"}],
    )  # fmt: skip
    gerrit.add_change(info)
    assert sweep(gerrit, tmp_path, timedelta(days=11)) == 0  # one day after it was ready
    assert sweep(gerrit, tmp_path, timedelta(days=13)) == 1
