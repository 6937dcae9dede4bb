"""End to end: the opt-in features admins know from Gerrit's code-owners plugin, each on a
real Gerrit with the demo's Nova project (tests/e2e/conftest.py), and each with the attack it
must not open (docs/security.md).

Every feature test works on a branch of its own whose OWNERS.yaml is the fixture with one
policy line added, so the features never see each other.  The branch-scope test restarts the
service with OWNERS_BRANCHES and runs last.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import devgerrit
import pytest
from novademo import (
    LABEL,
    NOVA_OWNERS,
    Nova,
    bot_messages,
    gerrit_setup,
    password,
    requirement,
)

pytestmark = pytest.mark.e2e

OVERRIDE = "Owners-Override"
OVERRIDERS = "Release Managers"
PINNED = f'label:"{OVERRIDE}=MAX,group={OVERRIDERS}"'
"""The override term the setup writes: only the group's +1 counts (see test_audit.py)."""
HYPERV = "nova/virt/hyperv/driver.py"
VMWARE = "nova/virt/vmwareapi/vm.py"
CORE = "nova/compute/api.py"
README = "README.rst"  # only root (nova-core) owns it


def branch(nova: Nova, name: str, policy: str) -> str:
    """A branch off master whose OWNERS.yaml adds `policy` (YAML lines under `policy:`)."""
    text = NOVA_OWNERS.read_text().replace("policy:\n", "policy:\n" + policy.rstrip() + "\n", 1)
    nova.create_branch(name, {"OWNERS.yaml": text})
    return name


def refused(nova: Nova, username: str, number: int) -> str:
    with pytest.raises(devgerrit.RestError) as error:
        nova.submit(username, number)
    assert error.value.status == 409, error.value
    return error.value.body


def merged(nova: Nova, username: str, number: int) -> None:
    assert nova.submit(username, number)["status"] == "MERGED"


