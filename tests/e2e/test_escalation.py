"""End to end: a change that waited longer than its subsystem's `review_sla` for a first owner
review gets the next eligible reviewers and one comment, from the reconciler's sweep with the
clock moved forward (no real waiting); escalation never changes who must approve.
"""

from __future__ import annotations

import time
from pathlib import Path

import devgerrit
import pytest
from novademo import NOVA_OWNERS, Nova

from owners.engine import Ownership, load_config
from webhook.escalation import ESCALATION_TAG
from webhook.jobs import Jobs
from webhook.reconcile import Reconciler
from webhook.settings import ServiceSettings

pytestmark = pytest.mark.e2e

BRANCH = "sla"
HYPERV = "nova/virt/hyperv/driver.py"  # hyperv (alice, bob), then virt (lena, victor), then core
VMWARE = "nova/virt/vmwareapi/vm.py"  # vmware (victor, wendy), noparent
DAY = 86_400
OWNERSHIP = Ownership(load_config(NOVA_OWNERS.read_bytes()))


@pytest.fixture(scope="module")
def sla_branch(nova: Nova) -> str:
    text = NOVA_OWNERS.read_text().replace("policy:\n", "policy:\n  review_sla: 3d\n", 1)
    nova.create_branch(BRANCH, {"OWNERS.yaml": text})
    return BRANCH


def sweep_at(nova: Nova, queue: Path, days: float) -> int:
    """One reconciler sweep in this process, its clock `days` ahead; changes escalated."""
    env = {**nova.service_env(), "OWNERS_QUEUE": str(queue), "OWNERS_PROJECTS": nova.project}
    jobs = Jobs(ServiceSettings.from_env(env), clock=lambda: time.time() + days * DAY)
    return Reconciler(jobs).sweep().escalated


def reviewers(nova: Nova, number: int) -> set[str]:
    change = nova.change(number)
    return {a.get("username") for a in change.get("reviewers", {}).get("REVIEWER", [])}


def escalations(nova: Nova, number: int) -> list[str]:
    return [m["message"] for m in nova.change(number)["messages"] if m.get("tag") == ESCALATION_TAG]


def test_an_overdue_change_asks_the_next_eligible_reviewers_once(
    nova: Nova, sla_branch: str, tmp_path: Path
) -> None:
    number = nova.push_change("zed", {HYPERV: "# waits\n"}, "hyperv: waits", sla_branch)
    nova.wait_for_comment(number)
    before = reviewers(nova, number) - {"owners-bot"}

    assert sweep_at(nova, tmp_path / "q.db", 2) == 0  # within the SLA
    assert escalations(nova, number) == []

    assert sweep_at(nova, tmp_path / "q.db", 4) >= 1
    [comment] = escalations(nova, number)
    assert "review SLA of hyperv (3d)" in comment
    added = reviewers(nova, number) - {"owners-bot"} - before
    assert added, comment
    eligible = set(OWNERSHIP.eligible("hyperv")) | {"bob"}  # bob is named by his email
    assert added <= eligible
    if {"alice", "bob"} <= before:  # the co-owners were asked already: the parent's owners
        assert added == {"lena", "victor"}

    assert sweep_at(nova, tmp_path / "q.db", 5) == 0  # once
    assert len(escalations(nova, number)) == 1


def test_an_owner_review_within_the_sla_stops_escalation(
    nova: Nova, sla_branch: str, tmp_path: Path
) -> None:
    number = nova.push_change("zed", {HYPERV: "# reviewed\n"}, "hyperv: reviewed", sla_branch)
    nova.wait_for_comment(number)
    nova.vote("alice", number, -1)  # a review, not an approval
    assert sweep_at(nova, tmp_path / "q.db", 4) == 0
    assert escalations(nova, number) == []


def test_escalation_asks_only_eligible_owners_and_approves_nothing(
    nova: Nova, sla_branch: str, tmp_path: Path
) -> None:
    number = nova.push_change("zed", {VMWARE: "# noparent\n"}, "vmware: waits", sla_branch)
    nova.wait_for_comment(number)
    sweep_at(nova, tmp_path / "q.db", 4)
    for comment in escalations(nova, number):
        assert "lena" not in comment and "carol" not in comment  # vmware has noparent
    assert reviewers(nova, number) - {"owners-bot"} <= {"victor", "wendy"}
    # a virt owner's +2 is no approval under noparent, escalated or not
    nova.vote("lena", number, 2)
    with pytest.raises(devgerrit.RestError) as refused:
        nova.submit("lena", number)
    assert refused.value.status == 409
