"""End to end: the owners-submit-check plugin closes the stale-vote window at submit time.

The bot's +1 on Owner-Approval is a verdict cached when an event arrived.  Each race below
changes an input (a reviewer removed, OWNERS.yaml edited while the change was abandoned, a
member removed from a Gerrit group) and submits as soon as Gerrit has acknowledged that change,
while the bot's +1 may still stand: the plugin, asking the service for a fresh verdict in
Gerrit's onPreMerge, must refuse every one.  Every assertion is on Gerrit's own answer to the
submit: HTTP 409 and its reason text.

Why "as soon as acknowledged" and not "before": a submit that reaches Gerrit before the removal
merges a change that *was* approved at that moment, which is correct; "never merged" is only
well-defined when the input changed first.  The window under test is the one between Gerrit
acknowledging the change and the bot re-voting, which is where a stale +1 lives.  The submit
runs in a thread of its own, released by the removal's answer, while the bot works on the
removal's event concurrently.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import devgerrit
import novademo
import pytest
from novademo import NOVA_OWNERS, Nova, bot_vote, gerrit_setup

pytestmark = pytest.mark.e2e

ROUNDS = 20
PLUGIN_REFUSAL = "owners: not approved by the owners"
GROUP = "Hyper-V Team"
GROUP_OWNERS = f"""\
version: 1
policy:
  label: Code-Review
  approve: 2
root:
  owners: [carol]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: ["gerrit:{GROUP}"]
"""
"""OWNERS.yaml of the group race's project: Hyper-V files are approved by a Gerrit group."""
WITHOUT_ALICE = NOVA_OWNERS.read_text().replace(
    "  hyperv-core: [alice, bob@example.org]\n", "  hyperv-core: [bob@example.org]\n", 1
)
assert NOVA_OWNERS.read_text() != WITHOUT_ALICE


def status(nova: Nova, number: int) -> str:
    return str(nova.gerrit.rest.get(f"changes/{number}")["status"])


def race(change_input: Callable[[], Any], submit: Callable[[], Any]) -> tuple[str, str]:
    """Run `change_input` in one thread and `submit` in another, released the moment the
    first is acknowledged; (how the submit ended: "merged" or "refused", Gerrit's text)."""
    acknowledged = threading.Event()
    outcome: list[tuple[str, str]] = []

    def first() -> None:
        try:
            change_input()
        finally:
            acknowledged.set()

    def second() -> None:
        acknowledged.wait(30)
        try:
            submit()
            outcome.append(("merged", ""))
        except devgerrit.RestError as error:
            ended = "refused" if error.status == 409 else f"HTTP {error.status}"
            outcome.append((ended, error.body))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcome, "the submit thread did not finish"
    return outcome[0]


def who_refused(text: str) -> str:
    """Whether the plugin refused (a fresh verdict) or Gerrit's own submit requirement did
    (the bot had already re-voted)."""
    return "plugin" if PLUGIN_REFUSAL in text else "requirement"


def set_owners(nova: Nova, content: str) -> None:
    """The administrator commits `content` as OWNERS.yaml straight to master (no review)."""
    clone = nova._clone("admin")
    auth = nova.gerrit.admin_auth
    devgerrit.git(clone, "fetch", "--quiet", "origin", "master", auth=auth)
    devgerrit.git(clone, "checkout", "--quiet", "--detach", "FETCH_HEAD")
    me = nova.gerrit.rest.get("accounts/self")
    devgerrit.git_commit(
        clone, "Update OWNERS.yaml", {"OWNERS.yaml": content}, author=(me["name"], me["email"])
    )
    devgerrit.git_push(clone, nova.gerrit.git_url(nova.project), *auth, "HEAD:refs/heads/master")


def wait_for_bot_not_approving(nova: Nova, number: int) -> None:
    nova.wait_for(
        f"the bot to take back its +1 on {number}",
        lambda: (
            bot_vote(nova.gerrit.rest.get(f"changes/{number}/detail?o=DETAILED_LABELS"))
            in (0, -1, None)
        ),
    )


def test_a_properly_approved_change_still_submits(nova: Nova) -> None:
    number = nova.push_change("zed", {"nova/virt/hyperv/power.py": "# power\n"}, "hyperv: power")
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    before = nova.service_metrics().get("owners_submit_checks_total{APPROVED}", 0.0)

    assert nova.submit("alice", number)["status"] == "MERGED"

    after = nova.service_metrics().get("owners_submit_checks_total{APPROVED}", 0.0)
    assert after == before + 1  # the service was asked, and said APPROVED
    assert "submit check nova~" in nova.service_log.read_text()


def test_removing_an_approver_and_submitting_at_once_never_merges(nova: Nova) -> None:
    # carol owns the change (she may remove its reviewers and submit it); her own +2 does not
    # count (self_approval: false), so root's two approvals are dave's and erin's.
    number = nova.push_change("carol", {"nova/compute/flavors.py": "# f\n"}, "compute: flavors")
    nova.vote("erin", number, 2)
    refusals: Counter[str] = Counter()
    for _ in range(ROUNDS):
        nova.vote("dave", number, 2)
        assert nova.wait_for_bot(number, 1) == 1
        assert nova.requirement(number) == "SATISFIED"

        ended, text = race(
            lambda: nova.rest("carol").delete(f"changes/{number}/reviewers/dave"),
            lambda: nova.submit("carol", number),
        )

        assert ended == "refused", (ended, text)
        refusals[who_refused(text)] += 1
        if who_refused(text) == "plugin":
            assert "root: needs 1 more approval" in text, text
        wait_for_bot_not_approving(nova, number)
    assert status(nova, number) == "NEW"
    print(f"removed approver: {dict(refusals)}")
    assert refusals["plugin"] >= 1, refusals  # the window was hit at least once


