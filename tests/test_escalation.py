"""`policy.review_sla` and escalation (`owners.engine.sla`, `owners.engine.escalation`): when a
change waited too long for a first review by an eligible owner, the next eligible reviewers
are asked, co-owners first, then the parent's owners; who must approve never changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from owners.engine import Account, evaluate, parse_config
from owners.engine.escalation import Reviewed, next_reviewers, overdue
from owners.engine.evaluation import Eligibility
from owners.engine.sla import Sla, SlaError, parse_review_sla, review_sla
from tests.test_semantics import NOVA, change

FRIDAY = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
SATURDAY = FRIDAY + timedelta(days=1)


@pytest.mark.parametrize(
    ("sla", "start", "deadline"),
    [
        (Sla(12, "h"), FRIDAY, FRIDAY + timedelta(hours=12)),
        (Sla(3, "d"), FRIDAY, FRIDAY + timedelta(days=3)),  # calendar days count weekends
        (Sla(1, "bd"), FRIDAY, FRIDAY + timedelta(days=3)),  # Friday 15:00 -> Monday 15:00
        (Sla(3, "bd"), FRIDAY, FRIDAY + timedelta(days=5)),  # -> Wednesday 15:00
        (Sla(2, "bd"), SATURDAY, datetime(2026, 12, 9, tzinfo=UTC)),  # from Monday 00:00
    ],
)
def test_a_deadline_counts_calendar_or_business_days(sla, start, deadline):
    assert sla.deadline(start) == deadline


def test_a_review_sla_names_a_default_and_exceptions():
    assert parse_review_sla("5bd, hyperv=2bd, xenapi=none") == {
        "": Sla(5, "bd"), "hyperv": Sla(2, "bd"), "xenapi": None,
    }  # fmt: skip
    text = "5bd, hyperv=2bd, xenapi=none"
    assert review_sla(text, "hyperv") == Sla(2, "bd")
    assert review_sla(text, "xenapi") is None
    assert review_sla(text, "root") == Sla(5, "bd")
    assert review_sla("hyperv=1d", "root") is None
    assert review_sla("", "root") is None


@pytest.mark.parametrize("text", ["3", "2w", "0d", "none", "3d, 4d", "hyperv=", "a b=3d"])
def test_a_wrong_review_sla_is_refused(text):
    with pytest.raises(SlaError):
        parse_review_sla(text)


def test_the_reader_refuses_a_wrong_review_sla_with_its_place():
    text = "version: 1\npolicy:\n  review_sla: 3 days\nroot: {owners: [a]}\n"
    config, diagnostics = parse_config(text)
    assert config is None
    assert any(
        "review_sla" in str(d) and str(d).startswith("OWNERS.yaml:3:") for d in diagnostics
    ), diagnostics
    ok, _ = parse_config("version: 1\npolicy: {review_sla: '2bd, s=none'}\nroot: {owners: [a]}\n")
    assert ok is not None and ok.policy.review_sla == "2bd, s=none"


def allows(subsystem: str, account: Account) -> bool:
    return Eligibility(NOVA, None).allows(subsystem, account)


def test_a_requirement_is_overdue_only_after_its_sla_without_an_eligible_review():
    files = ["nova/virt/hyperv/driver.py", "nova/compute/api.py"]
    results = evaluate(NOVA, change(files)).requirements
    late = FRIDAY + timedelta(days=4)
    assert overdue("3d", results, FRIDAY, late, (), allows) == ("root", "hyperv")
    assert overdue("3d", results, FRIDAY, FRIDAY + timedelta(days=2), (), allows) == ()
    assert overdue("3d, hyperv=none", results, FRIDAY, late, (), allows) == ("root",)
    alice = Reviewed(Account(username="alice"), FRIDAY + timedelta(days=1))
    assert overdue("3d", results, FRIDAY, late, [alice], allows) == ("root",)
    zed = Reviewed(Account(username="zed"), FRIDAY + timedelta(days=1))  # not an owner
    assert overdue("3d", results, FRIDAY, late, [zed], allows) == ("root", "hyperv")


def test_the_next_reviewers_are_co_owners_then_the_parents_owners():
    no_groups = lambda entry: ()  # noqa: E731
    assert next_reviewers(NOVA, "hyperv", {"alice"}, no_groups) == ("bob@example.org",)
    asked = {"alice", "bob@example.org"}
    assert next_reviewers(NOVA, "hyperv", asked, no_groups) == ("lena", "victor")  # virt
    asked |= {"lena", "victor"}
    assert next_reviewers(NOVA, "hyperv", asked, no_groups) == ("carol", "dave", "erin")
    asked |= {"carol", "dave", "erin"}
    assert next_reviewers(NOVA, "hyperv", asked, no_groups) == ()


def test_escalation_never_reaches_past_noparent():
    # vmware has noparent: only its own owners may approve, so only they are asked
    no_groups = lambda entry: ()  # noqa: E731
    assert next_reviewers(NOVA, "vmware", {"victor", "wendy"}, no_groups) == ()
    for person in next_reviewers(NOVA, "vmware", {"victor"}, no_groups):
        assert person in NOVA.eligible("vmware")


def test_a_change_waits_from_its_creation_or_when_it_was_last_marked_ready():
    from owners.engine.escalation import waiting_since

    ready = [FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=3)]
    assert waiting_since(FRIDAY, []) == FRIDAY
    assert waiting_since(FRIDAY, ready) == FRIDAY + timedelta(days=3)
