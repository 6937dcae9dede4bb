"""What awaits a reviewer and each file's owner status (`owners.engine.reviews`), one row per
rule: who may approve is eligibility, whose vote counts is `counts`, on the bot's evaluation."""

from __future__ import annotations

import pytest

from owners.engine import Account, Change, Ownership, Vote, evaluate, parse_config
from owners.engine.evaluation import Eligibility
from owners.engine.reviews import FileState, Via, approvable, approved_by, awaiting, file_statuses

ROOT_FILE = """version: 1
include: [drivers/OWNERS.yaml]
policy: {label: Code-Review, approve: 2, veto: -2}
groups:
  core: [carol, dave]
root:
  owners: [core]
subsystems:
  - name: compute
    paths: [compute/]
    owners: [alice]
  - name: net
    paths: [net/]
    owners: ["gerrit:Net Team"]
"""
INCLUDED = """version: 1
groups:
  hv: [alice, hana]
subsystems:
  - name: hyperv
    paths: [drivers/hyperv/]
    owners: [hv]
"""
GROUPS = {"Net Team": ("lena",)}

ALICE, ZED, CAROL = Account("alice", account_id=1), Account("zed", account_id=9), Account("carol")


@pytest.fixture(scope="module")
def ownership() -> Ownership:
    config, problems = parse_config(ROOT_FILE, read={"drivers/OWNERS.yaml": INCLUDED}.get)
    assert config is not None, problems
    return Ownership(config)


def members(entry: str) -> tuple[str, ...]:
    return GROUPS.get(entry.split(":", 1)[1], ())


def judged(ownership: Ownership, change: Change) -> tuple[object, Eligibility]:
    return evaluate(ownership, change, GROUPS.get), Eligibility(ownership, GROUPS.get)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (ALICE, [("compute", Via.DIRECT, (), "OWNERS.yaml"),
                 ("hyperv", Via.ALIAS, ("hv",), "drivers/OWNERS.yaml")]),
        (Account("lena"), [("net", Via.GROUP, ("gerrit:Net Team",), "OWNERS.yaml")]),
        (CAROL, [("root", Via.ALIAS, ("core",), "OWNERS.yaml")]),
        (ZED, []),
    ],
)  # fmt: skip
def test_approvable_says_how_and_where(
    ownership: Ownership, who: Account, expected: list[tuple[object, ...]]
) -> None:
    found = [(a.subsystem, a.via, a.through, a.file) for a in approvable(ownership, who, members)]
    assert found == expected


@pytest.mark.parametrize(
    ("change", "awaits"),
    [
        (Change.of(["compute/a.py"], owner=ZED), ["compute"]),
        (Change.of(["compute/a.py", "drivers/hyperv/b.py"], owner=ZED), ["compute", "hyperv"]),
        (Change.of(["compute/a.py"], owner=ALICE), []),  # her own: her vote would not count
        (Change.of(["compute/a.py"], [Vote(ALICE, 1)], owner=ZED), []),  # she voted
        (Change.of(["net/a.py"], owner=ZED), []),  # not hers
    ],
)
def test_awaiting_is_eligible_not_voted_not_their_own(
    ownership: Ownership, change: Change, awaits: list[str]
) -> None:
    evaluation, eligibility = judged(ownership, change)
    policy = ownership.config.policy
    found = awaiting(evaluation, ALICE, change, policy, eligibility)  # type: ignore[arg-type]
    assert [r.subsystem for r in found] == awaits


def test_an_inactive_account_awaits_nothing(ownership: Ownership) -> None:
    change = Change.of(["compute/a.py"], owner=ZED)
    evaluation, eligibility = judged(ownership, change)
    gone = Account("alice", account_id=1, active=False)
    assert awaiting(evaluation, gone, change, ownership.config.policy, eligibility) == ()  # type: ignore[arg-type]


def test_approved_by_names_the_requirements_an_approval_counted_for(
    ownership: Ownership,
) -> None:
    change = Change.of(["compute/a.py", "net/b.py"], [Vote(ALICE, 2)], owner=ZED)
    evaluation, _ = judged(ownership, change)
    assert approved_by(evaluation, ALICE) == ("compute",)  # type: ignore[arg-type]
    assert approved_by(evaluation, CAROL) == ()  # type: ignore[arg-type]


def test_file_statuses_approved_pending_and_no_owner_asked(ownership: Ownership) -> None:
    change = Change.of(
        ["compute/a.py", "net/b.py", "drivers/hyperv/c.py", "README"], [Vote(ALICE, 2)], owner=ZED
    )
    evaluation, eligibility = judged(ownership, change)
    reviewers = [ALICE, Account("lena"), ZED]  # zed is asked nowhere: his vote cannot count
    found = {
        s.path: (s.state, s.requirements, s.approved_by, s.asked)
        for s in file_statuses(evaluation, change, reviewers, ownership.config.policy,  # type: ignore[arg-type]
                               eligibility)
    }  # fmt: skip
    assert found == {
        "compute/a.py": (FileState.APPROVED, ("compute",), ("alice",), ()),
        "net/b.py": (FileState.PENDING, ("net",), (), ("lena",)),
        "drivers/hyperv/c.py": (FileState.APPROVED, ("hyperv",), ("alice",), ()),
        "README": (FileState.UNASKED, ("root",), (), ()),
    }
