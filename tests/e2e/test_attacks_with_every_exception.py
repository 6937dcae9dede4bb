"""Every attack of test_attacks.py again, with every opt-in exception enabled at once.

The exceptions are tested one by one in test_features.py; here the demo's OWNERS.yaml turns
on sticky approvals, pure-revert exemptions and implicit approval together, and a
break-glass group (hana) may override, so that no combination of them reopens an attack the
default policy refuses.  Each test is the same function as in test_attacks.py, collected
again in this module, where `nova` is this module's project.
"""

from __future__ import annotations

from collections.abc import Iterator

import devgerrit
import novademo
import pytest

from tests.e2e.test_attacks import *  # noqa: F403  (every attack, collected again here)
from tests.e2e.test_attacks import CORE, HYPERV, refused, rest_as, submitted

EXCEPTIONS = "  sticky_approvals: true\n  pure_reverts: exempt\n  implicit_approval: true\n"


@pytest.fixture(scope="module")
def nova(
    gerrit: devgerrit.GerritServer,
    nova_events: devgerrit.EventReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[novademo.Nova]:
    text = novademo.NOVA_OWNERS.read_text().replace("policy:\n", "policy:\n" + EXCEPTIONS, 1)
    with novademo.running(
        gerrit,
        tmp_path_factory.mktemp("nova"),
        owners_yaml=text.encode(),
        override_group="Release Managers",
        events_url=nova_events.url,
    ) as project:
        yield project


# Two attacks are what an exception allows on purpose: implicit approval lets a lieutenant's
# own change to her own paths through, and a pure revert needs no owner.  Each is replaced by
# the attack that exception must still refuse.
test_a_lieutenant_cannot_approve_her_own_change = None
test_a_revert_of_core_code_needs_core = None


def test_implicit_approval_covers_only_the_owners_own_paths(nova: novademo.Nova) -> None:
    number = nova.push_change("alice", {HYPERV: "# mine\n", CORE: "# mine too\n"}, "both")
    nova.vote("alice", number, 2)
    refused(nova, "alice", number)


def test_a_revert_of_core_code_edited_by_a_lieutenant_needs_core(nova: novademo.Nova) -> None:
    number = nova.push_change("zed", {CORE: "# to revert\n"}, "compute: to revert")
    for voter in ("carol", "dave"):
        nova.vote(voter, number, 2)
    submitted(nova, "carol", number)
    revert = rest_as(nova, "alice").post(f"changes/{number}/revert", {})["_number"]
    nova.amend_change("alice", revert, {CORE: "# not quite the old code\n"})
    nova.vote("alice", revert, 2)
    refused(nova, "alice", revert)
