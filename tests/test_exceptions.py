"""The opt-in exceptions of `policy` (docs/format.md, "Exceptions"): implicit approval,
exempted accounts, pure reverts, sticky approvals and merge commits, in the engine and in
validation.  Each test of a weakened check also tries the attack the exception must not open.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from owners.engine import Account, Change, Ownership, Verdict, Vote, evaluate, load_config
from owners.engine.change import StickyVote
from owners.engine.config import parse_config
from owners.engine.landing import PathChange, Side, landing

ALICE = Account("alice", "alice@example.org", 1)
BOB = Account("bob", "bob@example.org", 2)
CAROL = Account("carol", "carol@example.org", 3)
DAVE = Account("dave", "dave@example.org", 4)
ZED = Account("zed", "zed@example.org", 9)
BOT = Account("release-bot", "rb@example.org", 20)
OTHER_BOT = Account("ci-bot", "ci@example.org", 21)


def ownership(policy: str) -> Ownership:
    text = f"""version: 1
policy:
{policy}
groups:
  core: [carol, dave, erin]
root:
  owners: [core]
  approvals: 2
subsystems:
  - name: hyperv
    paths: [hv/]
    owners: [alice, bob]
  - name: vmware
    paths: [vm/]
    owners: [victor, wendy]
    noparent: true
