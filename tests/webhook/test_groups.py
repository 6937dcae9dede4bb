"""Group changes: the All-Users event, the changes it selects, and the stale members it drops."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import Actor, GroupChanged, RefUpdated, group_uuid, parse_event
from owners.gerrit.setup import WEBHOOKS_FILE, configure_group_events
from tests.webhook.conftest import (
    BOT,
    TOKEN,
    FakeGerrit,
    HTTPStatus,
    account,
    change_info,
    drain,
    fake_connection,
    queued_jobs,
    settings,
)
from webhook.app import create_app
from webhook.groups import affected_changes, named_groups
from webhook.jobs import CHANGE, GROUP, Job, job_for
from webhook.service import OwnersService

RECORDED = Path(__file__).parent.parent / "fixtures" / "events" / "ref-updated-group.json"
RECORDED_UUID = "3702a7b044c84511ea8cc506e096f1975e29b129"
HYPERV = {"nova/virt/hyperv/vmops.py": {}}

CONFIG = b"""\
version: 1
groups:
  cores: [carol]
root:
  owners: [cores]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [%s]
"""
DIRECT = CONFIG % b'"gerrit:Hyper-V Cores"'
ALIASED = (
    CONFIG.replace(b"cores: [carol]", b'cores: [carol]\n  hv: [alice, "gerrit:Hyper-V Cores"]')
    % b"hv"
)
NESTED = CONFIG % b'"gerrit:Virt Team"'
UNKNOWN = CONFIG % b'"gerrit:Ghosts"'
PLAIN = CONFIG % b"alice"


def uuid(name: str) -> str:
    return f"{sum(map(ord, name)):04x}".ljust(40, "0")


@dataclass
class GroupGerrit(FakeGerrit):
    """The fake Gerrit with groups that have UUIDs and include other groups."""

    known: set[str] = field(default_factory=set)
    includes: dict[str, list[str]] = field(default_factory=dict)  # name -> included names
    all_users: str = "All-Users"

    def _routes(self) -> list[tuple[str, tuple[str, Any]]]:
        return [
            (r"groups/([^/]+)/groups/", ("GET", self._included)),
            (r"groups/([^/]+)", ("GET", self._group)),
            (r"config/server/info", ("GET", self._server_info)),
            *super()._routes(),
        ]

    def _name(self, ident: str) -> str:
        for name in self.known:
            if ident in (name, uuid(name)):
                return name
        raise HTTPStatus(404, "Not found")

    def _group(self, ident: str, **_: Any) -> Any:
        name = self._name(ident)
        return {"id": uuid(name), "name": name}

    def _included(self, ident: str, **_: Any) -> Any:
        return [self._group(n) for n in self.includes.get(self._name(ident), [])]

    def _server_info(self, **_: Any) -> Any:
        return {"gerrit": {"all_projects": "All-Projects", "all_users": self.all_users}}

    def _query(self, params: dict[str, Any], **_: Any) -> Any:
        """Like Gerrit, a query without options still names each change's project and branch."""
        page = super()._query(params)
        return [
            {k: self.changes[c["_number"]][k] for k in ("_number", "project", "branch")}
            | ({"_more_changes": True} if c.get("_more_changes") else {})
            for c in page
        ]


@pytest.fixture
def gerrit() -> GroupGerrit:
    """nova: master names the group, stable through an alias, nested through a group that
    includes it, plain not at all; glance has no OWNERS.yaml."""
    fake = GroupGerrit(known={"Hyper-V Cores", "Virt Team", "Admins"})
    fake.includes["Virt Team"] = ["Hyper-V Cores"]
    for number, branch, config in (
        (1, "master", DIRECT),
        (2, "stable", ALIASED),
        (3, "nested", NESTED),
        (4, "plain", PLAIN),
    ):
        fake.set_branch("nova", branch, f"{number:x}" * 40, config)
        fake.add_change(change_info(number, HYPERV, branch=branch))
    fake.set_branch("glance", "master", "e" * 40, None)
    fake.add_change(change_info(5, HYPERV, project="glance"))
    return fake


def _event(payload: Any) -> Any:
    return parse_event(payload)


# -- the event -------------------------------------------------------------------------------


def test_the_recorded_group_change_is_a_typed_event_naming_the_group() -> None:
    event = _event(json.loads(RECORDED.read_text()))
    assert event == GroupChanged(
        project="All-Users",
        group_uuid=RECORDED_UUID,
        ref=f"refs/groups/37/{RECORDED_UUID}",
        old_rev="85942036506add33206f4920a570e21605e70eb6",
        new_rev="9fb4dd13570b42be5a6068b87f1d00b410936b28",
        actor=Actor("admin", "admin@example.com"),
    )
    job = job_for(event)
    assert job == Job(GROUP, "All-Users", group=RECORDED_UUID)
    assert job.key == f"group:{RECORDED_UUID}"
    assert Job.from_dict(job.to_dict()) == job
    assert str(job) == f"group {RECORDED_UUID}"


