"""Change histories from Gerrit's change query, on a reply recorded from Gerrit 3.10.2
(tests/fixtures/gerrit/change-query.json: `GET /changes/?q=project:nova` with
`owners.gerrit.model.HISTORY_OPTIONS`).  Change 1 touches Hyper-V and compute files; alice voted +2,
carol +1 then +2, dave +2 and then deleted his vote.  Change 2 is a XenAPI change with
xavier's and lena's +2, lena's with a comment."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from owners.engine import Account, ChangedFile
from owners.gerrit.model import UnexpectedResponse, change_history, gerrit_time

FIXTURE = Path(__file__).parent.parent / "fixtures" / "gerrit" / "change-query.json"


@pytest.fixture
def reply() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text())


def _change(reply: list[dict[str, Any]], number: int) -> dict[str, Any]:
    return next(c for c in reply if c["_number"] == number)


def timeline(info: dict[str, Any], label: str = "Code-Review") -> list[tuple[str, int, str]]:
    history = change_history(info, label)
    return [(v.account.display, v.value, f"{v.at:%H:%M:%S}") for v in history.votes]


def test_the_recorded_reply_lists_the_newest_first_and_ends(reply: list[dict[str, Any]]) -> None:
    assert [c["_number"] for c in reply] == [2, 1]
    assert "_more_changes" not in reply[-1]


def test_identity_times_and_files(reply: list[dict[str, Any]]) -> None:
    history = change_history(_change(reply, 1), "Code-Review")
    assert (history.number, history.subject) == (1, "hyperv and compute")
    assert history.created == datetime(2026, 11, 21, 15, 59, 26, tzinfo=UTC)
    assert (history.owner.username, history.uploader.username) == ("zed", "zed")
    assert history.files == (
        ChangedFile("nova/virt/hyperv/vmops.py"),
        ChangedFile("nova/compute/api.py"),
    )


def test_votes_come_from_the_messages_in_order_with_a_deleted_vote_as_zero(
    reply: list[dict[str, Any]],
) -> None:
    assert timeline(_change(reply, 1)) == [
        ("alice", 2, "15:59:27"),
        ("carol", 1, "15:59:28"),
        ("carol", 2, "15:59:28"),
        ("dave", 2, "15:59:28"),
        ("dave", 0, "15:59:28"),  # "Removed Code-Review+2 by <GERRIT_ACCOUNT_...>"
    ]
    # the comment after the votes is not read as a vote
    assert timeline(_change(reply, 2)) == [("xavier", 2, "15:59:28"), ("lena", 2, "15:59:28")]


def test_other_labels_do_not_count(reply: list[dict[str, Any]]) -> None:
    assert timeline(_change(reply, 1), "Verified") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patch Set 2: -Code-Review", [("carol", 0)]),
        ("Patch Set 2: Verified+1 Code-Review-1\n\nnot yet", [("carol", -1)]),
        ("Patch Set 2:\n\nCode-Review+2 in the text is no vote", []),
        ("Patch Set 2: Code-Reviewer+2", []),
    ],
)
def test_message_votes(reply: list[dict[str, Any]], text: str, expected: list[tuple[str, int]]):
    info = copy.deepcopy(_change(reply, 2))
    carol = {"_account_id": 1000001, "username": "carol", "email": "carol@example.org"}
    info["messages"] = [{"author": carol, "date": info["created"], "message": text}]
    info["labels"]["Code-Review"]["all"] = []
    assert [(v.account.display, v.value) for v in change_history(info, "Code-Review").votes] == (
        expected
    )


def test_current_votes_settle_what_the_messages_do_not_show(reply: list[dict[str, Any]]) -> None:
    info = copy.deepcopy(_change(reply, 1))
    info["messages"] = [m for m in info["messages"] if m["author"]["username"] != "alice"]
    info["messages"] = [m for m in info["messages"] if "deleteVote" not in (m.get("tag") or "")]
    # alice's +2 has no message: it is taken at the time Gerrit gives it; dave's deletion
    # left no message: his vote is 0 now, at the change's last update
    assert timeline(info) == [
        ("alice", 2, "15:59:27"),
        ("carol", 1, "15:59:28"),
        ("carol", 2, "15:59:28"),
        ("dave", 2, "15:59:28"),
        ("dave", 0, "15:59:28"),
    ]


def test_gerrit_time_keeps_microseconds() -> None:
    assert gerrit_time("2025-01-10 10:00:00.123456789") == datetime(
        2025, 1, 10, 10, 0, 0, 123456, tzinfo=UTC
    )


@pytest.mark.parametrize("broken", [{}, {"_number": 1}, {"created": "yesterday"}])
def test_unexpected_json_is_reported_not_crashed_on(
    reply: list[dict[str, Any]], broken: dict[str, Any]
) -> None:
    info = {**_change(reply, 1), **broken} if broken else {}
    if broken == {"_number": 1}:
        del info["revisions"]
    with pytest.raises(UnexpectedResponse):
        change_history(info, "Code-Review")


def test_the_commit_author_wrote_the_change_as_the_engine_judges_it(
    reply: list[dict[str, Any]],
) -> None:
    """The report judges a change with the writers the bot sees (`Change.authors`): zed
    uploaded alice's commit, so alice's approval is her own (HISTORY_OPTIONS asks for the
    commit and every revision's uploader)."""
    info = copy.deepcopy(_change(reply, 1))
    commit = {"author": {"email": "alice@example.org"}, "committer": {"email": "zed@example.org"}}
    info["revisions"][info["current_revision"]]["commit"] = commit
    change = change_history(info, "Code-Review").change()
    assert change.is_author(Account(email="alice@example.org"))
    assert not change.is_author(Account(email="carol@example.org"))
