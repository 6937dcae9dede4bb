"""Attacks on the owners' approval, each run as its attacker would on a real Gerrit.

The demo's Nova project (tests/fixtures/nova-OWNERS.yaml: `hyperv-core` is alice and
bob@example.org, nova-core owns the rest with two approvals) on a Gerrit of its own, enforced
by `owners serve`.  zed is a contributor who owns nothing; every lieutenant may vote
Code-Review +2 and submit on the whole project, so only the owners label keeps a +2 inside
its holder's paths.  Each test builds its attack over git and REST, lets the service catch up
with every event, and ends in an attempted submit: the assertion is Gerrit's own answer.
docs/security.md lists each attack with the rule that stops it.
"""

from __future__ import annotations

import base64
from pathlib import Path

import devgerrit
import pytest
from novademo import (
    LABEL,
    LIEUTENANTS_GROUP,
    PEOPLE,
    Nova,
    bot_messages,
    bot_vote,
    password,
    requirement,
)

pytestmark = pytest.mark.e2e

HYPERV = "nova/virt/hyperv/driver.py"
CORE = "nova/compute/api.py"


def refused(nova: Nova, username: str, number: int) -> str:
    """Once the service has handled every event, the bot does not approve `number` and
    Gerrit refuses to submit it (409); Gerrit's reason."""
    nova.wait_until_idle()
    change = nova.change(number)
    assert requirement(change) != "SATISFIED", bot_messages(change)[-1:]
    reason = nova.submit_refused(username, number)
    assert nova.change(number)["status"] == "NEW"
    return reason


def submitted(nova: Nova, username: str, number: int) -> None:
    """The control: once the service caught up, the submit goes through."""
    nova.wait_until_idle()
    assert nova.wait_for_bot(number, 1) == 1, bot_messages(nova.change(number))[-1:]
    assert nova.submit(username, number)["status"] == "MERGED"


def head(nova: Nova, branch: str = "master") -> str:
    ref = f"projects/{nova.project}/branches/{devgerrit.quote(branch)}"
    return nova.gerrit.rest.get(ref)["revision"]


def attacker(nova: Nova, username: str, email: str, lieutenant: bool = True) -> str:
    """An account the administrator created like any other (a lieutenant by default, so it
    may vote +2 and submit anywhere); its username."""
    nova.gerrit.rest.create_account(username, http_password=password(username), email=email)
    if lieutenant:
        nova.gerrit.rest.add_group_members(LIEUTENANTS_GROUP, [username])
    return username


def rest_as(nova: Nova, username: str) -> devgerrit.GerritRest:
    return devgerrit.GerritRest(nova.gerrit.url, (username, password(username)))


# -- what a submit brings in --------------------------------------------------------------


def test_a_merge_with_a_stale_first_parent_cannot_revert_core_code(nova: Nova) -> None:
    stale = head(nova)
    fix = nova.push_change("zed", {CORE: "# core fix\n"}, "compute: a core fix")
    nova.vote("carol", fix, 2)
    nova.vote("dave", fix, 2)
    submitted(nova, "carol", fix)
    # The merge's tree is the stale commit's plus a Hyper-V edit: against the tip it
    # reverts the core fix, against its first parent it looks like Hyper-V work.
    merge = nova.push_commit(
        "zed", [stale, "master"], {HYPERV: "# merged\n"}, "Merge master into hyperv work"
    )
    nova.vote("bob", merge, 2)
    refused(nova, "bob", merge)
    assert "root: needs 2 more approvals" in nova.wait_for_comment(merge)


def test_a_change_built_on_another_branch_cannot_bring_that_branch_in(nova: Nova) -> None:
    nova.create_branch("stable", {CORE: "# unreviewed on stable\n", "nova/virt/libvirt/x": "x\n"})
    number = nova.push_commit("zed", ["stable"], {HYPERV: "# from stable\n"}, "hyperv: on stable")
    nova.vote("bob", number, 2)
    refused(nova, "bob", number)
    comment = nova.wait_for_comment(number)
    assert comment.startswith("Owners: BLOCKED: it is not based on master.")
    assert "Rebase the change onto master" in comment