def land(nova: Nova, number: int) -> None:
    """Two cores approve and carol submits (the owners bot approves first)."""
    for core in ("carol", "dave"):
        nova.vote(core, number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    merged(nova, "carol", number)


# -- 1. override -------------------------------------------------------------------------------


def test_an_override_lets_a_release_manager_submit_once_and_is_reported(nova: Nova) -> None:
    admin = nova.gerrit.rest
    admin.create_group(OVERRIDERS, ["hana"])
    admin.put(f"groups/{devgerrit.quote(OVERRIDERS)}/options", {"visible_to_all": True})
    nova.extra_env["OWNERS_OVERRIDE_GROUP"] = OVERRIDERS  # the only override votes that count
    nova.stop_service()
    nova.start_service()
    done = gerrit_setup(nova, "--override-group", OVERRIDERS)
    assert f"created label {OVERRIDE} on nova" in done
    sr = admin.get(f"projects/nova/submit_requirements/{LABEL}")
    assert sr["override_expression"] == PINNED
    assert gerrit_setup(nova, "--override-group", OVERRIDERS).strip().endswith("nothing changed")

    number = nova.push_change("zed", {CORE: "# hotfix\n"}, "compute: hotfix")
    assert nova.wait_for_comment(number).startswith("Owners: PENDING")
    nova.vote("carol", number, 2)  # Code-Review is met; root needs two nova-core approvals
    nova.wait_for_comment(number, 2)
    # nobody outside the group may break the glass, not even a lieutenant
    for intruder in ("zed", "carol"):
        with pytest.raises(devgerrit.RestError):
            nova.vote(intruder, number, 1, label=OVERRIDE)
    refused(nova, "carol", number)

    nova.vote("hana", number, 1, label=OVERRIDE)
    comment = nova.wait_for_comment(number, 3)
    assert f"Overridden with {OVERRIDE}+1 by hana; requirements unmet: root." in comment
    assert nova.requirement(number) == "OVERRIDDEN"
    merged(nova, "carol", number)
    assert nova.service_metrics().get("owners_overrides_total") == 1.0
    messages = bot_messages(nova.change(number))
    assert sum("Overridden with" in m for m in messages) == 1  # once

    report = subprocess.run(
        [sys.executable, "-m", "owners.cli", "report", "--project", "nova", "--since", "1d"],
        env=nova.service_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"change {number}: overridden by hana; unmet: root" in report


def test_a_wide_override_grant_on_an_unpinned_requirement_is_refused_at_submit(
    nova: Nova,
) -> None:
    """An admin grants the break-glass label to everyone and writes the requirement's
    override term by hand, unpinned: Gerrit then calls zed's +1 an override, and only the
    submit check, counting the override group's votes alone, stands in the way."""
    admin = nova.gerrit.rest
    path = f"projects/nova/submit_requirements/{LABEL}"
    pinned = admin.get(path)
    rule = {"label-" + OVERRIDE: {"rules": {"global:Registered-Users": {"min": 0, "max": 1}}}}
    wide = {"refs/heads/master": {"permissions": rule}}
    admin.post("projects/nova/access", {"add": wide})
    admin.put(path, {**pinned, "override_expression": f"label:{OVERRIDE}=MAX"})
    try:
        number = nova.push_change("zed", {CORE: "# zed's own hotfix\n"}, "compute: mine")
        nova.vote("carol", number, 2)
        nova.vote("zed", number, 1, label=OVERRIDE)
        nova.wait_until_idle()
        assert nova.requirement(number) == "OVERRIDDEN"  # Gerrit alone would let it through
        assert "Overridden with" not in "".join(nova.bot_messages(number))
        assert "not approved by the owners" in refused(nova, "carol", number)  # the check
        assert nova.change(number)["status"] == "NEW"
    finally:
        admin.put(path, pinned)
        admin.post("projects/nova/access", {"remove": wide})


def test_the_setup_keeps_an_admins_terms_and_stops_on_drift(nova: Nova) -> None:
    admin = nova.gerrit.rest
    path = f"projects/nova/submit_requirements/{LABEL}"
    current = admin.get(path)
    extra = "label:Code-Review=+2,user=admin"
    admin.put(
        path,
        {
            **current,
            "override_expression": f"({extra}) OR ({current['override_expression']})",
            "applicability_expression": "-is:wip",
        },
    )
    assert gerrit_setup(nova, "--override-group", OVERRIDERS).strip().endswith("nothing changed")
    kept = admin.get(path)
    assert kept["applicability_expression"] == "-is:wip"
    assert extra in kept["override_expression"]

    admin.put(path, {**kept, "submittability_expression": f"label:{LABEL}=MAX"})
    with pytest.raises(RuntimeError, match=r"changed by hand .*submittableIf.*--force"):
        gerrit_setup(nova, "--override-group", OVERRIDERS)
    assert admin.get(path)["submittability_expression"] == f"label:{LABEL}=MAX"

    forced = gerrit_setup(nova, "--override-group", OVERRIDERS, "--force")
    assert "updated submit requirement" in forced
    restored = admin.get(path)
    assert restored["submittability_expression"].startswith(f"label:{LABEL}=MAX,user=")
    assert restored["override_expression"] == PINNED
    assert not restored.get("applicability_expression")


# -- 2. implicit approval ----------------------------------------------------------------------


def test_a_lieutenants_own_change_is_implicitly_approved_until_someone_else_uploads(
    nova: Nova,
) -> None:
    name = branch(nova, "implicit", "  implicit_approval: true")
    number = nova.push_change("alice", {HYPERV: "# alice's fix\n"}, "hyperv: fix", name)
    assert nova.wait_for_bot(number, 1) == 1
    assert "hyperv: approved by alice (implicit: change owner)" in nova.bot_messages(number)[-1]
    assert requirement(nova.change(number)) == "SATISFIED"

    # zed adds his own code as a second patch set: alice's ownership no longer covers it
    nova.amend_change("zed", number, {HYPERV: "# alice's fix, and zed's\n"})
    assert nova.wait_for_comment(number, 2).startswith("Owners: PENDING")
    nova.vote("bob", number, 2)  # Code-Review met, so only the owners say no
    nova.wait_for_comment(number, 3)
    assert nova.bot_vote(number) == 1  # bob, a co-owner, approved
    pushed = nova.push_commit("alice", [name], {HYPERV: "# zed wrote this\n"}, "hv", name, "zed")
    assert nova.wait_for_comment(pushed).startswith("Owners: PENDING")  # authored by zed
    nova.vote("luke", pushed, 2)  # Code-Review met by a lieutenant who does not own hyperv
    refused(nova, "luke", pushed)


def test_a_lieutenants_commit_under_her_secondary_email_is_implicitly_approved(
    nova: Nova, tmp_path: Path
) -> None:
    """Gerrit counts a secondary email as the account's own (the bot may View Secondary
    Emails): a commit alice wrote under it is hers, and her ownership covers it.  OWNERS.yaml
    still names her by her preferred email or username only."""
    secondary = "alice.home@example.net"
    nova.gerrit.rest.put(
        f"accounts/alice/emails/{devgerrit.quote(secondary)}", {"no_confirmation": True}
    )
    name = branch(nova, "implicit-secondary", "  implicit_approval: true")
    url, auth = nova.gerrit.git_url(nova.project), ("alice", password("alice"))
    clone = devgerrit.git_clone(url, tmp_path / "alice", auth)
    devgerrit.git(clone, "fetch", "--quiet", "origin", name, auth=auth)
    devgerrit.git(clone, "checkout", "--quiet", "--detach", "FETCH_HEAD")
    sha = devgerrit.git_commit(clone, "hyperv: fix", {HYPERV: "# home\n"}, author=("A", secondary))
    devgerrit.git_push(clone, url, *auth, f"HEAD:refs/for/{name}")
    number = nova.gerrit.rest.query_changes(f"commit:{sha}")[0]["_number"]

    assert nova.wait_for_bot(number, 1) == 1
    assert "hyperv: approved by alice (implicit: change owner)" in nova.bot_messages(number)[-1]
    nova.vote("luke", number, 2)  # Code-Review by a lieutenant who does not own hyperv
    merged(nova, "luke", number)


# -- 3. exempted accounts ----------------------------------------------------------------------


def test_a_change_uploaded_only_by_an_exempted_account_needs_no_owner(nova: Nova) -> None:
    name = branch(nova, "exempt", "  exempt: [hana]")
    number = nova.push_change("hana", {CORE: "# release notes bump\n"}, "release: bump", name)
    assert nova.wait_for_bot(number, 1) == 1
    assert "exempted accounts (hana)" in nova.bot_messages(number)[-1]
    nova.vote("alice", number, 2)  # Code-Review still needs its +2; no owner approves
    merged(nova, "alice", number)

    vetoed = nova.push_change("hana", {CORE: "# again\n"}, "release: again", name)
    assert nova.wait_for_bot(vetoed, 1) == 1
    nova.vote("carol", vetoed, -2)
    assert nova.wait_for_bot(vetoed, -1) == -1

    joined = nova.push_change("hana", {CORE: "# third\n"}, "release: third", name)
    assert nova.wait_for_bot(joined, 1) == 1
    nova.amend_change("zed", joined, {CORE: "# zed rides along\n"})
    assert nova.wait_for_comment(joined, 2).startswith("Owners: PENDING")
    nova.vote("alice", joined, 2)
    refused(nova, "alice", joined)


# -- 4. pure reverts ---------------------------------------------------------------------------


def test_a_pure_revert_needs_no_owner_but_an_edited_one_does(nova: Nova) -> None:
    name = branch(nova, "reverts", "  pure_reverts: exempt")
    number = nova.push_change("zed", {CORE: "# to revert\n"}, "compute: to revert", name)
    land(nova, number)
    revert = nova.rest("zed").post(f"changes/{number}/revert", {})["_number"]
    assert nova.wait_for_bot(revert, 1) == 1
    assert f"a pure revert of merged change {number}" in nova.bot_messages(revert)[-1]

    nova.amend_change("zed", revert, {CORE: "# not quite the old code\n"})
    assert nova.wait_for_comment(revert, 2).startswith("Owners: PENDING")
    nova.vote("alice", revert, 2)
    refused(nova, "alice", revert)


def test_a_revert_that_also_undoes_a_later_core_fix_is_not_exempt(nova: Nova) -> None:
    name = branch(nova, "reverts-more", "  pure_reverts: exempt")
    hyperv_before = nova.file(HYPERV, name)
    broken = nova.push_change("zed", {HYPERV: "# hv feature\n"}, "hyperv: feature", name)
    nova.vote("alice", broken, 2)
    assert nova.wait_for_bot(broken, 1) == 1
    merged(nova, "alice", broken)
    before_fix = nova.gerrit.rest.get(f"projects/nova/branches/{name}")["revision"]
    fix = nova.push_change("zed", {CORE: "# core fix\n"}, "compute: fix", name)
    land(nova, fix)

    # Gerrit's revert, then the attacker's extra: core code set back to before the fix
    number = nova.rest("zed").post(f"changes/{broken}/revert", {})["_number"]
    revert = nova.change(number)
    assert nova.wait_for_bot(number, 1) == 1  # the genuine revert is exempt
    nova.push_commit(
        "zed",
        [nova.gerrit.rest.get(f"projects/nova/branches/{name}")["revision"]],
        {HYPERV: hyperv_before, CORE: nova.file(CORE, before_fix)},
        revert["subject"],
        name,
        change_id=revert["change_id"],
    )
    nova.wait_until_idle()
    assert nova.bot_vote(number) != 1
    refused(nova, "alice", number)
    assert nova.file(CORE, name) == "# core fix\n"


# -- 6. sticky approvals -----------------------------------------------------------------------


def test_sticky_approvals_survive_what_does_not_touch_their_files(nova: Nova) -> None:
    name = branch(nova, "sticky", "  sticky_approvals: true")
    number = nova.push_change(
        "zed", {HYPERV: "# hv\n", VMWARE: "# vm\n"}, "hyperv and vmware", name
    )
    nova.wait_for_comment(number)
    nova.vote("alice", number, 2)
    nova.wait_for_comment(number, 2)
    nova.vote("victor", number, 2)  # virt's owner: eligible for hyperv too
    assert nova.wait_for_comment(number, 3).startswith("Owners: APPROVED")
    assert nova.wait_for_bot(number, 1) == 1

    # a message-only patch set: Code-Review's default copy condition keeps nothing here
    change = nova.rest("zed").get(f"changes/{number}")
    message = f"{change['subject']}\n\nMore words.\n\nChange-Id: {change['change_id']}\n"
    nova.rest("zed").put(f"changes/{number}/message", {"message": message})
    comment = nova.wait_for_comment(number, 4)
    hyperv = next(line for line in comment.splitlines() if " hyperv: " in line)
    assert set(hyperv.split("approved by ")[1].split(", ")) == {
        "alice (patch set 1)",
        "victor (patch set 1)",
    }
    assert "vmware: approved by victor (patch set 1)" in comment
    assert nova.wait_for_bot(number, 1) == 1

    # a trivial rebase over an unrelated change: same verdict, voted again on the new patch set
    other = nova.push_change("zed", {"README.rst": "moved\n"}, "docs: move the branch", name)
    land(nova, other)
    nova.rest("zed").post(f"changes/{number}/rebase", {})
    assert nova.wait_for_bot(number, 1) == 1
    said = [m for m in nova.bot_messages(number) if "owners-fingerprint:" in m]
    assert len(said) == 4  # the vote again, no new comment

    # editing one subsystem of two drops that one's approvals only
    nova.amend_change("zed", number, {HYPERV: "# hv, edited\n"})
    comment = nova.wait_for_comment(number, 6)  # the fifth was the vote alone
    assert comment.startswith("Owners: PENDING")
    assert "vmware: approved by victor (patch set 1)" in comment
    assert "✘ hyperv" in comment
    assert nova.requirement(number) == "UNSATISFIED"
    nova.vote("bob", number, 2)
    assert nova.wait_for_bot(number, 1) == 1


def test_a_sticky_approval_does_not_carry_to_the_same_tree_on_a_branch_that_moved(
    nova: Nova,
) -> None:
    name = branch(nova, "sticky-moved", "  sticky_approvals: true")
    feature = nova.push_change("zed", {CORE: "# feature\n"}, "compute: feature", name)
    for core in ("carol", "dave"):
        nova.vote(core, feature, 2)
    assert nova.wait_for_bot(feature, 1) == 1
    before_fix = nova.file(README, name)
    fix = nova.push_change("zed", {README: "# docs fix\n"}, "docs: fix", name)
    land(nova, fix)

    # patch set 2: patch set 1's very tree on the new tip, so it lands a revert of the fix
    info = nova.change(feature)
    tip = nova.gerrit.rest.get(f"projects/nova/branches/{name}")["revision"]
    nova.push_commit(
        "zed",
        [tip],
        {CORE: "# feature\n", README: before_fix},
        info["subject"],
        name,
        change_id=info["change_id"],
    )
    nova.wait_until_idle()
    assert nova.bot_vote(feature) != 1
    refused(nova, "carol", feature)

    # the control: patch set 3 lands what patch set 1 did, on the new tip: approved again
    nova.push_commit(
        "zed", [tip], {CORE: "# feature\n"}, info["subject"], name, change_id=info["change_id"]
    )
    assert nova.wait_for_bot(feature, 1) == 1
    assert "approved by carol (patch set 1), dave (patch set 1)" in nova.bot_messages(feature)[-1]
    nova.vote("erin", feature, 2)  # Gerrit's own Code-Review wants a +2 on this patch set
    merged(nova, "carol", feature)
    assert nova.file(README, name) == "# docs fix\n"


# -- 7. merge commits --------------------------------------------------------------------------


def test_conflict_resolution_counts_only_the_resolution_and_never_a_foreign_parent(
    nova: Nova,
) -> None:
    name = branch(nova, "merges", "  merge_commits: conflict-resolution")
    tip = nova.gerrit.rest.get(f"projects/nova/branches/{name}")["revision"]
    master = nova.gerrit.rest.get("projects/nova/branches/master")["revision"]
    # both parents are on the branch: against either one the merge also differs in
    # OWNERS.yaml (root's), against the auto-merge only in the Hyper-V file
    number = nova.push_commit("zed", [tip, master], {HYPERV: "# resolved\n"}, "merge", name)
    nova.wait_for_comment(number)
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    assert "root" not in nova.bot_messages(number)[-1]

    # a parent from another branch is foreign: every file it brings in counts again
    foreign = nova.create_branch("elsewhere", {CORE: "# never reviewed\n"})
    bad = nova.push_commit("zed", [tip, foreign], {HYPERV: "# resolved\n"}, "merge 2", name)
    comment = nova.wait_for_comment(bad)
    assert "root" in comment
    nova.vote("alice", bad, 2)
    refused(nova, "alice", bad)


def test_a_conflict_resolution_merge_is_judged_again_when_its_open_parent_is_abandoned(
    nova: Nova,
) -> None:
    name = branch(nova, "merges-moving", "  merge_commits: conflict-resolution")
    tip = nova.gerrit.rest.get(f"projects/nova/branches/{name}")["revision"]
    core = "# core, never reviewed\n"
    below = nova.push_change("zed", {CORE: core}, "compute: below", name)
    parent = f"refs/changes/{below % 100:02d}/{below}/1"
    # the merge brings `below` in: against the auto-merge only the Hyper-V resolution differs
    merge = nova.push_commit("zed", [tip, parent], {HYPERV: "# resolved\n", CORE: core}, "m", name)
    nova.wait_for_comment(merge)
    nova.vote("alice", merge, 2)
    assert nova.wait_for_bot(merge, 1) == 1  # `below` is an open change, judged on its own

    nova.rest("zed").post(f"changes/{below}/abandon", {})

    # no event on the merge: its parent is no open change any more, so every file counts
    assert nova.wait_for_bot(merge, 0, timeout=10, interval=0.05) == 0
    assert "root" in nova.bot_messages(merge)[-1]
    refused(nova, "alice", merge)


# -- 8. delegated ownership files -------------------------------------------------------------

DELEGATED = "nova/virt/hyperv/OWNERS.yaml"
HYPERV_FILE = """version: 1
groups:
  hv-team: [alice, hana]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/, "!nova/virt/hyperv/README.rst"]
    owners: [hv-team]
    parent: virt
"""


def test_a_delegated_file_is_read_owned_by_its_lieutenants_and_confined(nova: Nova) -> None:
    root = (
        NOVA_OWNERS.read_text()
        .replace("version: 1\n", f"version: 1\ninclude: [{DELEGATED}]\n", 1)
        .replace(
            "  - name: hyperv\n    description: Hyper-V virt driver\n"
            "    paths: [nova/virt/hyperv/, nova/tests/unit/virt/hyperv/, "
            '"!nova/virt/hyperv/README.rst"]\n',
            "  - name: hyperv-tests\n    paths: [nova/tests/unit/virt/hyperv/]\n",
        )
    )
    assert "hyperv-tests" in root
    nova.create_branch("delegated", {"OWNERS.yaml": root, DELEGATED: HYPERV_FILE})

    # hana is named only in the delegated file: the service read it at the branch head
    number = nova.push_change("zed", {HYPERV: "# hv\n"}, "hyperv: delegated", "delegated")
    nova.wait_for_comment(number)
    nova.vote("hana", number, 2)
    assert nova.wait_for_bot(number, 1) == 1

    # the delegated file is the lieutenants' to change, and root keeps its veto
    grow = HYPERV_FILE.replace("[alice, hana]", "[alice, hana, bob]")
    edit = nova.push_change("zed", {DELEGATED: grow}, "hyperv: add bob", "delegated")
    assert "hyperv" in nova.wait_for_comment(edit)
    nova.vote("alice", edit, 2)
    assert nova.wait_for_bot(edit, 1) == 1
    nova.vote("carol", edit, -2)
    assert nova.wait_for_bot(edit, -1) == -1

    # reaching outside its directory is an invalid proposal, blocked with the location
    grab = HYPERV_FILE.replace("[nova/virt/hyperv/,", "[nova/compute/, nova/virt/hyperv/,")
    attack = nova.push_change("zed", {DELEGATED: grab}, "hyperv: take compute", "delegated")
    comment = nova.wait_for_comment(attack)
    assert comment.startswith("Owners: BLOCKED")
    assert f"{DELEGATED}:6:13: pattern 'nova/compute/' of 'hyperv' is outside" in comment
    nova.vote("alice", attack, 2)
    refused(nova, "alice", attack)


# -- 5. branch scope (restarts the service: keep last) -----------------------------------------


def test_branches_out_of_scope_get_no_vote_and_are_not_blocked(nova: Nova) -> None:
    nova.extra_env["OWNERS_BRANCHES"] = "master,stable/*"
    nova.stop_service()
    nova.start_service()
    done = gerrit_setup(nova)
    assert "branch:master OR branch:^stable/.*" in done
    nova.create_branch("feature-x")
    nova.create_branch("stable/2025")
    outside = nova.push_change("zed", {CORE: "# experiment\n"}, "compute: try", "feature-x")
    inside = nova.push_change("zed", {CORE: "# backport\n"}, "compute: backport", "stable/2025")
    assert nova.wait_for_comment(inside).startswith("Owners: PENDING")
    nova.wait_until_idle()
    assert nova.bot_messages(outside) == []
    assert nova.requirement(outside) == "NOT_APPLICABLE"
    nova.vote("alice", outside, 2)
    merged(nova, "alice", outside)
    nova.vote("alice", inside, 2)
    refused(nova, "alice", inside)