def test_restoring_an_abandoned_change_after_its_owners_changed_never_merges(nova: Nova) -> None:
    number = nova.push_change("zed", {"nova/virt/hyperv/vmutils.py": "# u\n"}, "hyperv: utils")
    nova.vote("alice", number, 2)
    refusals: Counter[str] = Counter()
    try:
        for _ in range(ROUNDS):
            assert nova.wait_for_bot(number, 1) == 1
            nova.rest("zed").post(f"changes/{number}/abandon")
            set_owners(nova, WITHOUT_ALICE)  # the bot leaves abandoned changes alone

            ended, text = race(
                lambda: nova.rest("zed").post(f"changes/{number}/restore"),
                lambda: nova.submit("alice", number),
            )

            assert ended == "refused", (ended, text)
            refusals[who_refused(text)] += 1
            if who_refused(text) == "plugin":
                assert "hyperv: needs 1 more approval" in text, text
            set_owners(nova, NOVA_OWNERS.read_text())  # alice is back: the bot re-approves
    finally:
        set_owners(nova, NOVA_OWNERS.read_text())
    assert status(nova, number) == "NEW"
    print(f"restored after owners changed: {dict(refusals)}")
    assert refusals["plugin"] >= 1, refusals


@pytest.fixture(scope="module")
def grouped(nova: Nova, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nova]:
    """A second project whose Hyper-V files are owned by the Gerrit group `Hyper-V Team`
    (hana), enforced by the same service."""
    admin = nova.gerrit.rest
    admin.create_group(GROUP, ["hana"])
    admin.put(f"groups/{devgerrit.quote(GROUP)}/options", {"visible_to_all": True})
    project = novademo.provision(
        nova.gerrit,
        tmp_path_factory.mktemp("grouped"),
        project="nova-grouped",
        owners_yaml=GROUP_OWNERS.encode(),
    )
    project.token, project.service_url = nova.token, nova.service_url
    gerrit_setup(project)
    yield project


def test_removing_a_group_member_and_submitting_at_once_never_merges(grouped: Nova) -> None:
    admin = grouped.gerrit.rest
    members = f"groups/{devgerrit.quote(GROUP)}/members"
    number = grouped.push_change("zed", {"nova/virt/hyperv/x.py": "# x\n"}, "hyperv: x")
    grouped.vote("hana", number, 2)
    assert grouped.wait_for_bot(number, 1) == 1
    # Let every job of hana's vote finish (reviewer-added follows comment-added): the first
    # check caches the membership it read, and a late evaluation would then take the +1 back.
    grouped.wait_until_idle()
    assert grouped.bot_vote(number) == 1
    refusals: Counter[str] = Counter()
    for _ in range(ROUNDS):
        group_changes = grouped.events_received("ref-updated")
        # The removal reaches the bot as an All-Users ref update a moment later: until then
        # its +1 is stale, and the submit goes in at once.
        ended, text = race(
            lambda: admin.post(f"{members}.delete", {"members": ["hana"]}),
            lambda: grouped.submit("alice", number),
        )

        assert ended == "refused", (ended, text)
        refusals[who_refused(text)] += 1
        # the plugin's fresh verdict, or the bot's corrected vote if it was faster
        assert "hyperv: needs 1 more approval" in text or "is unsatisfied" in text, text
        admin.post(f"{members}.add", {"members": ["hana"]})
        # The next round starts approved again, once the bot has judged both membership
        # changes: its +1 may still be the one from before the removal was judged.
        grouped.wait_for_events("ref-updated", group_changes + 2)
        grouped.wait_until_idle()
        assert grouped.bot_vote(number) == 1
    assert status(grouped, number) == "NEW"
    assert sum(refusals.values()) == ROUNDS, refusals
    # With hana back in the group, the fresh verdict approves again.
    assert grouped.submit("alice", number)["status"] == "MERGED"


def test_a_service_that_does_not_answer_in_time_refuses_the_submit(nova: Nova) -> None:
    number = nova.push_change("zed", {"nova/virt/hyperv/slow.py": "# s\n"}, "hyperv: slow")
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/submit-check"
        devgerrit.configure_submit_check(nova.gerrit.site, url, nova.token, timeout="1s")
        try:
            text = nova.submit_refused("alice", number)
        finally:
            devgerrit.configure_submit_check(
                nova.gerrit.site, nova.submit_check_url, nova.token, timeout="5s"
            )
    assert "owners: the owners service did not answer in 1 s" in text, text
    assert nova.submit("alice", number)["status"] == "MERGED"


def test_a_stopped_service_refuses_every_submit_until_it_is_back(nova: Nova) -> None:
    number = nova.push_change("zed", {"nova/virt/hyperv/down.py": "# d\n"}, "hyperv: down")
    nova.vote("alice", number, 2)
    assert nova.wait_for_bot(number, 1) == 1
    port = int(nova.service_url.rsplit(":", 1)[1])
    nova.stop_service()
    try:
        text = nova.submit_refused("alice", number)
    finally:
        nova.start_service(port)  # same port: the webhook URL on refs/meta/config holds it
    assert "owners: the owners service is unreachable" in text, text
    assert "submits are refused until it answers" in text
    assert nova.token not in text
    assert nova.submit("alice", number)["status"] == "MERGED"


def test_the_token_is_in_no_log(nova: Nova) -> None:
    console = Path(nova.gerrit.console_log).read_text(errors="replace").splitlines()
    checks = [line for line in console if "submit check of nova" in line]
    assert checks and not [line for line in checks if nova.token in line]
    service = [line for line in nova.service_log.read_text().splitlines() if "submit" in line]
    assert service and not [line for line in service if nova.token in line]