@pytest.mark.parametrize(
    "ref",
    [
        "refs/meta/group-names",  # moves with a rename, beside the group's own ref
        "refs/sequences/groups",
        "refs/groups/xx/3702a7b0",  # not sharded by its own first two characters
        "refs/groups/37",
        "refs/groups/37/",
        "refs/groups/37/37a/b",
    ],
)
def test_other_all_users_refs_are_not_group_changes(ref: str) -> None:
    payload = json.loads(RECORDED.read_text())
    payload["refUpdate"]["refName"] = ref
    event = _event(payload)
    assert isinstance(event, RefUpdated)
    assert group_uuid(ref) is None
    assert job_for(event) is None


def test_a_group_job_without_a_group_is_not_read_back() -> None:
    with pytest.raises(ValueError, match="group UUID"):
        Job.from_dict({"kind": GROUP, "project": "All-Users"})


def test_group_changes_count_whatever_projects_are_watched_but_not_the_bots_own(
    gerrit: GroupGerrit,
) -> None:
    config = settings(projects=frozenset({"nova"}))
    service = OwnersService(config, GerritConnection(config, rest=gerrit))
    event = _event(json.loads(RECORDED.read_text()))
    assert service.ignores(event) is None
    by_bot = GroupChanged(
        "All-Users", "ab" * 20, "refs/groups/ab/" + "ab" * 20, "1" * 40, "2" * 40, Actor(BOT)
    )
    assert service.ignores(by_bot) == "the event was caused by the bot itself"


# -- which changes -------------------------------------------------------------------------


def test_named_groups_come_from_owners_aliases_and_the_fallback() -> None:
    assert named_groups(DIRECT) == ["Hyper-V Cores"]
    assert named_groups(ALIASED) == ["Hyper-V Cores"]
    assert named_groups(PLAIN) == []
    assert named_groups(None, ["carol", "gerrit:Admins"]) == ["Admins"]
    assert named_groups(b"version: [", ["gerrit:Admins"]) == ["Admins"]  # invalid: fallback


def test_the_changes_naming_the_group_directly_through_aliases_or_inclusion(
    gerrit: GroupGerrit,
) -> None:
    config = settings()
    impact = affected_changes(GerritConnection(config, rest=gerrit), config, uuid("Hyper-V Cores"))
    assert sorted(impact.changes) == [("nova", 1), ("nova", 2), ("nova", 3)]
    assert impact.name == "Hyper-V Cores"
    assert impact.groups == ("Hyper-V Cores", "Virt Team")
    assert "3 open changes to re-evaluate" in str(impact)


def test_a_group_no_owners_file_names_affects_nothing(gerrit: GroupGerrit) -> None:
    config = settings()
    impact = affected_changes(GerritConnection(config, rest=gerrit), config, uuid("Admins"))
    assert impact.changes == ()


def test_the_including_group_changing_affects_only_its_namers(gerrit: GroupGerrit) -> None:
    config = settings()
    impact = affected_changes(GerritConnection(config, rest=gerrit), config, uuid("Virt Team"))
    assert impact.changes == (("nova", 3),)


def test_fallback_owners_groups_select_branches_without_owners_files(gerrit: GroupGerrit) -> None:
    config = settings(fallback_owners=("gerrit:Admins",))
    impact = affected_changes(GerritConnection(config, rest=gerrit), config, uuid("Admins"))
    assert ("glance", 5) in impact.changes


def test_only_watched_projects_are_searched(gerrit: GroupGerrit) -> None:
    config = settings(projects=frozenset({"glance"}), fallback_owners=("gerrit:Admins",))
    impact = affected_changes(GerritConnection(config, rest=gerrit), config, uuid("Admins"))
    assert impact.changes == (("glance", 5),)


def test_a_named_group_that_no_longer_resolves_is_re_evaluated(gerrit: GroupGerrit) -> None:
    """After a rename the old name resolves no more: its changes must lose its approvals."""
    gerrit.set_branch("nova", "plain", "4" * 40, UNKNOWN)
    config = settings()
    impact = affected_changes(GerritConnection(config, rest=gerrit), config, uuid("Admins"))
    assert impact.changes == (("nova", 4),)


def test_gerrit_failing_fails_the_job_rather_than_selecting_nothing(
    gerrit: GroupGerrit, tmp_path: Path
) -> None:
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", job_attempts=2)
    gerrit.outage = HTTPStatus(503)
    jobs.submit(Job(GROUP, "All-Users", group=uuid("Hyper-V Cores")))
    drain(jobs)
    assert [letter["job"]["kind"] for letter in jobs.dead_letters()] == [GROUP]


# -- the vote --------------------------------------------------------------------------------


