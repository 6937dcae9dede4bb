"""Account changes: the All-Users event, the changes it selects, and the votes that stop
counting once Gerrit reports the account inactive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import AccountChanged, Actor, RefUpdated, account_id, parse_event
from tests.webhook.conftest import (
    BOT,
    HYPERV,
    TOKEN,
    FakeGerrit,
    HTTPStatus,
    account,
    change_info,
    drain,
    hyperv_map,
    queued_jobs,
    settings,
)
from webhook.app import create_app
from webhook.jobs import ACCOUNT, CHANGE, Job, job_for
from webhook.service import OwnersService

# Recorded on the dev Gerrit 3.10.2: `DELETE /accounts/1000001/active` (Gerrit names no
# submitter for it), All-Users posting `ref-updated` (see tests/fixtures/events/README.md).
RECORDED = Path(__file__).parent.parent / "fixtures" / "events" / "ref-updated-account.json"
CONFIG = hyperv_map("hana")
HANA = account("hana")["_account_id"]


def _inactive(info: dict, username: str) -> dict:
    """The ChangeInfo as Gerrit shows it once `username` is deactivated."""
    for vote in info["labels"]["Code-Review"]["all"]:
        if vote["username"] == username:
            vote["inactive"] = True
    return info


@pytest.fixture
def gerrit() -> FakeGerrit:
    """nova: hana approved change 1 and reviews change 2; carol alone reviews change 3;
    glance's change 4 has hana's vote too."""
    fake = FakeGerrit()
    fake.set_branch("nova", "master", "a" * 40, CONFIG)
    fake.add_change(change_info(1, HYPERV, {"hana": 2}))
    fake.add_change(change_info(2, HYPERV, {"hana": 1}))
    fake.add_change(change_info(3, HYPERV, {"carol": 2}))
    fake.set_branch("glance", "master", "e" * 40, CONFIG)
    fake.add_change(change_info(4, HYPERV, {"hana": 2}, project="glance"))
    return fake


# -- the event -------------------------------------------------------------------------------


def test_the_recorded_deactivation_is_a_typed_event_naming_the_account() -> None:
    event = parse_event(json.loads(RECORDED.read_text()))
    assert event == AccountChanged(
        project="All-Users",
        account_id=1000001,
        ref="refs/users/01/1000001",
        old_rev="096a23bd4a2d7743939137de8bb147594116cedc",
        new_rev="eb0fe7f2cbb0353fc42766253fa509e39eca1c56",
        actor=Actor(),
    )
    job = job_for(event)
    assert job == Job(ACCOUNT, "All-Users", account=1000001)
    assert job.key == "account:1000001"
    assert Job.from_dict(job.to_dict()) == job
    assert str(job) == "account 1000001"


@pytest.mark.parametrize(
    ("ref", "number"),
    [
        ("refs/users/01/1000001", 1000001),
        ("refs/users/00/1000000", 1000000),
        ("refs/users/05/5", 5),
        ("refs/users/default", None),  # the default preferences
        ("refs/users/01/1000001/edit-5/1", None),  # a change edit (in a project repository)
        ("refs/users/02/1000001", None),  # not sharded by its own last two digits
        ("refs/users/1/1000001", None),
        ("refs/users/01/", None),
        ("refs/users/01/01", None),  # a leading zero: no ID Gerrit writes
        ("refs/users/01/x1000001", None),
        ("refs/users/47/99999999999999999947", None),  # beyond a Java int
        ("refs/starred-changes/01/42/1000001", None),
        ("refs/draft-comments/42/42/1000001", None),
        ("refs/meta/external-ids", None),
    ],
)
def test_only_an_accounts_own_ref_names_an_account(ref: str, number: int | None) -> None:
    assert account_id(ref) == number
    payload = json.loads(RECORDED.read_text())
    payload["refUpdate"]["refName"] = ref
    event = parse_event(payload)
    assert isinstance(event, AccountChanged if number else RefUpdated)


def test_an_account_job_without_an_account_is_not_read_back() -> None:
    with pytest.raises(ValueError, match="account ID"):
        Job.from_dict({"kind": ACCOUNT, "project": "All-Users"})


def test_account_changes_count_whatever_projects_are_watched_but_not_the_bots_own(
    gerrit: FakeGerrit,
) -> None:
    config = settings(projects=frozenset({"nova"}))
    service = OwnersService(config, GerritConnection(config, rest=gerrit))
    assert service.ignores(parse_event(json.loads(RECORDED.read_text()))) is None
    by_bot = AccountChanged("All-Users", 5, "refs/users/05/5", "1" * 40, "2" * 40, Actor(BOT))
    assert service.ignores(by_bot) == "the event was caused by the bot itself"


# -- which changes -------------------------------------------------------------------------


def test_the_changes_the_account_reviews_in_watched_projects(gerrit: FakeGerrit) -> None:
    everything = settings()
    assert sorted(GerritConnection(everything, rest=gerrit).changes.changes_reviewed_by(HANA)) == [
        ("glance", 4),
        ("nova", 1),
        ("nova", 2),
    ]
    nova = settings(projects=frozenset({"nova"}))
    assert sorted(GerritConnection(nova, rest=gerrit).changes.changes_reviewed_by(HANA)) == [
        ("nova", 1),
        ("nova", 2),
    ]


def test_gerrit_failing_fails_the_job_rather_than_selecting_nothing(
    gerrit: FakeGerrit, tmp_path: Path
) -> None:
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", job_attempts=2)
    gerrit.outage = HTTPStatus(503)
    jobs.submit(Job(ACCOUNT, "All-Users", account=HANA))
    drain(jobs)
    assert [letter["job"]["kind"] for letter in jobs.dead_letters()] == [ACCOUNT]


# -- the vote --------------------------------------------------------------------------------


def test_a_deactivated_approvers_vote_is_taken_back(gerrit: FakeGerrit, tmp_path: Path) -> None:
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", projects=frozenset({"nova"}))
    jobs.submit(Job(CHANGE, "nova", 1))
    drain(jobs)
    assert _bot_vote(gerrit, 1) == 1

    _inactive(gerrit.changes[1], "hana")
    jobs.submit(Job(ACCOUNT, "All-Users", account=HANA))
    drain(jobs)

    assert _bot_vote(gerrit, 1) == 0
    assert "needs 1 more approval" in gerrit.reviews()[-1]["message"]


def test_a_deactivation_gerrit_had_not_yet_applied_is_judged_again_once_settled(
    gerrit: FakeGerrit, tmp_path: Path
) -> None:
    """Gerrit sends the ref update before it evicts the account from its cache: the first
    fan-out can still see hana active, the second, CACHE_SETTLE_SECONDS later, does not."""
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", projects=frozenset({"nova"}))
    jobs.submit(Job(ACCOUNT, "All-Users", account=HANA))
    drain(jobs, later=False)
    assert _bot_vote(gerrit, 1) == 1
    assert jobs.huey.scheduled_count() == 1

    _inactive(gerrit.changes[1], "hana")  # Gerrit's cache caught up
    drain(jobs)
    assert _bot_vote(gerrit, 1) == 0
    assert jobs.huey.scheduled_count() == 0


def test_a_burst_of_changes_to_one_account_is_one_job(gerrit: FakeGerrit, tmp_path: Path) -> None:
    jobs = queued_jobs(gerrit, tmp_path / "queue.db")
    client = create_app(jobs.settings, jobs=jobs).test_client()
    payload = json.loads(RECORDED.read_text())
    answers = [client.post(f"/gerrit/events/{TOKEN}", json=payload).get_json() for _ in range(3)]
    assert [a["status"] for a in answers] == ["queued", "coalesced", "coalesced"]
    assert answers[0]["job"] == "account 1000001"


def _bot_vote(gerrit: FakeGerrit, number: int) -> int:
    votes = gerrit.changes[number]["labels"]["Owner-Approval"]["all"]
    return next((v["value"] for v in votes if v["username"] == BOT), 0)