def test_a_merge_that_hides_a_core_edit_between_two_branch_commits_needs_core(
    nova: Nova,
) -> None:
    tip = head(nova)
    older = nova.gerrit.rest.get(f"projects/{nova.project}/commits/{tip}")["parents"][0]["commit"]
    number = nova.push_commit(
        "zed", [tip, older], {HYPERV: "# evil merge\n", CORE: "# hidden\n"}, "Merge with edits"
    )
    nova.vote("alice", number, 2)
    refused(nova, "alice", number)


def test_a_stacked_change_on_an_unapproved_core_change_is_not_submitted_with_it(
    nova: Nova,
) -> None:
    below = nova.push_change("zed", {CORE: "# below\n"}, "compute: below")
    change = nova.change(below)
    above = nova.push_commit(
        "zed", [f"refs/changes/{below % 100:02d}/{below}/1"], {HYPERV: "# above\n"}, "above"
    )
    nova.vote("alice", above, 2)
    nova.wait_until_idle()
    assert nova.bot_vote(above) == 1  # judged on its own: the parent is an open change
    assert change["status"] == "NEW"
    body = refused(nova, "alice", below)
    with pytest.raises(devgerrit.RestError) as refusal:
        nova.submit("alice", above)  # submitting it would submit its parent
    assert refusal.value.status == 409
    assert body


def _stack(nova: Nova, tag: str) -> tuple[int, int]:
    """zed's Hyper-V change `below` and, on its patch set 1, his change `above`, which alice
    approves: the bot votes +1 on `above`, whose parent is an open change's current patch set."""
    below = nova.push_change("zed", {f"nova/virt/hyperv/{tag}_below.py": "# below\n"}, "below")
    parent = f"refs/changes/{below % 100:02d}/{below}/1"
    above = nova.push_commit("zed", [parent], {f"nova/virt/hyperv/{tag}.py": "# above\n"}, tag)
    nova.vote("alice", above, 2)
    assert nova.wait_for_bot(above, 1) == 1
    return below, above


def test_a_change_stacked_on_a_replaced_patch_set_is_judged_again_at_once(nova: Nova) -> None:
    below, above = _stack(nova, "replaced")

    nova.amend_change("zed", below, {"nova/virt/hyperv/replaced_below.py": "# v2\n"})

    # no event on `above`: its parent is no longer the current patch set of an open change
    assert nova.wait_for_bot(above, -1, timeout=10, interval=0.05) == -1
    assert nova.bot_messages(above)[-1].startswith("Owners: BLOCKED")
    assert nova.submit_refused("alice", above)


def test_a_change_stacked_on_an_abandoned_change_is_blocked_until_it_is_restored(
    nova: Nova,
) -> None:
    below, above = _stack(nova, "abandoned")
    zed = rest_as(nova, "zed")

    zed.post(f"changes/{below}/abandon", {})
    assert nova.wait_for_bot(above, -1, timeout=10, interval=0.05) == -1
    assert nova.submit_refused("alice", above)

    zed.post(f"changes/{below}/restore", {})
    assert nova.wait_for_bot(above, 1, timeout=10, interval=0.05) == 1


# -- who is who ----------------------------------------------------------------------------


def test_a_username_spelled_like_an_owners_email_does_not_approve(nova: Nova) -> None:
    # Gerrit itself refuses the exact spelling (`PUT accounts/bob@example.org` finds bob).
    mallory = attacker(nova, "Bob@Example.org", "shadow@example.net")
    number = nova.push_change("zed", {HYPERV: "# spelled like bob\n"}, "hyperv: work")
    rest_as(nova, mallory).post(
        f"changes/{number}/revisions/current/review", {"labels": {"Code-Review": 2}}
    )
    refused(nova, mallory, number)