def test_a_removed_member_stops_counting_in_every_worker_process(
    gerrit: GroupGerrit, tmp_path: Path
) -> None:
    """Process A approved with hana in its member cache; process B runs the group job; A's
    next evaluation, whoever queued it, reads the members afresh and takes the vote back."""
    gerrit.groups["Hyper-V Cores"] = [account("hana")]
    gerrit.changes[1] = change_info(1, HYPERV, {"hana": 2})
    a = queued_jobs(gerrit, tmp_path / "queue.db")
    b = queued_jobs(gerrit, tmp_path / "queue.db")
    a.submit(Job(CHANGE, "nova", 1))
    drain(a)
    assert _bot_vote(gerrit, 1) == 1

    gerrit.groups["Hyper-V Cores"] = []
    b.submit(Job(GROUP, "All-Users", group=uuid("Hyper-V Cores")))
    b.huey.execute(b.huey.dequeue())  # the group job, in process B
    drain(a)  # the change jobs it queued, in process A with its 300 s member cache

    assert _bot_vote(gerrit, 1) == 0
    assert "needs 1 more approval" in gerrit.reviews()[-1]["message"]


def test_a_group_change_gerrit_had_not_yet_applied_is_judged_again_once_settled(
    gerrit: GroupGerrit, tmp_path: Path
) -> None:
    """Gerrit sends the ref update before it evicts the group from its cache: the first
    fan-out can read the old members (hana still in), the second, CACHE_SETTLE_SECONDS later,
    reads the new ones.  A third is never scheduled."""
    gerrit.groups["Hyper-V Cores"] = [account("hana")]
    gerrit.changes[1] = change_info(1, HYPERV, {"hana": 2})
    jobs = queued_jobs(gerrit, tmp_path / "queue.db")
    jobs.submit(Job(GROUP, "All-Users", group=uuid("Hyper-V Cores")))
    drain(jobs, later=False)  # the removal is reported; Gerrit still answers the old members
    assert _bot_vote(gerrit, 1) == 1
    assert jobs.huey.scheduled_count() == 1

    gerrit.groups["Hyper-V Cores"] = []  # Gerrit's cache caught up
    drain(jobs)  # the second fan-out, and the change jobs it queued
    assert _bot_vote(gerrit, 1) == 0
    assert jobs.huey.scheduled_count() == 0


def test_a_burst_of_changes_to_one_group_is_one_job(gerrit: GroupGerrit, tmp_path: Path) -> None:
    jobs = queued_jobs(gerrit, tmp_path / "queue.db")
    client = create_app(jobs.settings, jobs=jobs).test_client()
    payload = json.loads(RECORDED.read_text())
    answers = [client.post(f"/gerrit/events/{TOKEN}", json=payload).get_json() for _ in range(3)]
    assert [a["status"] for a in answers] == ["queued", "coalesced", "coalesced"]
    assert answers[0]["job"] == f"group {RECORDED_UUID}"


def test_members_read_while_groups_were_forgotten_are_not_cached(gerrit: GroupGerrit) -> None:
    """A read that started before a group change was reported could hold the old members."""
    gerrit.groups["Hyper-V Cores"] = [account("hana")]
    connection = GerritConnection(settings(), rest=gerrit)
    members = gerrit._members

    def racing(*args: Any, **kw: Any) -> Any:
        connection.accounts.forget_groups()  # the report arrives while this answer travels
        return members(*args, **kw)

    gerrit._members = racing  # type: ignore[method-assign]
    assert connection.accounts.group_members("Hyper-V Cores") == ("hana", "hana@example.org")
    gerrit._members = members  # type: ignore[method-assign]
    gerrit.groups["Hyper-V Cores"] = []
    assert connection.accounts.group_members("Hyper-V Cores") == ()


def _bot_vote(gerrit: FakeGerrit, number: int) -> int:
    votes = gerrit.changes[number]["labels"]["Owner-Approval"]["all"]
    return next((v["value"] for v in votes if v["username"] == BOT), 0)


# -- setup -----------------------------------------------------------------------------------


def test_setup_makes_all_users_post_ref_updates_once(gerrit: GroupGerrit) -> None:
    gerrit.all_users = "Accounts"
    connection = fake_connection(settings(), gerrit)
    done = configure_group_events(settings(), "https://owners.example.org", gerrit=connection)
    assert done == [
        'set remote "owners" in webhooks.config of Accounts to '
        "https://owners.example.org/gerrit/events/<OWNERS_WEBHOOK_TOKEN> "
        "(ref-updated only: group and account changes)"
    ]
    written = gerrit.meta_files[("Accounts", WEBHOOKS_FILE)].decode()
    assert f"url = https://owners.example.org/gerrit/events/{TOKEN}" in written
    assert [line.strip() for line in written.splitlines() if "event =" in line] == [
        "event = ref-updated"
    ]
    again = configure_group_events(settings(), "https://owners.example.org", gerrit=connection)
    assert again == []