"""
    return Ownership(load_config(text))


def change(files, owner=ZED, votes=(), uploaders=None, writers=(), **kw) -> Change:
    return Change.of(
        files,
        votes,
        owner=owner,
        uploader=owner,
        writers=writers,
        uploaders=(owner,) if uploaders is None else uploaders,
        **kw,
    )


# -- implicit approval ----------------------------------------------------------------------

IMPLICIT = ownership("  implicit_approval: true")


def test_an_owner_who_wrote_every_patch_set_approves_implicitly() -> None:
    result = evaluate(IMPLICIT, change(["hv/a.py"], owner=ALICE, writers=(ALICE,)))
    assert result.verdict is Verdict.APPROVED
    assert result.requirements[0].approved_by == ("alice (implicit: change owner)",)


def test_implicit_approval_is_off_by_default() -> None:
    plain = ownership("  root_veto: true")
    assert evaluate(plain, change(["hv/a.py"], owner=ALICE)).verdict is Verdict.PENDING


def test_implicit_approval_counts_once_towards_two_approvals() -> None:
    result = evaluate(IMPLICIT, change(["core.py"], owner=CAROL))
    assert result.verdict is Verdict.PENDING
    assert result.requirements[0].missing == 1


def test_no_implicit_approval_when_someone_else_uploaded_a_patch_set() -> None:
    result = evaluate(IMPLICIT, change(["hv/a.py"], owner=ALICE, uploaders=(ALICE, ZED)))
    assert result.verdict is Verdict.PENDING


def test_no_implicit_approval_for_a_commit_authored_by_someone_else() -> None:
    author = Account(email="zed@example.org")
    result = evaluate(IMPLICIT, change(["hv/a.py"], owner=ALICE, writers=(author,)))
    assert result.verdict is Verdict.PENDING


def test_a_commit_email_held_by_the_eligible_owner_keeps_the_implicit_approval() -> None:
    by_email = Account(email="alice@example.org")
    result = evaluate(IMPLICIT, change(["hv/a.py"], owner=ALICE, writers=(by_email,)))
    assert result.verdict is Verdict.APPROVED


def test_a_deactivated_owner_approves_nothing_implicitly() -> None:
    gone = replace(ALICE, active=False)
    result = evaluate(IMPLICIT, change(["hv/x"], owner=gone))
    assert result.requirements[0].approved_by == ()
    assert result.verdict is Verdict.PENDING


def test_no_implicit_approval_outside_the_owners_paths() -> None:
    result = evaluate(IMPLICIT, change(["hv/a.py", "vm/b.py"], owner=ALICE))
    assert [r.met for r in result.requirements] == [True, False]
    assert result.verdict is Verdict.PENDING


def test_implicit_approval_does_not_lift_a_veto() -> None:
    veto = [Vote(CAROL, -2)]
    result = evaluate(IMPLICIT, change(["hv/a.py"], owner=ALICE, votes=veto))
    assert result.verdict is Verdict.BLOCKED


# -- exempted accounts ----------------------------------------------------------------------

EXEMPT = ownership("  exempt: [release-bot, 'gerrit:Bots']")


def bots(name: str) -> list[str] | None:
    return ["ci-bot"] if name == "Bots" else None


def test_a_change_uploaded_only_by_exempted_accounts_needs_no_approval() -> None:
    result = evaluate(EXEMPT, change(["core.py", "vm/x"], owner=BOT), bots)
    assert result.verdict is Verdict.APPROVED
    assert "exempted accounts (release-bot)" in result.waived
    assert all(r.waived and r.met for r in result.requirements)


def test_an_exempted_gerrit_group_member_is_exempt() -> None:
    result = evaluate(EXEMPT, change(["core.py"], owner=OTHER_BOT), bots)
    assert result.verdict is Verdict.APPROVED


def test_an_unresolvable_exempt_group_exempts_nobody() -> None:
    result = evaluate(EXEMPT, change(["core.py"], owner=OTHER_BOT), lambda _: None)
    assert result.verdict is Verdict.PENDING


def test_a_human_patch_set_on_a_bot_change_ends_the_exemption() -> None:
    result = evaluate(EXEMPT, change(["core.py"], owner=BOT, uploaders=(BOT, ZED)), bots)
    assert result.verdict is Verdict.PENDING and not result.waived


def test_a_human_uploading_on_a_bots_behalf_is_not_exempt() -> None:
    result = evaluate(EXEMPT, change(["core.py"], owner=ZED, uploaders=(BOT,)), bots)
    assert result.verdict is Verdict.PENDING


def test_a_veto_still_blocks_an_exempted_change() -> None:
    result = evaluate(EXEMPT, change(["core.py"], owner=BOT, votes=[Vote(CAROL, -2)]), bots)
    assert result.verdict is Verdict.BLOCKED


# -- what a patch set lands ------------------------------------------------------------------

FILE = 0o100644


def lands(**paths: tuple[str | None, str | None]) -> dict[str, PathChange]:
    """A landing from path=(content before, content after), None where the path is absent
    (a path's slashes are written as `__`, so that each is a keyword)."""
    return landing(
        (
            path.replace("__", "/"),
            PathChange(
                Side(FILE, before) if before is not None else None,
                Side(FILE, after) if after is not None else None,
            ),
        )
        for path, (before, after) in paths.items()
    )


# -- pure reverts ---------------------------------------------------------------------------

REVERTS = ownership("  pure_reverts: exempt")
ORIGINAL = lands(core__py=("old", "new"), hv__a__py=(None, "added"))
INVERSE = lands(core__py=("new", "old"), hv__a__py=("added", None))


def revert(landed: dict[str, PathChange], **kw) -> Change:
    files = sorted(landed)
    return change(files, pure_revert_of=12, landing=landed, reverted_landing=ORIGINAL, **kw)


def test_a_pure_revert_needs_no_approval_when_the_file_says_so() -> None:
    result = evaluate(REVERTS, revert(INVERSE))
    assert result.verdict is Verdict.APPROVED
    assert result.waived == "a pure revert of merged change 12"


def test_a_pure_revert_is_reviewed_by_default() -> None:
    plain = ownership("  pure_reverts: review")
    assert evaluate(plain, revert(INVERSE)).verdict is Verdict.PENDING


def test_a_veto_still_blocks_a_pure_revert() -> None:
    result = evaluate(REVERTS, revert(INVERSE, votes=[Vote(DAVE, -2)]))
    assert result.verdict is Verdict.BLOCKED


@pytest.mark.parametrize(
    "landed",
    [
        # also sets back a file the original never touched (a later core fix)
        pytest.param({**INVERSE, **lands(core2__py=("fixed", "broken"))}, id="undoes-more"),
        # the file moved on since the original merged: the revert starts from other content
        pytest.param(lands(core__py=("newer", "old"), hv__a__py=("added", None)), id="moved-on"),
        pytest.param(lands(core__py=("new", "old")), id="half-a-revert"),
        pytest.param(lands(core__py=("new", "older"), hv__a__py=("added", None)), id="edited"),
        pytest.param(None, id="a-merge"),
    ],
)
def test_a_revert_that_is_not_exactly_the_inverse_is_not_exempt(landed) -> None:
    result = evaluate(
        REVERTS, change(["core.py"], pure_revert_of=12, landing=landed, reverted_landing=ORIGINAL)
    )
    assert result.verdict is Verdict.PENDING
    assert not result.waived


def test_gerrits_word_alone_exempts_nothing() -> None:
    assert evaluate(REVERTS, change(["core.py"], pure_revert_of=12)).verdict is Verdict.PENDING


# -- sticky approvals -----------------------------------------------------------------------

STICKY = ownership("  sticky_approvals: true")
APPROVED = lands(hv__a__py=("v0", "v1"), vm__b__py=("w0", "w1"))


def sticky(who: Account, landed: dict[str, PathChange] = APPROVED, value: int = 2) -> StickyVote:
    return StickyVote(Vote(who, value), 1, landed)


def now(landed: dict[str, PathChange] = APPROVED, **kw) -> Change:
    """The current patch set, landing `landed`."""
    return change(sorted(landed), landing=landed, **kw)


VICTOR = Account("victor", None, 7)


def test_an_approval_survives_a_patch_set_that_lands_the_same() -> None:
    result = evaluate(STICKY, now(sticky_votes=[sticky(ALICE), sticky(VICTOR)]))
    assert result.verdict is Verdict.APPROVED
    assert result.requirements[0].approved_by == ("alice (patch set 1)",)


def test_sticky_approvals_are_off_by_default() -> None:
    plain = ownership("  root_veto: true")
    result = evaluate(plain, now(sticky_votes=[sticky(ALICE), sticky(VICTOR)]))
    assert result.verdict is Verdict.PENDING


@pytest.mark.parametrize(
    "current",
    [
        pytest.param(lands(hv__a__py=("v0", "v2"), vm__b__py=("w0", "w1")), id="edited"),
        # the same tree on another parent: lands other code (what the parent moved)
        pytest.param(lands(hv__a__py=("v0b", "v1"), vm__b__py=("w0", "w1")), id="new-parent"),
        pytest.param({**APPROVED, **lands(hv__new__py=(None, "n"))}, id="file-added"),
        pytest.param(lands(hv__a__py=("v0", None), vm__b__py=("w0", "w1")), id="deletes-it"),
        pytest.param(
            {**APPROVED, "hv/a.py": PathChange(Side(FILE, "v0"), Side(0o100755, "v1"))},
            id="made-executable",
        ),
    ],
)
def test_a_patch_set_landing_otherwise_on_a_requirement_drops_only_its_approvals(current) -> None:
    result = evaluate(STICKY, now(current, sticky_votes=[sticky(ALICE), sticky(VICTOR)]))
    hyperv, vmware = result.requirements
    assert not hyperv.met and vmware.met


def test_a_merge_keeps_no_sticky_approval() -> None:
    votes = [sticky(ALICE), sticky(VICTOR)]
    result = evaluate(STICKY, change(sorted(APPROVED), landing=None, sticky_votes=votes))
    assert result.verdict is Verdict.PENDING


def test_a_newer_vote_on_the_current_patch_set_replaces_the_sticky_one() -> None:
    result = evaluate(STICKY, now(votes=[Vote(ALICE, -1)], sticky_votes=[sticky(ALICE)]))
    assert not result.requirements[0].met


def test_a_deactivated_accounts_sticky_vote_does_not_count() -> None:
    gone = replace(ALICE, active=False)
    result = evaluate(STICKY, change(["hv/x"], sticky_votes=[sticky(gone, set())]))
    assert result.verdict is Verdict.PENDING


def test_an_authors_sticky_vote_does_not_count() -> None:
    result = evaluate(STICKY, now(owner=ALICE, sticky_votes=[sticky(ALICE)]))
    assert not result.requirements[0].met


def test_a_sticky_approval_does_not_count_for_a_requirement_the_new_patch_set_adds() -> None:
    # patch set 1 landed hv/ only; patch set 2 adds core.py, which root owns
    before = lands(hv__a__py=("v0", "v1"))
    votes = [sticky(CAROL, before), sticky(DAVE, before)]
    result = evaluate(
        STICKY, now(lands(hv__a__py=("v0", "v1"), core__py=("c0", "c1")), sticky_votes=votes)
    )
    root = next(r for r in result.requirements if r.subsystem == "root")
    assert not root.met


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("  implicit_approval: 1", "4:22: policy.implicit_approval must be true or false"),
        ("  sticky_approvals: sometimes", "4:21: policy.sticky_approvals must be true or false"),
        ("  exempt: release-bot", "4:11: policy.exempt must be a list"),
        ("  exempt: ['gerrit:']", "4:12: 'gerrit:' needs a group name"),
        ("  pure_reverts: exmpt", "4:17: policy.pure_reverts must be one of review, exempt"),
        (
            "  merge_commits: conflicts",
            "4:18: policy.merge_commits must be one of all-changed-files, conflict-resolution",
        ),
        ("  implicit_aproval: true", "4:3: unknown key 'implicit_aproval' in policy"),
    ],
)
def test_a_wrong_exception_is_an_error_at_its_location(policy: str, message: str) -> None:
    text = f"version: 1\n\npolicy:\n{policy}\nroot: {{owners: [a, b, c]}}\n"
    config, diagnostics = parse_config(text)
    assert config is None
    assert any(message in str(d) for d in diagnostics), [str(d) for d in diagnostics]


def test_every_exception_parses() -> None:
    config = load_config(
        "version: 1\npolicy:\n  implicit_approval: true\n  exempt: [release-bot, 'gerrit:Bots']"
        "\n  pure_reverts: exempt\n  sticky_approvals: true\n"
        "  merge_commits: conflict-resolution\nroot: {owners: [a, b, c]}\n"
    )
    policy = config.policy
    assert policy.implicit_approval and policy.sticky_approvals
    assert policy.exempt == ("release-bot", "gerrit:Bots")
    assert (policy.pure_reverts, policy.merge_commits) == ("exempt", "conflict-resolution")
