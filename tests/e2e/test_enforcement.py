"""End to end: the demo's Nova project on a real Gerrit, enforced by `owners serve`.

The `nova` fixture (tests/e2e/conftest.py) provisions exactly what `deploy/demo.sh` shows:
a Nova-shaped tree with tests/fixtures/nova-OWNERS.yaml, lieutenants holding Code-Review +2
and submit on the whole project, the bot, the service on loopback and `owners gerrit-setup`.
Changes are pushed over HTTP with git by zed, who owns nothing. Every assertion is on
Gerrit's own answers: the bot's vote, the status of the Owner-Approval submit requirement, the
HTTP status of a submit, the bot's comments.

The bot comments whenever the verdict or its reasons change, so waiting for its n-th comment
is how a test knows that it has judged the latest vote. A vote that changes no reason (e.g. a
lieutenant's +2 outside their paths) leaves no trace, so such a test follows it with a vote
that does, and checks that the evaluation which saw both did not count the first.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import devgerrit
import pytest
import requests
from novademo import (
    BOT,
    FALLBACK_OWNERS,
    LABEL,
    NOVA_OWNERS,
    Nova,
    bot_messages,
    bot_vote,
    gerrit_setup,
    requirement,
)

pytestmark = pytest.mark.e2e

# The fixture with a typo in the hyperv subsystem: `owner:` instead of `owners:`.
BROKEN_OWNERS = NOVA_OWNERS.read_text().replace(
    "    owners: [hyperv-core]\n", "    owner: [hyperv-core]\n", 1
)
TYPO_LINE = BROKEN_OWNERS.splitlines().index("    owner: [hyperv-core]") + 1
TYPO_ERROR = f"OWNERS.yaml:{TYPO_LINE}:5: unknown key 'owner'"


def _line(comment: str, subsystem: str) -> str:
    """The line of a status comment about one requirement, e.g. `* ✔ hyperv: approved by alice`."""
    found = [line for line in comment.splitlines() if f" {subsystem}: " in line]
    assert len(found) == 1, comment
    return found[0]


def _approvers(line: str) -> set[str]:
    """Who approved, from a requirement line (in the order Gerrit lists the votes)."""
    return set(line.split("approved by ", 1)[1].split(", "))


def test_gerrit_setup_is_idempotent(nova: Nova) -> None:
    assert gerrit_setup(nova).strip() == "nova: already configured, nothing changed"
    label = nova.gerrit.rest.get(f"projects/nova/labels/{LABEL}")
    assert label["function"] == "NoBlock"


def test_a_hyperv_only_change_approved_by_one_hyperv_lieutenant_is_submitted(nova: Nova) -> None:
    number = nova.push_change("zed", {"nova/virt/hyperv/vmops.py": "# vmops\n"}, "hyperv: vmops")
    assert nova.wait_for_comment(number).startswith("Owners: PENDING")
    assert nova.requirement(number) == "UNSATISFIED"

    nova.vote("alice", number, 2)

    assert nova.wait_for_bot(number, 1) == 1
    change = nova.change(number)
    assert requirement(change) == "SATISFIED"
    assert _line(bot_messages(change)[-1], "hyperv") == "* ✔ hyperv: approved by alice"
    assert change["submittable"] is True
    assert nova.submit("alice", number)["status"] == "MERGED"


def test_a_hyperv_lieutenants_plus_two_on_a_core_file_leaves_it_unsatisfied(nova: Nova) -> None:
    number = nova.push_change("zed", {"nova/compute/manager.py": "# manager\n"}, "compute: x")
    nova.wait_for_comment(number)

    nova.vote("alice", number, 2)
    assert nova.requirement(number) == "UNSATISFIED"
    # carol's +2 makes the bot comment again; had alice's counted, root would now be met.
    nova.vote("carol", number, 2)

    comment = nova.wait_for_comment(number, 2)
    assert comment.startswith("Owners: PENDING")
    assert _line(comment, "root") == "* ✘ root: needs 1 more approval; approved by carol"
    change = nova.change(number)
    assert bot_vote(change) is None
    assert requirement(change) == "UNSATISFIED"
    assert requirement(change, "Code-Review") == "SATISFIED"  # only the owners say no
    assert change["submittable"] is False
    assert LABEL in nova.submit_refused("alice", number)


def test_a_change_touching_hyperv_and_core_needs_both(nova: Nova) -> None:
    number = nova.push_change(
        "zed",
        {"nova/virt/hyperv/migrationops.py": "# m\n", "nova/compute/rpcapi.py": "# r\n"},
        "hyperv and compute: live migration",
    )
    nova.wait_for_comment(number)

    nova.vote("alice", number, 2)
    comment = nova.wait_for_comment(number, 2)
    assert _line(comment, "hyperv") == "* ✔ hyperv: approved by alice"
    assert _line(comment, "root") == "* ✘ root: needs 2 more approvals"
    assert nova.requirement(number) == "UNSATISFIED"
    assert LABEL in nova.submit_refused("alice", number)

    nova.vote("carol", number, 2)
    nova.wait_for_comment(number, 3)
    nova.vote("dave", number, 2)

    assert nova.wait_for_bot(number, 1) == 1
    assert nova.requirement(number) == "SATISFIED"


def test_two_nova_core_approvals_satisfy_hyperv_and_core(nova: Nova) -> None:
    number = nova.push_change(
        "zed",
        {"nova/virt/hyperv/volumeops.py": "# v\n", "nova/compute/utils.py": "# u\n"},
        "hyperv and compute: volumes",
    )
    nova.wait_for_comment(number)

    nova.vote("carol", number, 2)
    nova.wait_for_comment(number, 2)
    nova.vote("dave", number, 2)

    assert nova.wait_for_bot(number, 1) == 1
    change = nova.change(number)
    assert requirement(change) == "SATISFIED"
    hyperv = _line(bot_messages(change)[-1], "hyperv")
    assert hyperv.startswith("* ✔ hyperv: approved by ")
    assert _approvers(hyperv) == {"carol", "dave"}


def test_two_nova_core_approvals_do_not_satisfy_noparent_vmware_and_core(nova: Nova) -> None:
    number = nova.push_change(
        "zed",
        {"nova/virt/vmwareapi/vmops.py": "# v\n", "nova/compute/flavors.py": "# f\n"},
        "vmware and compute: flavors",
    )
    nova.wait_for_comment(number)

    nova.vote("carol", number, 2)
    nova.wait_for_comment(number, 2)
    nova.vote("dave", number, 2)

    comment = nova.wait_for_comment(number, 3)
    assert comment.startswith("Owners: PENDING: 1 of 2 requirements not yet met.")
    root = _line(comment, "root")
    assert root.startswith("* ✔ root: approved by ")
    assert _approvers(root) == {"carol", "dave"}
    assert _line(comment, "vmware") == "* ✘ vmware: needs 1 more approval"
    change = nova.change(number)
    assert bot_vote(change) is None
    assert requirement(change) == "UNSATISFIED"
    assert LABEL in nova.submit_refused("carol", number)

    nova.vote("victor", number, 2)  # a VMware lieutenant
    assert nova.wait_for_bot(number, 1) == 1
    assert nova.requirement(number) == "SATISFIED"


def test_a_nova_core_minus_two_blocks_a_hyperv_change_until_removed(nova: Nova) -> None:
    number = nova.push_change("zed", {"nova/virt/hyperv/hostops.py": "# h\n"}, "hyperv: host")
    nova.wait_for_comment(number)
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1

    nova.vote("carol", number, -2)

    assert nova.wait_for_bot(number, -1) == -1
    change = nova.change(number)
    assert requirement(change) == "UNSATISFIED"
    assert bot_messages(change)[-1].startswith("Owners: BLOCKED: vetoed by carol.")
    assert LABEL in nova.submit_refused("alice", number)

    nova.delete_vote("carol", number)

    assert nova.wait_for_bot(number, 1) == 1
    change = nova.change(number)
    assert requirement(change) == "SATISFIED"
    assert bot_messages(change)[-1].startswith("Owners: APPROVED")


def test_a_new_patch_set_adding_a_core_file_drops_the_verdict_back_to_pending(
    nova: Nova,
) -> None:
    number = nova.push_change("zed", {"nova/virt/hyperv/pathutils.py": "# p\n"}, "hyperv: paths")
    nova.wait_for_comment(number)
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    assert nova.requirement(number) == "SATISFIED"

    patchset = nova.amend_change("zed", number, {"nova/compute/api.py": "# uses paths\n"})

    assert patchset == 2
    comment = nova.wait_for_comment(number, 3)
    assert comment.startswith("Owners: PENDING")
    assert _line(comment, "root") == "* ✘ root: needs 2 more approvals"
    change = nova.change(number)
    last = [m for m in change["messages"] if m.get("tag") == "autogenerated:owners"][-1]
    assert last["_revision_number"] == 2
    assert (bot_vote(change) or 0) == 0  # the +1 was for patch set 1 only
    assert requirement(change) == "UNSATISFIED"


def test_merging_an_owners_yaml_change_that_adds_a_lieutenant_re_evaluates_open_changes(
    nova: Nova,
) -> None:
    branch = "stable/2024.1"
    nova.create_branch(branch)
    waiting = nova.push_change(
        "zed", {"nova/virt/hyperv/serialconsole.py": "# s\n"}, "hyperv: console", branch=branch
    )
    nova.wait_for_comment(waiting)
    nova.vote("hana", waiting, 2)  # not (yet) a Hyper-V lieutenant

    promoted = NOVA_OWNERS.read_text().replace(
        "hyperv-core: [alice, bob@example.org]", "hyperv-core: [alice, bob@example.org, hana]"
    )
    proposal = nova.push_change(
        "zed", {"OWNERS.yaml": promoted}, "OWNERS: hana is a Hyper-V lieutenant", branch=branch
    )
    nova.wait_for_comment(proposal)
    nova.vote("carol", proposal, 2)
    nova.wait_for_comment(proposal, 2)
    nova.vote("dave", proposal, 2)
    assert nova.wait_for_bot(proposal, 1) == 1
    assert nova.bot_vote(waiting) is None
    assert nova.requirement(waiting) == "UNSATISFIED"

    assert nova.submit("carol", proposal)["status"] == "MERGED"

    assert nova.wait_for_bot(waiting, 1) == 1
    change = nova.change(waiting)
    assert requirement(change) == "SATISFIED"
    assert _line(bot_messages(change)[-1], "hyperv") == "* ✔ hyperv: approved by hana"


def test_a_broken_owners_yaml_on_the_branch_fails_closed_to_the_fallback_owners(
    nova: Nova,
) -> None:
    branch = "stable/broken"
    nova.create_branch(branch, {"OWNERS.yaml": BROKEN_OWNERS})
    number = nova.push_change(
        "zed", {"nova/virt/hyperv/snapshotops.py": "# s\n"}, "hyperv: snapshots", branch=branch
    )

    comment = nova.wait_for_comment(number)
    assert comment.startswith("Owners: PENDING")
    fallback = ", ".join(FALLBACK_OWNERS)
    assert (
        f"The OWNERS.yaml on branch {branch} is invalid, so the fallback owners ({fallback}) "
        "must approve every file:"
    ) in comment
    assert TYPO_ERROR in comment
    nova.vote("alice", number, 2)  # a Hyper-V lieutenant, were the file valid
    assert nova.requirement(number) == "UNSATISFIED"
    assert LABEL in nova.submit_refused("alice", number)
    # Without fallback owners nobody could approve: the bot would block the change.
    without_fallback = {**nova.service_env(), "OWNERS_FALLBACK_OWNERS": ""}
    check = subprocess.run(
        [sys.executable, "-m", "owners.cli", "check", "--change", str(number)],
        env=without_fallback,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.stdout.startswith("BLOCKED"), check.stdout + check.stderr

    nova.vote("dave", number, 2)  # a fallback owner

    assert nova.wait_for_bot(number, 1) == 1
    change = nova.change(number)
    assert requirement(change) == "SATISFIED"
    assert _line(bot_messages(change)[-1], "root") == "* ✔ root: approved by dave"


def test_a_change_proposing_a_broken_owners_yaml_gets_minus_one_with_the_error_location(
    nova: Nova,
) -> None:
    number = nova.push_change("zed", {"OWNERS.yaml": BROKEN_OWNERS}, "OWNERS: tidy hyperv")

    assert nova.wait_for_bot(number, -1) == -1
    change = nova.change(number)
    comment = bot_messages(change)[-1]
    assert comment.startswith("Owners: BLOCKED: the OWNERS.yaml proposed by this change is invalid")
    assert f"* {TYPO_ERROR}" in comment
    assert requirement(change) == "UNSATISFIED"


@pytest.mark.parametrize("human", ["carol", "zed", "admin"])
def test_a_human_cannot_vote_the_bots_label(nova: Nova, human: str) -> None:
    number = nova.push_change("zed", {"nova/virt/hyperv/rdpconsole.py": "# r\n"}, "hyperv: rdp")
    nova.wait_for_comment(number)

    with pytest.raises(devgerrit.RestError) as refused:
        nova.vote(human, number, 1, LABEL)

    assert refused.value.status == 403
    assert f'Applying label "{LABEL}": 1 is restricted' in refused.value.body
    votes = nova.change(number)["labels"][LABEL].get("all", [])
    assert [v for v in votes if v.get("value")] == []
    assert nova.requirement(number) == "UNSATISFIED"


def test_replaying_every_captured_event_twice_changes_nothing(
    nova: Nova, nova_events: devgerrit.EventReceiver
) -> None:
    start = len(nova_events.events)
    # A scenario with every kind of event the bot acts on: upload, votes, a veto and its
    # removal, reviewers added by the bot, a new patch set.
    number = nova.push_change("zed", {"nova/virt/hyperv/imagecache.py": "# i\n"}, "hyperv: cache")
    nova.wait_for_comment(number)
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    nova.vote("erin", number, -2)
    assert nova.wait_for_bot(number, -1) == -1
    nova.delete_vote("erin", number)
    assert nova.wait_for_bot(number, 1) == 1
    nova.amend_change("zed", number, {"nova/compute/api.py": "# uses the cache\n"})
    nova.wait_for_comment(number, 5)
    nova.wait_until_idle()
    replayed = nova_events.events[start:]
    assert {"patchset-created", "comment-added", "vote-deleted"} <= {e["type"] for e in replayed}
    before = _project_state(nova)

    answers = [
        requests.post(nova.events_url, json=event, timeout=60).status_code
        for _ in range(2)
        for event in replayed
    ]

    assert set(answers) <= {200, 202}, answers
    nova.wait_until_idle()  # the service answers once an event is queued
    after = _project_state(nova)
    changed = {
        (number, key): (state[key], after[number][key])
        for number, state in before.items()
        for key in state
        if after[number][key] != state[key]
    }
    assert not changed, "\n".join(f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in changed.items())


def _project_state(nova: Nova) -> dict[int, dict[str, Any]]:
    """What a replayed event could change on each change of the project, by change number."""
    options = ("DETAILED_LABELS", "DETAILED_ACCOUNTS", "MESSAGES", "CURRENT_REVISION")
    changes = nova.gerrit.rest.query_changes(f"project:{nova.project}", *options)
    return {
        change["_number"]: {
            "status": change["status"],
            "revision": change["current_revision"],
            "updated": change["updated"],
            "messages": len(change.get("messages", [])),
            "labels": {
                label: sorted(
                    (vote["_account_id"], vote.get("value")) for vote in detail.get("all", [])
                )
                for label, detail in change["labels"].items()
            },
            "reviewers": {
                state: sorted(account["_account_id"] for account in accounts)
                for state, accounts in change.get("reviewers", {}).items()
            },
            "bot_vote": bot_vote(change),
        }
        for change in changes
    }


def test_the_bot_is_the_only_voter_and_said_nothing_twice(nova: Nova) -> None:
    """Over the whole module: no human ever voted the label, and no two consecutive status
    comments of the bot on one change are the same."""
    for change in nova.gerrit.rest.query_changes(
        f"project:{nova.project}", "DETAILED_LABELS", "DETAILED_ACCOUNTS", "MESSAGES"
    ):
        votes = change["labels"][LABEL].get("all", [])
        assert {v.get("username") for v in votes if v.get("value")} <= {BOT}
        comments = bot_messages(change)
        assert all(a != b for a, b in itertools.pairwise(comments)), comments


def test_the_demos_contributor_checkout_answers_owners_check(nova: Nova) -> None:
    checkout = nova.contributor_checkout("zed")
    upstream = devgerrit.git(checkout, "rev-parse", "--abbrev-ref", "@{upstream}").strip()
    assert upstream == "origin/master"
    (checkout / "nova/virt/hyperv/driver.py").write_text("# faster\n")

    def owners(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).parent / "owners"), *args],
            cwd=checkout,
            capture_output=True,
            text=True,
            check=False,
        )

    uncommitted = owners("check")  # the edit is not a commit yet: nothing to push
    assert (uncommitted.returncode, uncommitted.stderr) == (
        2,
        "owners: nothing to check: HEAD has no commits that origin/master lacks; 1 file with "
        "uncommitted edits: commit, or owners check --worktree\n",
    )
    worktree = owners("check", "--worktree", "--json")
    assert worktree.returncode == 1, worktree.stderr
    assert [r["subsystem"] for r in json.loads(worktree.stdout)["requirements"]] == ["hyperv"]
    devgerrit.git(checkout, "commit", "-qam", "hyperv: faster")
    assert "Change-Id: I" in devgerrit.git(checkout, "log", "-1", "--format=%B")
    check = owners("check", "--json")
    assert check.returncode == 1, check.stderr  # pending: nobody approved yet
    assert "hyperv" in check.stdout
