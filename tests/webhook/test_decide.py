"""Deciding, table-driven over the Nova-shaped ownership map (tests/fixtures/nova-OWNERS.yaml):
nova-core (carol, dave, erin; 2 approvals) owns everything; virt (lena, victor); hyperv
(alice, bob@example.org) under virt; vmware (victor, wendy) with noparent; libvirt (lena, luke;
2 approvals); xenapi (xavier, yuri) advisory."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from owners.engine import Account, Verdict, Vote
from owners.engine.landing import PathChange, Side
from owners.gerrit.model import BOT_TAG, ChangeSnapshot, Message
from owners.gerrit.settings import Settings
from owners.gerrit.verdict import assess, check_outcome
from tests.webhook.conftest import BOT, account, change_info, settings
from webhook.bot import Report, plan
from webhook.report import render

HYPERV = {"nova/virt/hyperv/vmops.py": {}}
VMWARE = {"nova/virt/vmwareapi/vm_util.py": {}}
LIBVIRT = {"nova/virt/libvirt/driver.py": {}}
XENAPI = {"nova/virt/xenapi/vm_utils.py": {}}
CONFIG = {"OWNERS.yaml": {}}


def person(username: str) -> Account:
    info = account(username)
    return Account(info["username"], info["email"], info["_account_id"])


def snap(files: dict[str, Any], votes: dict[str, int] | None = None, **kw: Any) -> ChangeSnapshot:
    return ChangeSnapshot.from_change_info(change_info(7, files, votes, **kw))


def assess_and_plan(
    snapshot: ChangeSnapshot, config: bytes, settings: Settings, *lookup: Any
) -> Report:
    """What the service posts on an open change: `assess`, then `plan` (a closed change is
    the service's to skip, tests/webhook/test_service.py)."""
    return plan(snapshot, assess(snapshot, config, settings, *lookup), settings)


@pytest.mark.parametrize(
    ("files", "votes", "owner", "verdict"),
    [
        pytest.param(HYPERV, {"bob": 2}, "uma", Verdict.APPROVED, id="subsystem-owner-approves"),
        pytest.param(HYPERV, {"lena": 2}, "uma", Verdict.APPROVED, id="parent-owner-approves"),
        pytest.param(HYPERV, {}, "uma", Verdict.PENDING, id="nobody-voted"),
        pytest.param(HYPERV, {"bob": 1}, "uma", Verdict.PENDING, id="plus-one-is-not-approval"),
        pytest.param(HYPERV, {"xavier": 2}, "uma", Verdict.PENDING, id="non-owner-plus-two"),
        pytest.param(HYPERV, {"alice": 2}, "alice", Verdict.PENDING, id="no-self-approval"),
        pytest.param(HYPERV, {"bob": 2, "victor": -2}, "uma", Verdict.BLOCKED, id="parent-veto"),
        pytest.param(VMWARE, {"lena": 2}, "uma", Verdict.PENDING, id="noparent-stops-virt"),
        pytest.param(VMWARE, {"wendy": 2, "carol": -2}, "uma", Verdict.BLOCKED, id="root-veto"),
        pytest.param(LIBVIRT, {"lena": 2}, "uma", Verdict.PENDING, id="two-approvals-needed"),
        pytest.param(LIBVIRT, {"lena": 2, "luke": 2}, "uma", Verdict.APPROVED, id="two-given"),
        pytest.param(XENAPI, {"xavier": 2}, "uma", Verdict.PENDING, id="advisory-needs-virt"),
        pytest.param(XENAPI, {"victor": 2}, "uma", Verdict.APPROVED, id="virt-stands-in"),
        pytest.param({**HYPERV, **VMWARE}, {"bob": 2}, "uma", Verdict.PENDING, id="two-subsystems"),
    ],
)
def test_verdicts_and_votes(
    nova_config: bytes, files: dict, votes: dict, owner: str, verdict: Verdict
) -> None:
    report = assess_and_plan(snap(files, votes, owner=owner), nova_config, settings())
    assert report is not None
    assert report.outcome.verdict is verdict
    expected = {Verdict.APPROVED: 1, Verdict.PENDING: 0, Verdict.BLOCKED: -1}[verdict]
    assert report.outcome.vote == expected
    assert report.vote == (expected or None)  # the bot has no vote yet, which is a 0
    assert report.message


def test_renames_need_the_owners_of_both_sides(nova_config: bytes) -> None:
    moved = {
        "nova/virt/hyperv/volumeops.py": {"status": "R", "old_path": "nova/virt/vmwareapi/x.py"}
    }
    outcome = assess(snap(moved, {"bob": 2}, owner="uma"), nova_config, settings())
    assert outcome.verdict is Verdict.PENDING
    assert [r.subsystem for r in outcome.evaluation.requirements] == ["hyperv", "vmware"]


# -- OWNERS.yaml itself ---------------------------------------------------------------------


def test_an_invalid_proposed_owners_file_blocks_with_located_errors(nova_config: bytes) -> None:
    proposed = b"version: 1\nroot:\n  owners: [carol]\nsubsystems:\n  - name: x\n    owners: [a]\n"
    outcome = assess(snap(CONFIG, {"carol": 2, "dave": 2}), nova_config, settings(), None, proposed)
    assert outcome.verdict is Verdict.BLOCKED
    assert outcome.vote == -1
    assert outcome.proposal_invalid
    assert any(
        p.startswith("OWNERS.yaml:5:5: subsystem 'x' has no 'paths'")
        for p in outcome.proposal_problems
    )
    assert check_outcome(outcome).verdict is Verdict.BLOCKED  # `owners check` agrees with the bot


def test_a_valid_proposed_owners_file_needs_the_root_owners(nova_config: bytes) -> None:
    change = snap(CONFIG, {"carol": 2}, owner="uma")
    pending = assess(change, nova_config, settings(), None, nova_config)
    assert pending.verdict is Verdict.PENDING and not pending.proposal_invalid
    assert [r.subsystem for r in pending.evaluation.requirements] == ["root"]
    approved = assess(
        snap(CONFIG, {"carol": 2, "dave": 2}), nova_config, settings(), None, nova_config
    )
    assert approved.verdict is Verdict.APPROVED


def test_an_unreadable_proposal_blocks(nova_config: bytes) -> None:
    outcome = assess(snap(CONFIG, {"carol": 2, "dave": 2}), nova_config, settings(), None, None)
    assert outcome.verdict is Verdict.BLOCKED
    assert outcome.proposal_problems == ("OWNERS.yaml: could not be read",)


def test_deleting_owners_yaml_is_noted(nova_config: bytes) -> None:
    outcome = assess(snap({"OWNERS.yaml": {"status": "D"}}), nova_config, settings())
    assert any("removes OWNERS.yaml" in note for note in outcome.notes)


# -- no usable OWNERS.yaml on the branch: the fallback owners decide -------------------------


def test_missing_config_falls_back_to_the_fallback_owners() -> None:
    pending = assess(snap(HYPERV, {"bob": 2}), None, settings(fallback_owners=("root-admin",)))
    assert pending.verdict is Verdict.PENDING
    assert pending.fallback == "there is no OWNERS.yaml on branch master"
    assert pending.fallback_owners == ("root-admin",)
    approved = assess(snap(HYPERV, {"root-admin": 2}), None, settings())
    assert approved.verdict is Verdict.APPROVED


def test_missing_config_without_fallback_owners_never_approves() -> None:
    outcome = assess(snap(HYPERV, {"bob": 2, "carol": 2}), None, settings(fallback_owners=()))
    assert outcome.verdict is Verdict.BLOCKED
    assert outcome.evaluation.requirements == ()
    assert outcome.fallback_owners == ()


def test_an_invalid_branch_config_falls_back_and_says_why() -> None:
    broken = b"version: 1\nroot:\n  owners: carol\n"
    outcome = assess(snap(HYPERV, {"root-admin": 2}), broken, settings())
    assert outcome.verdict is Verdict.APPROVED
    assert outcome.fallback == "the OWNERS.yaml on branch master is invalid"
    assert outcome.config_problems == (
        "OWNERS.yaml:3:11: root owners must be a list (hint: write root owners: [a, b])",
    )


def test_fallback_groups_resolve_through_the_lookup() -> None:
    lookup = {"Admins": ["root-admin", "zed@example.org"]}.get
    config = settings(fallback_owners=("gerrit:Admins",))
    outcome = assess(snap(HYPERV, {"zed": 2}), None, config, lookup)
    assert outcome.verdict is Verdict.APPROVED
    assert outcome.unresolved_groups == ()


def test_invisible_groups_are_reported(nova_config: bytes) -> None:
    config = settings(fallback_owners=("gerrit:Hidden",))
    outcome = assess(snap(HYPERV, {"zed": 2}), None, config, lambda group: None)
    assert outcome.verdict is Verdict.PENDING
    assert outcome.unresolved_groups == ("gerrit:Hidden",)


def test_a_policy_label_that_does_not_apply_is_noted(nova_config: bytes) -> None:
    outcome = assess(snap(HYPERV, {"bob": 2}, policy_label="Review"), nova_config, settings())
    assert outcome.verdict is Verdict.PENDING
    assert "The label Code-Review does not apply to this change." in outcome.notes


# -- planning: only what differs from what the bot already said -----------------------------


def said(
    change: ChangeSnapshot, vote: int, text: str, hashtags: Iterable[str] = ()
) -> ChangeSnapshot:
    """The change as it is after the bot voted `vote`, posted `text` and added `hashtags`."""
    info_votes = dict(change.labels)
    bot = account(BOT)
    bot_account = Account(bot["username"], bot["email"], bot["_account_id"])
    info_votes["Owner-Approval"] = (Vote(bot_account, vote),) if vote else ()
    message = Message(bot_account, BOT_TAG, f"Patch Set 1: Owner-Approval{vote:+d}\n\n{text}")
    return dataclasses.replace(
        change,
        labels=info_votes,
        messages=(*change.messages, message),
        hashtags=change.hashtags | frozenset(hashtags),
    )


def test_replaying_changes_nothing(nova_config: bytes) -> None:
    change = snap(HYPERV, {"bob": 2}, owner="uma")
    first = assess_and_plan(change, nova_config, settings())
    assert first is not None and first.vote == 1 and first.message
    again = assess_and_plan(said(change, 1, first.message), nova_config, settings())
    assert again is not None and again.empty


def test_the_vote_is_posted_alone_when_the_reasons_did_not_change(nova_config: bytes) -> None:
    change = snap(HYPERV, {"bob": 2}, owner="uma")
    first = assess_and_plan(change, nova_config, settings())
    assert first is not None and first.message
    reset = said(change, 0, first.message)  # a new patch set dropped the bot's vote
    report = assess_and_plan(reset, nova_config, settings())
    assert report is not None
    assert (report.vote, report.message) == (1, None)


def test_a_comment_is_posted_when_the_reasons_change(nova_config: bytes) -> None:
    change = snap(LIBVIRT, {"lena": 2}, owner="uma")
    first = assess_and_plan(change, nova_config, settings())
    assert first is not None and first.vote is None and first.message  # pending: 0 already
    later = said(
        snap(LIBVIRT, {"lena": 2, "luke": 1}, owner="uma"), 0, first.message, first.add_hashtags
    )
    assert assess_and_plan(later, nova_config, settings()).empty  # a +1 is no reason
    approved = said(snap(LIBVIRT, {"lena": 2, "luke": 2}, owner="uma"), 0, first.message)
    report = assess_and_plan(approved, nova_config, settings())
    assert report is not None and report.vote == 1 and report.message


@pytest.mark.parametrize(
    ("files", "votes", "tagged", "added", "removed"),
    [
        pytest.param(LIBVIRT, {}, (), ("libvirt",), (), id="each-unmet-requirement"),
        pytest.param({**HYPERV, **VMWARE}, {}, (), ("hyperv", "vmware"), (), id="crossing"),
        pytest.param(LIBVIRT, {"lena": 2, "luke": 2}, ("libvirt",), (), ("libvirt",), id="met"),
        pytest.param(LIBVIRT, {"lena": 2}, ("libvirt",), (), (), id="still-unmet"),
        pytest.param(HYPERV, {}, ("libvirt",), ("hyperv",), ("libvirt",), id="set-right"),
        pytest.param(XENAPI, {}, (), ("virt",), (), id="advisory-is-never-waited-for"),
    ],
)
def test_the_bot_tags_a_change_with_the_subsystems_it_waits_for(
    nova_config: bytes,
    files: dict,
    votes: dict,
    tagged: tuple[str, ...],
    added: tuple[str, ...],
    removed: tuple[str, ...],
) -> None:
    """What the dashboards' "Needs S" lists: `owners-needs-S` for each requirement the bot
    says is unmet, none once it approves; others' hashtags are left alone."""
    change = snap(files, votes, owner="uma")
    hashtags = {"owners-needs-" + name for name in tagged} | {"release-blocker"}
    report = assess_and_plan(
        dataclasses.replace(change, hashtags=frozenset(hashtags)), nova_config, settings()
    )
    assert report.add_hashtags == tuple("owners-needs-" + name for name in added)
    assert report.remove_hashtags == tuple("owners-needs-" + name for name in removed)


def test_fingerprints_by_others_are_not_the_bot_s(nova_config: bytes) -> None:
    change = snap(HYPERV, {"bob": 2}, owner="uma")
    first = assess_and_plan(change, nova_config, settings())
    assert first is not None and first.message
    forged = Message(Account("mallory"), BOT_TAG, first.message)
    forging = dataclasses.replace(change, messages=(forged,))
    report = assess_and_plan(forging, nova_config, settings())
    assert report is not None and report.message == first.message


def test_no_vote_when_the_bot_label_does_not_apply(nova_config: bytes) -> None:
    report = assess_and_plan(snap(HYPERV, {"bob": 2}, bot_label=None), nova_config, settings())
    assert report is not None and report.vote is None and report.message


# -- reviewers ------------------------------------------------------------------------------


def test_suggested_owners_are_added_as_reviewers(nova_config: bytes) -> None:
    report = assess_and_plan(snap(LIBVIRT, owner="uma"), nova_config, settings())
    assert report is not None
    assert set(report.reviewers) == {"lena", "luke"}


def test_reviewers_already_on_the_change_or_removed_are_not_added(nova_config: bytes) -> None:
    change = snap(LIBVIRT, owner="uma")
    for present in (("lena", "luke"), ("lena", "victor")):
        on_change = dataclasses.replace(change, reviewers=tuple(map(person, present)))
        report = assess_and_plan(on_change, nova_config, settings())
        assert report is not None and report.reviewers == ()


def test_a_vote_short_of_approval_does_not_pull_in_more_owners(nova_config: bytes) -> None:
    change = snap(LIBVIRT, {"lena": 2, "luke": 1}, owner="uma")  # both are reviewers now
    report = assess_and_plan(change, nova_config, settings())
    assert report is not None and report.outcome.unstaffed == () and report.reviewers == ()


def test_owners_are_added_when_too_few_reviewers_may_approve(nova_config: bytes) -> None:
    change = dataclasses.replace(snap(LIBVIRT, {"lena": 2}, owner="uma"), reviewers=())
    report = assess_and_plan(change, nova_config, settings())
    assert report is not None and report.outcome.unstaffed == ("libvirt",)
    assert report.reviewers and "lena" not in report.reviewers


def test_a_deactivated_reviewer_cannot_staff_a_requirement(nova_config: bytes) -> None:
    """Staffing asks the rule of which votes count (`counts`): a reviewer whose approval would
    not count is no reviewer who may still approve, so the owners are asked."""
    gone = dataclasses.replace(person("luke"), active=False)
    change = dataclasses.replace(
        snap(LIBVIRT, {"lena": 2}, owner="uma"), reviewers=(person("lena"), gone)
    )
    report = assess_and_plan(change, nova_config, settings())
    assert report is not None and report.outcome.unstaffed == ("libvirt",)


@pytest.mark.parametrize(
    ("change_fields", "setting_fields"),
    [
        ({"work_in_progress": True}, {}),
        ({"private": True}, {}),
        ({}, {"add_reviewers": False}),
        ({}, {"max_reviewers": 0}),
    ],
)
def test_no_reviewers_for_changes_not_ready_or_when_disabled(
    nova_config: bytes, change_fields: dict, setting_fields: dict
) -> None:
    change = dataclasses.replace(snap(LIBVIRT, owner="uma"), **change_fields)
    report = assess_and_plan(change, nova_config, settings(**setting_fields))
    assert report is not None and report.reviewers == ()


def test_plan_renders_the_outcome(nova_config: bytes) -> None:
    change = snap(HYPERV, {"bob": 2}, owner="uma")
    outcome = assess(change, nova_config, settings())
    assert plan(change, outcome, settings()).message == render(outcome)


# -- the opt-in features at the service's edge ----------------------------------------------


def _with_policy(config: bytes, line: str) -> bytes:
    return config.replace(b"policy:\n", b"policy:\n" + line.encode() + b"\n", 1)


def test_an_override_vote_is_reported_with_what_it_bypassed(nova_config: bytes) -> None:
    info = change_info(7, HYPERV)
    info["labels"]["Owners-Override"] = {"all": [dict(account("hana"), value=1)]}
    managers = {"Release Managers": ("hana",)}
    report = assess_and_plan(
        ChangeSnapshot.from_change_info(info),
        nova_config,
        settings(override_group="Release Managers"),
        managers.get,
    )
    assert report is not None
    assert report.outcome.verdict is Verdict.PENDING  # the bot's vote does not change
    assert report.outcome.overridden_by == ("hana",)
    assert "Overridden with Owners-Override+1 by hana; requirements unmet: hyperv." in (
        report.message or ""
    )


def test_the_fingerprint_of_a_change_without_features_is_unchanged(nova_config: bytes) -> None:
    from webhook.report import fingerprint

    outcome = assess(snap(HYPERV, {"bob": 2}, owner="uma"), nova_config, settings())
    plain = dataclasses.replace(outcome, overridden_by=(), override_label="")
    assert fingerprint(outcome) == fingerprint(plain)


def _merge(files_vs_automerge: dict[str, Any], union: list[str]) -> ChangeSnapshot:
    from owners.engine import ChangedFile

    info = change_info(7, files_vs_automerge)
    revision = info["current_revision"]
    info["revisions"][revision]["commit"]["parents"] = [{"commit": "a" * 40}, {"commit": "b" * 40}]
    snapshot = ChangeSnapshot.from_change_info(info)
    return dataclasses.replace(snapshot, files=tuple(ChangedFile(p) for p in union))


def test_conflict_resolution_counts_only_the_auto_merge_files(nova_config: bytes) -> None:
    config = _with_policy(nova_config, "  merge_commits: conflict-resolution")
    merge = _merge(HYPERV, ["nova/virt/hyperv/vmops.py", "nova/compute/api.py"])
    outcome = assess(merge, config, settings())
    assert [r.subsystem for r in outcome.evaluation.requirements] == ["hyperv"]
    by_default = assess(merge, nova_config, settings())
    assert "root" in [r.subsystem for r in by_default.evaluation.requirements]


def test_conflict_resolution_never_applies_with_a_foreign_parent(nova_config: bytes) -> None:
    config = _with_policy(nova_config, "  merge_commits: conflict-resolution")
    merge = _merge(HYPERV, ["nova/virt/hyperv/vmops.py", "nova/compute/api.py"])
    outcome = assess(merge, config, settings(), foreign_parents=("b" * 40,))
    assert "root" in [r.subsystem for r in outcome.evaluation.requirements]


def test_earlier_votes_come_from_the_patch_set_messages() -> None:
    from owners.gerrit.model import earlier_votes

    alice, bob = person("alice"), person("bob")
    messages = [
        Message(alice, None, "Patch Set 1: Code-Review+2", 1),
        Message(bob, None, "Patch Set 1: Code-Review+1\n\nlooks fine", 1),
        Message(bob, None, "Patch Set 1: -Code-Review", 1),
        Message(alice, None, "Patch Set 3: Code-Review+2", 3),
    ]
    found = earlier_votes(messages, "Code-Review", current=3)
    assert found == {1: [Vote(alice, 2)]}


class _RevertChanges:
    """Just what `OwnersService._pure_revert` asks the connection's changes role, with a log
    of the asking; it needs no other role."""

    LANDED: ClassVar = {"nova/virt/hyperv/vmops.py": PathChange(None, Side(0o100644, "added"))}

    def __init__(self, original: dict[str, Any] | None, pure: bool):
        self.original, self.pure, self.asked = original, pure, []

    def change_summary(self, number: int) -> dict[str, Any] | None:
        self.asked.append(("summary", number))
        return self.original

    def is_pure_revert(self, snapshot: ChangeSnapshot) -> bool:
        self.asked.append(("pure", snapshot.number))
        return self.pure

    def landing(self, project: str, number: int, revision: str) -> Any:
        self.asked.append(("landing", number, revision))
        return self.LANDED


MERGED = {"status": "MERGED", "project": "nova", "branch": "master", "current_revision": "c" * 40}


@pytest.mark.parametrize(
    ("policy", "original", "pure", "expected"),
    [
        pytest.param("exempt", MERGED, True, 5, id="pure-revert-of-a-merged-change"),
        pytest.param("review", MERGED, True, 0, id="off-by-default"),
        pytest.param("exempt", MERGED, False, 0, id="not-pure"),
        pytest.param("exempt", {**MERGED, "status": "NEW"}, True, 0, id="original-not-merged"),
        pytest.param("exempt", {**MERGED, "branch": "stable"}, True, 0, id="another-branch"),
        pytest.param("exempt", {**MERGED, "project": "x"}, True, 0, id="another-project"),
        pytest.param("exempt", None, True, 0, id="original-not-visible"),
    ],
)
def test_only_gerrits_pure_revert_of_a_change_merged_here_is_compared(
    nova_config: bytes, policy: str, original: Any, pure: bool, expected: int
) -> None:
    from owners.gerrit.model import BranchConfig
    from webhook.service import OwnersService

    config = _with_policy(nova_config, f"  pure_reverts: {policy}")
    gerrit = _RevertChanges(original, pure)
    service = OwnersService(settings(), gerrit=SimpleNamespace(changes=gerrit))  # type: ignore[arg-type]
    snapshot = snap(HYPERV, revert_of=5)
    policy_of = service._policy(BranchConfig("nova", "master", "h", config))
    landed = _RevertChanges.LANDED if expected else None
    assert service._pure_revert(snapshot, policy_of) == (expected, landed)
    if expected:
        assert ("landing", 5, "c" * 40) in gerrit.asked  # the merged revision's own diff
    if policy == "review":
        assert gerrit.asked == []


def test_a_merge_is_never_a_pure_revert(nova_config: bytes) -> None:
    from owners.gerrit.model import BranchConfig
    from webhook.service import OwnersService

    config = _with_policy(nova_config, "  pure_reverts: exempt")
    changes = _RevertChanges(MERGED, True)
    service = OwnersService(settings(), gerrit=SimpleNamespace(changes=changes))  # type: ignore[arg-type]
    merge = dataclasses.replace(snap(HYPERV, revert_of=5), parents=("a" * 40, "b" * 40))
    policy = service._policy(BranchConfig("nova", "master", "h", config))
    assert service._pure_revert(merge, policy) == (0, None)


def test_a_branch_outside_owners_branches_gets_no_vote() -> None:
    scoped = settings(branches=("master", "stable/*"))
    assert scoped.in_scope("master") and scoped.in_scope("stable/2025.1")
    assert not scoped.in_scope("feature/x") and not scoped.in_scope("mastery")
    assert settings().in_scope("anything")
