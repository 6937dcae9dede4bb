"""`owners report`'s figures (owners/insight/review.py) from hand-built change histories.

The config is the Nova-shaped fixture (see tests/test_semantics.py for its map): root is
nova-core (carol, dave, erin; 2 approvals), hyperv (alice, bob) sits under virt (lena,
victor), vmware has noparent, xenapi is an advisory trial.  A history is written as
`change(files, "alice+2@10 carol+2@30")`: votes with the minute after upload they were cast.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from owners.engine import Account, ChangedFile, Ownership, Verdict, load_config
from owners.insight.review import ChangeHistory, TimedVote, Waits, review_report
from tests.conftest import NOVA_OWNERS

NOVA = Ownership(load_config(NOVA_OWNERS.read_bytes()))
SINCE = datetime(2025, 1, 1, tzinfo=UTC)

HYPERV = "nova/virt/hyperv/vmops.py"
CORE = "nova/compute/api.py"
VMWARE = "nova/virt/vmwareapi/vm.py"
XENAPI = "nova/virt/xenapi/vm.py"


def person(name: str) -> Account:
    return Account(username=name, email=f"{name}@example.org")


def change(
    files: list[str],
    votes: str = "",
    number: int = 1,
    owner: str = "zed",
    created: datetime = SINCE,
) -> ChangeHistory:
    timed = []
    for item in votes.split():
        vote, minute = item.split("@")
        cut = max(vote.rfind("+"), vote.rfind("-"), vote.rfind("="))
        value = 0 if vote[cut] == "=" else int(vote[cut:])
        timed.append(TimedVote(person(vote[:cut]), value, created + timedelta(minutes=int(minute))))
    return ChangeHistory(
        number, created, person(owner), person(owner), tuple(map(ChangedFile, files)), tuple(timed)
    )


@pytest.mark.parametrize(
    ("files", "votes", "owner", "first", "first_root", "enough", "verdict"),
    [
        # a lieutenant approves, the core team never comes: enough
        ([HYPERV], "alice+2@60", "zed", "alice", None, True, Verdict.APPROVED),
        # the core team came first: nothing before it to judge, not enough
        ([HYPERV], "carol+2@30 alice+2@60", "zed", "carol", "carol", False, Verdict.APPROVED),
        # lieutenants came first but root's own files needed the core team anyway
        ([HYPERV, CORE], "alice+2@10 carol+2@20 dave+2@30", "zed", "alice", "carol", False,
         Verdict.APPROVED),
        # noparent: the VMware lieutenant alone is enough
        ([VMWARE], "victor+2@5", "zed", "victor", None, True, Verdict.APPROVED),
        # the trial team's +2 would have been enough had the trial been enforced; virt's
        # approval is what the bot needs today
        ([XENAPI], "xavier+2@5", "zed", "xavier", None, True, Verdict.PENDING),
        # alice's approval of her own change does not count (self_approval: false)
        ([HYPERV], "alice+2@5", "alice", None, None, False, Verdict.PENDING),
        # a lieutenant's -2 before the core team acted: blocked, not enough
        ([HYPERV], "alice+2@5 lena-2@6", "zed", "alice", None, False, Verdict.BLOCKED),
        # an approval taken back before the core team acted no longer counts
        ([HYPERV], "alice+2@5 alice=0@6 carol+2@9", "zed", "alice", "carol", False,
         Verdict.APPROVED),
        # a +1 is not an approval
        ([HYPERV], "alice+1@5", "zed", None, None, False, Verdict.PENDING),
    ],
)  # fmt: skip
def test_each_change_says_who_approved_first_and_whether_lieutenants_were_enough(
    files: list[str],
    votes: str,
    owner: str,
    first: str | None,
    first_root: str | None,
    enough: bool,
    verdict: Verdict,
) -> None:
    report = review_report(NOVA, [change(files, votes, owner=owner)], SINCE)
    (row,) = report.changes
    assert (row.first_approver, row.first_root_approver, row.enough, row.verdict) == (
        first,
        first_root,
        enough,
        verdict,
    )


def test_waits_have_exact_medians_and_interpolated_p90() -> None:
    histories = [
        change([HYPERV, CORE], f"alice+2@{m} carol+2@{2 * m} dave+2@{3 * m}", number=i)
        for i, m in enumerate((10, 20, 30, 40, 100), start=1)
    ]
    report = review_report(NOVA, histories, SINCE)
    hyperv = next(s for s in report.subsystems if s.name == "hyperv")
    root = next(s for s in report.subsystems if s.name == "root")
    assert hyperv.changes == root.changes == 5
    assert hyperv.lieutenant_wait.median == 30 * 60
    # rank 0.9 * (5 - 1) = 3.6: 40 min + 0.6 of the way to 100 min
    assert hyperv.lieutenant_wait.p90 == pytest.approx(4560.0)
    assert hyperv.root_wait.median == 60 * 60  # carol, at twice the lieutenant's minute
    assert root.lieutenant_wait.count == 0  # root has no lieutenants
    assert root.root_wait.p90 == pytest.approx(2 * 4560.0)
    assert (hyperv.enough, root.enough) == (0, 0)


@pytest.mark.parametrize(
    ("seconds", "median", "p90"),
    [((), None, None), ((7.0,), 7.0, 7.0), ((1.0, 3.0), 2.0, 2.8), ((4.0, 1.0, 2.0), 2.0, 3.6)],
)
def test_waits_statistics(seconds: tuple[float, ...], median: float | None, p90: float | None):
    waits = Waits(seconds)
    assert waits.median == median
    assert waits.p90 == (pytest.approx(p90) if p90 is not None else None)


def test_enough_share_per_subsystem_counts_the_changes_lieutenants_could_have_merged() -> None:
    histories = [
        change([HYPERV], "bob+2@5", number=1),  # enough
        change([HYPERV], "alice+2@5", number=2),  # enough
        change([HYPERV], "carol+2@1 alice+2@5", number=3),  # core first
        change([HYPERV, CORE], "alice+2@1 carol+2@2 dave+2@3", number=4),  # core files
    ]
    hyperv = next(s for s in review_report(NOVA, histories, SINCE).subsystems if s.name == "hyperv")
    assert (hyperv.enough, hyperv.changes, hyperv.enough_share) == (2, 4, 0.5)
    assert hyperv.approvals == {"alice": 3, "bob": 1}


def test_load_and_stale_owners_count_approvals_given_in_the_window() -> None:
    old = SINCE - timedelta(days=30)
    histories = [
        change([HYPERV], "alice+2@5", number=1),
        change([HYPERV, CORE], "alice+2@5 carol+2@6 dave+2@7", number=2),
        # uploaded before the window: victor's old approval is outside it, luke's is inside
        change([VMWARE], "victor+2@5", number=3, created=old),
        change(["nova/virt/libvirt/host.py"], f"luke+2@{31 * 24 * 60}", number=4, created=old),
        # hana owns nothing; her approvals are load all the same
        change([HYPERV], "hana+2@5", number=5),
    ]
    report = review_report(NOVA, histories, SINCE)
    assert [c.number for c in report.changes] == [1, 2, 5]
    assert [(p.person, p.approvals, p.owns) for p in report.load] == [
        ("alice", 2, ("driver-api", "hyperv")),
        ("carol", 1, ("root",)),
        ("dave", 1, ("root",)),
        ("hana", 1, ()),
        ("luke", 1, ("libvirt",)),
    ]
    assert [(s.owner, s.subsystems) for s in report.stale_owners] == [
        ("erin", ("root",)),
        ("lena", ("virt", "libvirt")),
        ("victor", ("virt", "vmware")),
        ("dora", ("driver-api",)),
        ("bob@example.org", ("driver-api", "hyperv")),
        ("wendy", ("vmware",)),
        ("xavier", ("xenapi",)),
        ("yuri", ("xenapi",)),
    ]


def test_self_approval_counts_when_the_policy_allows_it() -> None:
    text = NOVA_OWNERS.read_text().replace("self_approval: false", "self_approval: true")
    ownership = Ownership(load_config(text))
    report = review_report(ownership, [change([HYPERV], "alice+2@5", owner="alice")], SINCE)
    assert (report.changes[0].first_approver, report.changes[0].enough) == ("alice", True)
    assert [p.person for p in report.load] == ["alice"]


def test_bus_factor_one_is_one_owner_or_one_approver() -> None:
    text = NOVA_OWNERS.read_text().replace("xenapi-core: [xavier, yuri]", "xenapi-core: [xavier]")
    ownership = Ownership(load_config(text))
    histories = [
        change([HYPERV], "alice+2@5", number=1),
        change([HYPERV], "alice+2@5", number=2),
        change([VMWARE], "victor+2@5", number=3),
        change([VMWARE], "wendy+2@5", number=4),
    ]
    found = {
        s.name: s.bus_factor_one for s in review_report(ownership, histories, SINCE).bus_factor_one
    }
    assert found == {
        "hyperv": "one approver: alice approved all 2 changes",
        "xenapi": "one owner: xavier",
    }


def test_advisory_subsystems_carry_the_verdict_they_would_have_cast() -> None:
    histories = [
        change([XENAPI], "xavier+2@5", number=1),  # trial team approves: would be APPROVED
        change([XENAPI], "lena+2@5", number=2),  # virt approves: approved today, and as a trial
        change([XENAPI], "yuri-2@5 lena+2@6", number=3),  # a trial veto would have blocked
        change([HYPERV], "alice+2@5", number=4),  # no trial involved
    ]
    report = review_report(NOVA, histories, SINCE)
    assert [(a.subsystem, a.number, a.verdict, a.if_enforced) for a in report.advisory] == [
        ("xenapi", 1, Verdict.PENDING, Verdict.APPROVED),
        ("xenapi", 2, Verdict.APPROVED, Verdict.APPROVED),
        ("xenapi", 3, Verdict.APPROVED, Verdict.BLOCKED),
    ]


def test_gerrit_groups_are_resolved_through_the_injected_lookup() -> None:
    text = NOVA_OWNERS.read_text().replace(
        "nova-core: [carol, dave, erin]", "nova-core: [gerrit:Nova Core]"
    )
    ownership = Ownership(load_config(text))
    members = {"Nova Core": ("carol", "carol@example.org", "dave", "dave@example.org")}
    asked: list[str] = []

    def lookup(group: str) -> tuple[str, ...] | None:
        asked.append(group)
        return members.get(group)

    histories = [change([CORE], "carol+2@5 dave+2@9", number=n) for n in (1, 2, 3)]
    report = review_report(ownership, histories, SINCE, lookup)
    assert asked == ["Nova Core"]  # once, however many evaluations meet the group
    root = report.subsystems[0]
    assert (root.root_wait.seconds, root.approvals) == ((300.0,) * 3, {"carol": 3, "dave": 3})
    assert "gerrit:Nova Core" not in [s.owner for s in report.stale_owners]
    assert report.unresolved_groups == ()
    unresolved = review_report(ownership, [change([CORE], "carol+2@5")], SINCE)
    assert unresolved.unresolved_groups == ("gerrit:Nova Core",)
    assert unresolved.changes[0].first_root_approver is None
