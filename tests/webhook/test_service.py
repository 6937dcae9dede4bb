"""The service over the in-memory Gerrit: what it reads, what it posts, and how many calls."""

from __future__ import annotations

import pytest

from owners.engine import Verdict
from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import Actor, ChangeEvent, RefUpdated
from owners.gerrit.model import BOT_TAG, GerritError
from tests.webhook.conftest import BOT, HEAD, FakeGerrit, account, change_info, settings
from webhook.report import find_fingerprint
from webhook.service import OwnersService

HYPERV = {"nova/virt/hyperv/vmops.py": {}}
LIBVIRT = {"nova/virt/libvirt/driver.py": {}}


@pytest.fixture
def service(gerrit: FakeGerrit, nova_config: bytes) -> OwnersService:
    gerrit.set_branch("nova", "master", HEAD, nova_config)
    return OwnersService(settings(), GerritConnection(settings(), rest=gerrit))


def test_an_approved_change_gets_plus_one_and_one_comment(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    gerrit.add_change(change_info(1, HYPERV, {"bob": 2}, owner="uma"))
    result = service.process_change("nova", 1)
    assert result.verdict is Verdict.APPROVED
    assert (result.voted, result.commented, result.reviewers) == (1, True, ())
    (review,) = gerrit.reviews()
    assert review["labels"] == {"Owner-Approval": 1}
    assert review["tag"] == BOT_TAG
    assert review["notify"] == "OWNER"
    assert find_fingerprint(review["message"])
    # the change, the branch head, OWNERS.yaml at the head (then cached), the review
    assert result.calls == 4
    assert [m for m, _ in gerrit.log] == ["GET", "GET", "GET", "POST"]


def test_steady_state_costs_two_reads_and_posts_nothing(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    gerrit.add_change(change_info(1, HYPERV, {"bob": 2}, owner="uma"))
    service.process_change("nova", 1)
    again = service.process_change("nova", 1)  # a replayed or duplicate event
    assert again.calls == 2
    assert (again.voted, again.commented, again.reviewers) == (None, False, ())
    assert len(gerrit.reviews()) == 1


def test_a_vote_change_updates_the_label_and_the_comment(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    gerrit.add_change(change_info(1, HYPERV, {"bob": 2}, owner="uma"))
    service.process_change("nova", 1)
    votes = gerrit.changes[1]["labels"]["Code-Review"]["all"]
    votes.append(dict(account("victor"), value=-2))
    result = service.process_change("nova", 1)
    assert result.verdict is Verdict.BLOCKED
    assert result.voted == -1 and result.commented
    assert gerrit.changes[1]["labels"]["Owner-Approval"]["all"][0]["value"] == -1


def test_the_log_line_says_what_was_posted_hashtags_included(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    gerrit.add_change(change_info(1, LIBVIRT, owner="uma"))
    pending = service.process_change("nova", 1)
    assert str(pending) == (
        "nova~1: PENDING; comment, reviewers luke, lena, hashtags +owners-needs-libvirt"
        f" ({pending.calls} REST calls)"
    )
    votes = gerrit.changes[1]["labels"]["Code-Review"]["all"]
    votes += [dict(account("lena"), value=2), dict(account("luke"), value=2)]  # libvirt: 2
    approved = service.process_change("nova", 1)
    assert str(approved) == (
        f"nova~1: APPROVED; vote +1, comment, hashtags -owners-needs-libvirt ({approved.calls}"
        " REST calls)"
    )


def test_reviewers_are_added_once(service: OwnersService, gerrit: FakeGerrit) -> None:
    gerrit.add_change(change_info(1, LIBVIRT, owner="uma"))
    first = service.process_change("nova", 1)
    assert set(first.reviewers) == {"lena", "luke"}
    assert gerrit.reviews()[0]["notify"] == "OWNER_REVIEWERS"
    second = service.process_change("nova", 1)
    assert second.reviewers == () and not second.commented and second.voted is None


def test_an_unknown_reviewer_does_not_lose_the_vote(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    gerrit.fail_reviewers = True
    gerrit.add_change(change_info(1, LIBVIRT, owner="uma"))
    service.process_change("nova", 1)
    posted = gerrit.reviews()
    assert len(posted) == 2 and "reviewers" not in posted[1]
    assert gerrit.changes[1]["messages"]  # the comment made it


def test_closed_changes_cost_one_call_and_get_nothing(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    gerrit.add_change(change_info(1, HYPERV, {"bob": 2}, status="MERGED"))
    result = service.process_change("nova", 1)
    assert result.verdict is None and result.calls == 1
    assert gerrit.reviews() == []


def test_a_change_to_owners_yaml_is_validated_at_its_revision(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    info = change_info(1, {"OWNERS.yaml": {}}, {"carol": 2, "dave": 2}, owner="uma")
    gerrit.add_change(info, proposed=b"version: 1\nroot:\n  owners: carol\n")
    result = service.process_change("nova", 1)
    assert result.verdict is Verdict.BLOCKED and result.voted == -1
    message = gerrit.reviews()[0]["message"]
    assert "OWNERS.yaml:3:11: root owners must be a list" in message
    path = f"changes/nova~1/revisions/{info['current_revision']}/files/OWNERS.yaml/content"
    assert ("GET", path) in gerrit.log


PROPOSAL = (
    b"version: 1\ngroups:\n  hyperv-core: [alice, bob]\nroot:\n  owners: [carol, dave]\n"
    b"subsystems:\n  - name: hyperv\n    paths: [nova/virt/hyperv/]\n"
    b"    owners: [hyperv-core, %s]\n"
)


@pytest.mark.parametrize(
    ("owner", "verdict", "problem"),
    [
        (
            "hyperv-team",
            Verdict.BLOCKED,
            "OWNERS.yaml:9:27: 'hyperv-team' is neither an alias nor a Gerrit username",
        ),
        (
            "Alice@example.org",
            Verdict.BLOCKED,
            "OWNERS.yaml:9:27: no Gerrit account has the "
            "email 'Alice@example.org' (hint: identities are exact, case included; Gerrit has "
            "alice@example.org (alice))",
        ),
        ("erin", Verdict.APPROVED, None),
    ],
    ids=["an unknown name", "a case variant of an email", "names that exist"],
)
def test_a_proposed_owners_yaml_naming_nobody_is_blocked_and_the_name_listed(
    service: OwnersService, gerrit: FakeGerrit, owner: str, verdict: Verdict, problem: str | None
) -> None:
    for name in ("alice", "bob", "carol", "dave", "erin"):
        gerrit.accounts[name] = account(name)
    info = change_info(1, {"OWNERS.yaml": {}}, {"carol": 2, "dave": 2}, owner="uma")
    gerrit.add_change(info, proposed=PROPOSAL % owner.encode())
    result = service.process_change("nova", 1)
    assert result.verdict is verdict
    message = gerrit.reviews()[0]["message"]
    if problem:
        assert "The OWNERS.yaml proposed by this change:" in message
        assert problem in message
    else:
        assert "proposed by this change" not in message


def test_merges_are_judged_on_everything_they_bring_in(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    info = change_info(1, {}, {"bob": 2}, owner="uma")
    info["revisions"][info["current_revision"]]["commit"]["parents"].append({"commit": "e" * 40})
    gerrit.add_change(info)
    gerrit.parent_files[1] = {"/COMMIT_MSG": {}, "/MERGE_LIST": {}, **HYPERV, **LIBVIRT}
    result = service.process_change("nova", 1)
    assert result.verdict is Verdict.PENDING  # libvirt came in with the merge
    # the change, its files against each parent, the branch head, its OWNERS.yaml, where the
    # second parent is, the review, the hashtags; to rank the two owners it suggests (luke and
    # lena, owners.gerrit.people): the recent changes in its directories, and each one's
    # status and open reviews
    assert result.calls == 8 + 1 + 2 * 2


def test_a_merge_is_judged_against_every_parent_not_only_the_first(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    # A stale first parent makes the merge look like a Hyper-V change, while against the
    # second (the tip, which carries a core fix) it reverts nova/compute/manager.py.
    info = change_info(1, {}, {"bob": 2}, owner="uma")
    parents = info["revisions"][info["current_revision"]]["commit"]["parents"]
    parents[:] = [{"commit": "c1" * 20}, {"commit": HEAD}]
    gerrit.add_change(info)
    gerrit.parent_files[(1, 1)] = {"/MERGE_LIST": {}, **HYPERV}
    gerrit.parent_files[(1, 2)] = {"/MERGE_LIST": {}, **HYPERV, "nova/compute/manager.py": {}}
    result = service.process_change("nova", 1)
    assert result.verdict is Verdict.PENDING
    assert "root: needs" in gerrit.reviews()[0]["message"]


def _with_parent(info: dict, commit: str) -> dict:
    info["revisions"][info["current_revision"]]["commit"]["parents"] = [{"commit": commit}]
    return info


def test_a_change_based_on_a_commit_of_no_branch_is_blocked_until_rebased(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    stable_tip = "5" * 40
    gerrit.foreign_commits.add(stable_tip)
    gerrit.add_change(_with_parent(change_info(1, HYPERV, {"bob": 2}, owner="uma"), stable_tip))
    result = service.process_change("nova", 1)
    assert result.verdict is Verdict.BLOCKED and result.voted == -1
    message = gerrit.reviews()[0]["message"]
    assert message.startswith("Owners: BLOCKED: it is not based on master.")
    assert f"Parent {stable_tip[:12]} is neither on master nor an open change for it" in message
    assert "Rebase the change onto master" in message


def test_a_parent_that_is_another_open_changes_current_patch_set_is_not_foreign(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    below = change_info(1, HYPERV, {}, owner="uma")
    gerrit.foreign_commits.add(below["current_revision"])  # not merged yet
    gerrit.add_change(below)
    gerrit.add_change(_with_parent(change_info(2, HYPERV, {"bob": 2}), below["current_revision"]))
    assert service.process_change("nova", 2).verdict is Verdict.APPROVED


def test_a_merge_with_one_parent_on_the_branch_is_judged_on_all_it_brings_in(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    info = change_info(1, {}, {"bob": 2}, owner="uma")
    stable_tip = "5" * 40
    gerrit.foreign_commits.add(stable_tip)
    parents = info["revisions"][info["current_revision"]]["commit"]["parents"]
    parents.append({"commit": stable_tip})
    gerrit.add_change(info)
    gerrit.parent_files[(1, 1)] = {**HYPERV, **LIBVIRT}  # what stable brings in
    gerrit.parent_files[(1, 2)] = {}
    result = service.process_change("nova", 1)
    assert result.verdict is Verdict.PENDING  # libvirt's owners have not approved
    assert "this merge is judged on every file" in gerrit.reviews()[0]["message"]


def test_whoever_uploaded_an_earlier_patch_set_does_not_approve(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    # bob uploaded patch set 1 with his code; zed re-uploaded the same tree as patch set 2.
    info = change_info(1, HYPERV, {"bob": 2}, owner="zed")
    info["revisions"]["1" * 40] = {"_number": 1, "uploader": account("bob")}
    gerrit.add_change(info)
    assert service.process_change("nova", 1).verdict is Verdict.PENDING


def test_the_commit_author_does_not_approve_even_by_a_secondary_email(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    info = change_info(1, HYPERV, {"bob": 2}, owner="zed")
    commit = info["revisions"][info["current_revision"]]["commit"]
    commit["author"] = {"name": "Bob", "email": "bob.private@example.net"}
    gerrit.accounts["bob"] = {**account("bob"), "secondary_emails": ["bob.private@example.net"]}
    gerrit.add_change(info)
    assert service.process_change("nova", 1).verdict is Verdict.PENDING
    assert ("GET", "accounts/") in gerrit.log


IMPLICIT = b"""version: 1
policy:
  implicit_approval: true
root:
  owners: [carol]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [alice]
"""


@pytest.mark.parametrize(
    ("secondary", "verdict"),
    [(["alice.home@example.net"], Verdict.APPROVED), ([], Verdict.PENDING)],
    ids=["held by the owner as a secondary email", "held by nobody"],
)
def test_a_commit_by_the_owners_secondary_email_keeps_the_implicit_approval(
    gerrit: FakeGerrit, secondary: list[str], verdict: Verdict
) -> None:
    gerrit.set_branch("nova", "master", HEAD, IMPLICIT)
    service = OwnersService(settings(), GerritConnection(settings(), rest=gerrit))
    info = change_info(1, HYPERV, owner="alice")
    commit = info["revisions"][info["current_revision"]]["commit"]
    commit["author"] = commit["committer"] = {"name": "A", "email": "alice.home@example.net"}
    gerrit.accounts["alice"] = {**account("alice"), "secondary_emails": secondary}
    gerrit.add_change(info)
    assert service.process_change("nova", 1).verdict is verdict


def test_an_author_email_an_uploader_holds_needs_no_lookup(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    info = change_info(1, HYPERV, {"bob": 2}, owner="zed")
    commit = info["revisions"][info["current_revision"]]["commit"]
    commit["author"] = commit["committer"] = {"name": "Zed", "email": "zed@example.org"}
    gerrit.add_change(info)
    assert service.process_change("nova", 1).verdict is Verdict.APPROVED
    assert ("GET", "accounts/") not in gerrit.log


def test_the_group_cache_saves_calls(gerrit: FakeGerrit) -> None:
    gerrit.set_branch("nova", "master", HEAD, None)
    gerrit.groups["Admins"] = [account("root-admin")]
    config = settings(fallback_owners=("gerrit:Admins",))
    now = [0.0]
    connection = GerritConnection(config, rest=gerrit, clock=lambda: now[0], group_ttl=60)
    service = OwnersService(config, connection)
    gerrit.add_change(change_info(1, HYPERV, {"root-admin": 2}, owner="uma"))
    assert service.process_change("nova", 1).verdict is Verdict.APPROVED
    members = [p for _, p in gerrit.log if p.startswith("groups/")]
    service.process_change("nova", 1)
    assert [p for _, p in gerrit.log if p.startswith("groups/")] == members
    now[0] = 61
    service.process_change("nova", 1)
    assert len([p for _, p in gerrit.log if p.startswith("groups/")]) == 2 * len(members)


# -- events -----------------------------------------------------------------------------------


def event(number: int, actor: str = "alice", project: str = "nova") -> ChangeEvent:
    return ChangeEvent("comment-added", project, "master", number, "I1", Actor(actor))


def test_events_by_the_bot_and_unwatched_projects_are_ignored(gerrit: FakeGerrit) -> None:
    service = OwnersService(
        settings(projects=frozenset({"nova"})), GerritConnection(settings(), rest=gerrit)
    )
    assert service.ignores(event(1, actor=BOT)) == "the event was caused by the bot itself"
    assert service.ignores(event(1, project="glance")) == "project glance is not watched"
    assert service.ignores(event(1)) is None


def test_owners_yaml_changing_on_a_branch_re_evaluates_its_open_changes(
    service: OwnersService, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    gerrit.add_change(change_info(1, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.add_change(change_info(2, LIBVIRT, {"lena": 2, "luke": 2}, owner="uma"))
    gerrit.add_change(change_info(3, HYPERV, {"bob": 2}, owner="uma", branch="stable"))
    gerrit.add_change(change_info(4, HYPERV, {"bob": 2}, owner="uma", status="ABANDONED"))
    stricter = nova_config.replace(
        b"owners: [hyperv-core]", b"owners: [hyperv-core]\n    noparent: true\n    approvals: 2"
    )
    gerrit.set_branch("nova", "master", "b" * 40, stricter)
    results = service.handle(
        RefUpdated("nova", "refs/heads/master", HEAD, "b" * 40, Actor("carol"))
    )
    assert [(r.number, r.verdict) for r in results] == [(1, Verdict.PENDING), (2, Verdict.APPROVED)]


def test_a_branch_update_that_keeps_owners_yaml_re_evaluates_nothing(
    service: OwnersService, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    gerrit.add_change(change_info(1, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.set_branch("nova", "master", "b" * 40, nova_config)
    assert service.handle(RefUpdated("nova", "refs/heads/master", HEAD, "b" * 40, Actor())) == []
    assert gerrit.reviews() == []


def test_meta_config_updates_re_evaluate_the_whole_project(
    service: OwnersService, gerrit: FakeGerrit
) -> None:
    gerrit.add_change(change_info(1, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.add_change(change_info(2, HYPERV, {"bob": 2}, owner="uma", branch="stable"))
    gerrit.set_branch("nova", "stable", "c" * 40, None)
    results = service.handle(RefUpdated("nova", "refs/meta/config", HEAD, "b" * 40, Actor()))
    assert [r.number for r in results] == [1, 2]


def test_other_refs_and_deletions_are_ignored(service: OwnersService) -> None:
    assert service.handle(RefUpdated("nova", "refs/changes/01/1/1", HEAD, "b" * 40, Actor())) == []
    assert service.handle(RefUpdated("nova", "refs/heads/x", HEAD, "0" * 40, Actor())) == []


def test_gerrit_failures_surface_as_gerrit_errors(service: OwnersService) -> None:
    with pytest.raises(GerritError, match=r"GET changes/nova~99: HTTP 404"):
        service.process_change("nova", 99)