def test_a_case_variant_of_an_owners_email_does_not_approve(nova: Nova) -> None:
    eve = attacker(nova, "eve", "eve@example.net")
    me = rest_as(nova, eve)
    me.put("accounts/self/emails/Bob@example.org")  # the dev site does not confirm emails
    me.put("accounts/self/emails/Bob@example.org/preferred")
    assert me.get("accounts/self")["email"] == "Bob@example.org"
    number = nova.push_change("zed", {HYPERV: "# variant\n"}, "hyperv: variant")
    me.post(f"changes/{number}/revisions/current/review", {"labels": {"Code-Review": 2}})
    refused(nova, eve, number)


# -- who wrote the code --------------------------------------------------------------------


def test_a_lieutenant_cannot_approve_code_she_uploaded_in_an_earlier_patch_set(
    nova: Nova,
) -> None:
    number = nova.push_change("zed", {HYPERV: "# zed\n"}, "hyperv: zed's start")
    nova.amend_change("alice", number, {HYPERV: "# alice wrote this\n"})
    nova.vote("alice", number, 2)
    nova.amend_change("zed", number, {})  # the same tree again, uploaded by zed
    nova.vote("alice", number, 2)
    refused(nova, "alice", number)


def test_a_lieutenant_cannot_approve_a_commit_she_authored_that_someone_else_pushed(
    nova: Nova,
) -> None:
    number = nova.push_commit(
        "zed", ["master"], {HYPERV: "# pair work\n"}, "hyperv: pair work", author="alice"
    )
    nova.vote("alice", number, 2)
    refused(nova, "alice", number)
    nova.vote("bob", number, 2)
    submitted(nova, "bob", number)  # her co-owner's approval is what it needed


def test_a_lieutenant_cannot_approve_her_own_change(nova: Nova) -> None:
    number = nova.push_change("alice", {HYPERV: "# mine\n"}, "hyperv: my own")
    nova.vote("alice", number, 2)
    refused(nova, "alice", number)


def test_rebasing_someones_change_makes_the_rebaser_one_of_its_authors(nova: Nova) -> None:
    number = nova.push_change("zed", {HYPERV: "# to rebase\n"}, "hyperv: rebase me")
    other = nova.push_change("zed", {"nova/virt/hyperv/README.rst": "notes\n"}, "moves master")
    for voter in ("carol", "dave"):
        nova.vote(voter, other, 2)
    submitted(nova, "carol", other)
    rest_as(nova, "alice").post(f"changes/{number}/rebase", {})
    nova.vote("alice", number, 2)
    refused(nova, "alice", number)


# -- what changes between the approval and the submit -------------------------------------


def test_a_patch_set_that_adds_core_code_after_the_approval_is_not_submitted(
    nova: Nova,
) -> None:
    number = nova.push_change("zed", {HYPERV: "# v1\n"}, "hyperv: grows")
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    nova.amend_change("zed", number, {CORE: "# sneaked in\n"})
    refused(nova, "alice", number)


def test_a_change_edit_published_over_rest_is_judged_again(nova: Nova) -> None:
    number = nova.push_change("zed", {HYPERV: "# v1\n"}, "hyperv: edited later")
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    zed = rest_as(nova, "zed")
    content = base64.b64encode(b"# edited in the browser\n").decode()
    edit = {"binary_content": f"data:text/plain;base64,{content}"}
    zed.put(f"changes/{number}/edit/{devgerrit.quote(CORE)}", edit)
    zed.post(f"changes/{number}/edit:publish", {})
    refused(nova, "alice", number)


def test_a_work_in_progress_change_made_ready_is_judged_as_it_is_then(nova: Nova) -> None:
    number = nova.push_change("zed", {HYPERV: "# wip\n"}, "hyperv: wip")
    zed = rest_as(nova, "zed")
    zed.post(f"changes/{number}/wip", {})
    nova.vote("alice", number, 2)
    nova.amend_change("zed", number, {CORE: "# while wip\n"})
    zed.post(f"changes/{number}/ready", {})
    refused(nova, "alice", number)


