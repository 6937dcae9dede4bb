"""`owners report` without Gerrit: the window, the one-line errors, and the renderings of a
report computed from the recorded query reply (the e2e test runs it against a real Gerrit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from owners.cli.report import parse_since
from owners.engine import Ownership, load_config
from owners.gerrit.model import change_history
from owners.insight.review import ReviewReport, review_report
from owners.views.review import (
    Scope,
    duration,
    plot_bytes,
    report_html,
    report_json,
    report_text,
)
from tests.conftest import FIXTURES, NOVA_OWNERS, one_line_error

NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", datetime(2024, 12, 31, 12, 0, tzinfo=UTC)),
        ("2w", datetime(2025, 3, 17, 12, 0, tzinfo=UTC)),
        ("6h", datetime(2025, 3, 31, 6, 0, tzinfo=UTC)),
        ("2025-01-31", datetime(2025, 1, 31, tzinfo=UTC)),
        ("2025-01-31T10:00:00+02:00", datetime(2025, 1, 31, 8, 0, tzinfo=UTC)),
    ],
)
def test_since_is_an_age_or_an_iso_date(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["90", "3m", "yesterday", "2025-13-01", "2026-01-01"])
def test_a_bad_since_is_refused(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_since(text, NOW)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URL", "USER", "PASSWORD", "PASSWORD_FILE"):
        monkeypatch.delenv(f"OWNERS_GERRIT_{name}", raising=False)


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["report", "--project", "nova"], 1, "OWNERS_GERRIT_URL is required"),
        (["report", "--project", "nova", "--since", "soon"], 2, "--since"),
        (["report", "--project", "nova", "--plot", "chart.pdf"], 2, ".png or .svg"),
        (["report", "--project", "nova", "--page-size", "0"], 2, "--page-size"),
        (["report"], 2, "--project"),
    ],
)
def test_errors_are_one_line(owners, env, args: list[str], code: int, text: str) -> None:
    one_line_error(owners(*args), code, text)


@pytest.fixture
def report() -> ReviewReport:
    reply = json.loads((FIXTURES / "gerrit" / "change-query.json").read_text())
    histories = [change_history(info, "Code-Review") for info in reply]
    since = datetime(2026, 11, 1, tzinfo=UTC)
    return review_report(Ownership(load_config(NOVA_OWNERS.read_bytes())), histories, since)


SCOPE = Scope("nova", "master", rest_calls=3, changes_read=2)


def test_json_shape(report: ReviewReport) -> None:
    data = report_json(report, SCOPE)
    assert list(data) == [
        "project", "branch", "since", "changes", "subsystems", "load", "stale_owners",
        "bus_factor_one", "advisory", "unresolved_groups", "gerrit",
    ]  # fmt: skip
    assert data["changes"][0] == {
        "change": 1,
        "subject": "hyperv and compute",
        "created": "2026-11-21T15:59:26+00:00",
        "subsystems": ["root", "hyperv"],
        "verdict": "PENDING",
        "first_approver": "alice",
        "first_root_approver": "carol",
        "enough": False,
    }
    hyperv = next(s for s in data["subsystems"] if s["subsystem"] == "hyperv")
    assert hyperv == {
        "subsystem": "hyperv",
        "mode": "enforce",
        "changes": 1,
        "lieutenant_wait": {"count": 1, "median_seconds": 1.0, "p90_seconds": 1.0},
        "root_wait": {"count": 1, "median_seconds": 2.0, "p90_seconds": 2.0},
        "enough": 0,
        "enough_share": 0.0,
        "approvals": {"alice": 1},
        "bus_factor_one": "one approver: alice approved all 1 change",
        "first_review": {"count": 1, "median_seconds": 1.0, "p90_seconds": 1.0},
        "review_sla": None,
        "escalated": 0,
        "escalated_share": 0.0,
    }
    assert data["advisory"] == [
        {"subsystem": "xenapi", "change": 2, "verdict": "APPROVED", "if_enforced": "APPROVED"}
    ]
    assert data["gerrit"] == {"rest_calls": 3, "changes_read": 2}
    json.dumps(data)  # serializable as it is


def test_text_has_a_table_per_section(report: ReviewReport) -> None:
    text = report_text(report, SCOPE)
    assert text.startswith("nova master: 2 changes uploaded since 2026-11-01T00:00:00+00:00\n")
    for heading in ("review load", "stale owners", "bus factor one", "advisory trials"):
        assert f"\n{heading}" in text
    assert "\nhyperv             1        1s / 1s (n=1)            2s / 2s (n=1)      0/1" in text
    assert "carol 1, dave 1" in text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "-"), (45, "45s"), (720, "12m"), (5 * 3600, "5.0h"), (3 * 86400, "3.0d")],
)
def test_durations(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_html_is_one_page_with_everything_escaped(report: ReviewReport) -> None:
    hostile = Scope("<script>alert(1)</script>", "master", 1, 2)
    page = report_html(report, hostile)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert "http" not in page.replace("http://www.w3.org", "")  # nothing fetched from elsewhere


@pytest.mark.parametrize(("kind", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_plot(report: ReviewReport, kind: str, magic: bytes, tmp_path: Path) -> None:
    assert plot_bytes(report, kind).startswith(magic)
