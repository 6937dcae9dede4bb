"""Ownership health (`owners.insight.health`) and the first-review figures it reads
(`owners.insight.review`): orphaned paths, bus factor one, idle owners, time to the first
owner review against the SLA, and the suggested MAINTAINERS status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from owners.engine import Account, ChangedFile, Mode, Ownership, load_config
from owners.engine.sla import Sla
from owners.gerrit.model import change_history
from owners.insight.health import (
    MAINTAINED,
    ODD_FIXES,
    ORPHAN,
    SUPPORTED,
    health,
    maintainers_status,
)
from owners.insight.review import ChangeHistory, SubsystemReview, TimedVote, Waits, review_report
from owners.views.review import Scope, health_json, report_json, report_text
from tests.conftest import FIXTURES, NOVA_OWNERS

NOVA = Ownership(load_config(NOVA_OWNERS.read_bytes()))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = 86_400.0
no_groups = lambda name: None  # noqa: E731


def sub(changes: int, first: list[float], sla: Sla | None = None, escalated: int = 0):
    return SubsystemReview(
        "s", Mode.ENFORCE, changes, Waits(), Waits(), 0, {}, None,
        first_review=Waits(tuple(first)), sla=sla, escalated=escalated,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("available", "review", "status"),
    [
        (0, sub(10, [DAY] * 10), ORPHAN),
        (2, None, MAINTAINED),
        (2, sub(0, []), MAINTAINED),
        (2, sub(10, [DAY] * 4), ODD_FIXES),  # most changes never got an owner review
        (2, sub(4, [9 * DAY] * 4), ODD_FIXES),  # median over the default 7 days
        (2, sub(4, [3 * DAY] * 4, Sla(2, "d")), ODD_FIXES),  # median over the SLA
        (1, sub(4, [DAY] * 4), MAINTAINED),  # one owner
        (2, sub(10, [DAY] * 8 + [5 * DAY] * 2, Sla(2, "d")), MAINTAINED),  # p90 over the SLA
        (2, sub(10, [DAY] * 10, Sla(2, "d"), escalated=2), MAINTAINED),
        (2, sub(10, [DAY] * 10, Sla(2, "d"), escalated=1), SUPPORTED),
        (3, sub(3, [DAY] * 3), SUPPORTED),
    ],
)
def test_the_suggested_status_follows_the_documented_derivation(available, review, status):
    assert maintainers_status(available, review)[0] == status


def history(number: int, path: str, votes: list[tuple[str, int, float]]) -> ChangeHistory:
    return ChangeHistory(
        number=number,
        created=T0,
        owner=Account(username="zed"),
        uploader=Account(username="zed"),
        files=(ChangedFile(path),),
        votes=tuple(
            TimedVote(
                Account(email=who) if "@" in who else Account(username=who),
                value,
                T0 + timedelta(days=days),
            )
            for who, value, days in votes
        ),
    )


def test_first_review_and_escalation_are_timed_against_the_sla():
    text = NOVA_OWNERS.read_text().replace("policy:\n", "policy:\n  review_sla: 2d\n", 1)
    ownership = Ownership(load_config(text.encode()))
    histories = [
        history(1, "nova/virt/hyperv/a.py", [("alice", -1, 1), ("alice", 2, 3)]),  # in time
        history(2, "nova/virt/hyperv/b.py", [("zed", 1, 0.5), ("bob@example.org", 2, 3)]),
        history(3, "nova/virt/hyperv/c.py", []),  # still waiting, past the SLA
    ]
    report = review_report(ownership, histories, T0, now=T0 + timedelta(days=5))
    hyperv = next(s for s in report.subsystems if s.name == "hyperv")
    # zed wrote change 2: his vote is no review; bob's on day 3 is its first
    assert hyperv.first_review.seconds == (DAY, 3 * DAY)
    assert hyperv.sla == Sla(2, "d")
    assert hyperv.escalated == 2  # change 2 reviewed late, change 3 never
    data = report_json(report, Scope("nova", "master", 0, 3))
    assert next(s for s in data["subsystems"] if s["subsystem"] == "hyperv")["review_sla"] == "2d"


def test_health_lists_orphaned_paths_bus_factor_one_and_idle_owners():
    reply = json.loads((FIXTURES / "gerrit" / "change-query.json").read_text())
    histories = [change_history(info, "Code-Review") for info in reply]
    report = review_report(NOVA, histories, datetime(2026, 11, 1, tzinfo=UTC))
    away = {"victor": "away until 12 Dec", "wendy": "inactive account", "alice": "on leave"}
    state = health(NOVA, report, away, no_groups)
    by_name = {s.name: s for s in state.subsystems}
    assert by_name["vmware"].orphaned  # victor and wendy
    assert by_name["vmware"].status == ORPHAN
    assert by_name["vmware"].paths == ("nova/virt/vmwareapi/", "nova/tests/unit/virt/vmwareapi/")
    assert by_name["hyperv"].available == ("bob@example.org",)
    assert by_name["hyperv"].bus_factor_one
    assert by_name["virt"].available == ("lena",)
    assert not by_name["root"].orphaned and len(by_name["root"].available) == 3
    assert "vmware" in [s.name for s in state.orphaned]
    assert set(state.idle_owners) == {s.owner for s in report.stale_owners}
    data = health_json(state)
    assert data["orphaned"] == [s.name for s in state.orphaned]
    text = report_text(report, Scope("nova", "master", 0, 2), state)
    assert "paths whose every owner is inactive or away:" in text
    assert "victor: away until 12 Dec" in text


def test_the_html_report_shows_the_health_with_its_chart():
    from owners.views.review import report_html

    reply = json.loads((FIXTURES / "gerrit" / "change-query.json").read_text())
    histories = [change_history(info, "Code-Review") for info in reply]
    report = review_report(NOVA, histories, datetime(2026, 11, 1, tzinfo=UTC))
    state = health(NOVA, report, {"victor": "away <b>", "wendy": "inactive account"}, no_groups)
    page = report_html(report, Scope("nova", "master", 0, 2), state)
    assert "<h2>Ownership health</h2>" in page
    assert page.count("data:image/svg+xml;base64,") == 2
    assert "victor: away &lt;b&gt;" in page  # escaped: a status is anyone's text