def test_removing_an_approving_reviewer_takes_the_approval_away(nova: Nova) -> None:
    number = nova.push_change("zed", {CORE: "# two cores\n"}, "compute: two cores")
    nova.vote("carol", number, 2)
    nova.vote("dave", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    rest_as(nova, "zed").delete(f"changes/{number}/reviewers/dave")
    assert nova.wait_for_bot(number, 0) != 1
    refused(nova, "carol", number)


def test_an_abandoned_change_restored_after_its_owners_changed_is_judged_again(
    nova: Nova,
) -> None:
    number = nova.push_change("zed", {"nova/virt/vmwareapi/vm.py": "# v\n"}, "vmware: x")
    nova.vote("wendy", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    zed = rest_as(nova, "zed")
    zed.post(f"changes/{number}/abandon", {})
    text = nova.file("OWNERS.yaml").replace("vmware-core: [victor, wendy]", "vmware-core: [victor]")
    rules = nova.push_change("zed", {"OWNERS.yaml": text}, "owners: wendy steps down")
    for voter in ("carol", "dave"):
        nova.vote(voter, rules, 2)
    submitted(nova, "carol", rules)
    zed.post(f"changes/{number}/restore", {})
    refused(nova, "wendy", number)


def test_an_owner_taken_out_of_owners_yaml_loses_every_open_approval_at_once(
    nova: Nova,
) -> None:
    """The branch's open changes are judged again in bulk when its OWNERS.yaml changes: each
    +1 that rested on the removed owner is taken back, and Gerrit refuses every submit."""
    numbers = [
        nova.push_change("zed", {f"nova/virt/libvirt/fan{i}.py": f"# {i}\n"}, f"libvirt: {i}")
        for i in range(3)
    ]
    for number in numbers:
        for owner in ("lena", "luke"):  # libvirt needs two of its owners
            nova.vote(owner, number, 2)
        assert nova.wait_for_bot(number, 1) == 1
    text = nova.file("OWNERS.yaml").replace("libvirt-core: [lena, luke]", "libvirt-core: [lena]")
    rules = nova.push_change("zed", {"OWNERS.yaml": text}, "owners: luke steps down")
    for voter in ("carol", "dave"):
        nova.vote(voter, rules, 2)
    submitted(nova, "carol", rules)
    for number in numbers:
        assert nova.wait_for_bot(number, 0) != 1
        refused(nova, "luke", number)


def test_votes_cast_on_an_older_patch_set_do_not_approve_a_newer_one(nova: Nova) -> None:
    number = nova.push_change("zed", {HYPERV: "# ps1\n"}, "hyperv: ps1")
    nova.vote("alice", number, 2)
    nova.amend_change("zed", number, {"nova/virt/libvirt/host.py": "# ps2\n"})
    refused(nova, "alice", number)


# -- paths -----------------------------------------------------------------------------------


def test_a_rename_out_of_core_into_hyperv_needs_core(nova: Nova) -> None:
    moved = {CORE: None, "nova/virt/hyperv/api.py": "# compute API\n"}
    number = nova.push_change("zed", moved, "move the compute API into hyperv")
    nova.vote("alice", number, 2)
    refused(nova, "alice", number)


def test_an_owners_file_change_and_code_relying_on_it_in_one_chain_need_core(
    nova: Nova,
) -> None:
    grab = nova.file("OWNERS.yaml").replace(
        "nova-core: [carol, dave, erin]", "nova-core: [carol, dave, erin, alice]"
    )
    rules = nova.push_change("alice", {"OWNERS.yaml": grab}, "owners: alice joins core")
    code = nova.push_commit(
        "alice", [f"refs/changes/{rules % 100:02d}/{rules}/1"], {CORE: "# by alice\n"}, "core"
    )
    nova.vote("bob", rules, 2)
    nova.vote("bob", code, 2)
    refused(nova, "bob", code)
    refused(nova, "bob", rules)


def test_deleting_the_owners_file_needs_core(nova: Nova) -> None:
    number = nova.push_change("zed", {"OWNERS.yaml": None}, "drop the ownership map")
    nova.vote("alice", number, 2)
    refused(nova, "alice", number)


def test_a_hyperv_lieutenant_cannot_approve_in_a_noparent_sibling(nova: Nova) -> None:
    number = nova.push_change("zed", {"nova/virt/vmwareapi/vm.py": "# x\n"}, "vmware: x")
    nova.vote("alice", number, 2)
    nova.vote("lena", number, 2)  # virt's owner: vmware is noparent
    refused(nova, "alice", number)


# -- REST shortcuts ---------------------------------------------------------------------------


def test_a_contributor_cannot_vote_the_owners_label_himself(nova: Nova) -> None:
    number = nova.push_change("zed", {HYPERV: "# self-service\n"}, "hyperv: self-service")
    with pytest.raises(devgerrit.RestError) as vote:
        nova.vote("zed", number, 1, label=LABEL)
    assert vote.value.status in (400, 403)
    refused(nova, "carol", number)  # zed may not submit at all: a lieutenant tries


def test_a_lieutenant_cannot_vote_the_owners_label_either(nova: Nova) -> None:
    number = nova.push_change("zed", {CORE: "# core\n"}, "compute: by label")
    with pytest.raises(devgerrit.RestError) as vote:
        nova.vote("alice", number, 1, label=LABEL)
    assert vote.value.status in (400, 403)
    refused(nova, "alice", number)


def test_a_cherry_pick_onto_another_branch_needs_its_owners_again(nova: Nova) -> None:
    nova.create_branch("stable-cp")
    number = nova.push_change("zed", {HYPERV: "# pick me\n"}, "hyperv: pick me")
    nova.vote("alice", number, 2)
    submitted(nova, "alice", number)
    picked = rest_as(nova, "zed").post(
        f"changes/{number}/revisions/current/cherrypick", {"destination": "stable-cp"}
    )["_number"]
    refused(nova, "alice", picked)


def test_a_revert_of_core_code_needs_core(nova: Nova) -> None:
    number = nova.push_change("zed", {CORE: "# to revert\n"}, "compute: to revert")
    for voter in ("carol", "dave"):
        nova.vote(voter, number, 2)
    submitted(nova, "carol", number)
    revert = rest_as(nova, "alice").post(f"changes/{number}/revert", {})["_number"]
    nova.vote("alice", revert, 2)
    refused(nova, "alice", revert)


def test_pushing_straight_to_the_branch_is_refused(nova: Nova, tmp_path: Path) -> None:
    url, auth = nova.gerrit.git_url(nova.project), ("zed", password("zed"))
    clone = devgerrit.git_clone(url, tmp_path / "zed", auth)
    devgerrit.git_commit(clone, "direct", {HYPERV: "# direct\n"}, author=("Zed", PEOPLE["zed"]))
    before = head(nova)
    for refspec in ("HEAD:refs/heads/master", "HEAD:refs/for/master%submit"):
        with pytest.raises(RuntimeError, match=r"rejected|prohibited|not permitted"):
            devgerrit.git_push(clone, url, *auth, refspec)
    assert head(nova) == before


# -- private changes ---------------------------------------------------------------------------


def test_a_private_change_gets_a_verdict(nova: Nova) -> None:
    number = nova.push_change("zed", {HYPERV: "# private\n"}, "hyperv: private")
    zed = rest_as(nova, "zed")
    zed.post(f"changes/{number}/private", {})
    zed.post(f"changes/{number}/reviewers", {"reviewer": "alice"})  # so she may see it
    nova.vote("alice", number, 2)
    alice = rest_as(nova, "alice")  # the administrator may not see it either
    detail = f"changes/{number}/detail?o=DETAILED_LABELS"
    nova.wait_for("the bot's +1", lambda: bot_vote(alice.get(detail)) == 1)
    zed.delete(f"changes/{number}/private")
    submitted(nova, "alice", number)
