"""What `owners report` prints and writes: the stable JSON shape, text tables, one
self-contained HTML page and a chart of the waits, all from a computed `ReviewReport`."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from owners.engine import Mode
from owners.insight.health import Health
from owners.insight.review import ReviewReport, SubsystemReview, Waits
from owners.views import charts
from owners.views.render import Json, table
from owners.wording import plural


@dataclass(frozen=True)
class Scope:
    """What the report is about and what it cost to read."""

    project: str
    branch: str
    rest_calls: int
    changes_read: int


def report_json(report: ReviewReport, scope: Scope, health: Health | None = None) -> Json:
    return {
        "project": scope.project,
        "branch": scope.branch,
        "since": _time(report.since),
        "changes": [
            {
                "change": c.number,
                "subject": c.subject,
                "created": _time(c.created),
                "subsystems": list(c.subsystems),
                "verdict": str(c.verdict),
                "first_approver": c.first_approver,
                "first_root_approver": c.first_root_approver,
                "enough": c.enough,
            }
            for c in report.changes
        ],
        "subsystems": [
            {
                "subsystem": s.name,
                "mode": str(s.mode),
                "changes": s.changes,
                "lieutenant_wait": _waits_json(s.lieutenant_wait),
                "root_wait": _waits_json(s.root_wait),
                "enough": s.enough,
                "enough_share": s.enough_share,
                "approvals": s.approvals,
                "bus_factor_one": s.bus_factor_one,
                "first_review": _waits_json(s.first_review),
                "review_sla": str(s.sla) if s.sla else None,
                "escalated": s.escalated,
                "escalated_share": s.escalated_share,
            }
            for s in report.subsystems
        ],
        "load": [
            {"person": p.person, "approvals": p.approvals, "owns": list(p.owns)}
            for p in report.load
        ],
        "stale_owners": [
            {"owner": s.owner, "subsystems": list(s.subsystems)} for s in report.stale_owners
        ],
        "bus_factor_one": [
            {"subsystem": s.name, "reason": s.bus_factor_one} for s in report.bus_factor_one
        ],
        "advisory": [
            {
                "subsystem": a.subsystem,
                "change": a.number,
                "verdict": str(a.verdict),
                "if_enforced": str(a.if_enforced),
            }
            for a in report.advisory
        ],
        "unresolved_groups": list(report.unresolved_groups),
        "gerrit": {"rest_calls": scope.rest_calls, "changes_read": scope.changes_read},
        **({"health": health_json(health)} if health is not None else {}),
    }


def health_json(health: Health) -> Json:
    return {
        "subsystems": [
            {
                "subsystem": s.name,
                "status": s.status,
                "why": s.why,
                "paths": list(s.paths),
                "available": list(s.available),
                "unavailable": s.unavailable,
            }
            for s in health.subsystems
        ],
        "orphaned": [s.name for s in health.orphaned],
        "bus_factor_one": [s.name for s in health.bus_factor_one],
        "idle_owners": list(health.idle_owners),
    }


HEALTH_HEADER = ("subsystem", "status", "why", "first review median / p90", "SLA", "escalated")


def health_rows(health: Health, report: ReviewReport) -> list[tuple[str, ...]]:
    """One row per subsystem, for the text table and the HTML page alike."""
    reviews = {s.name: s for s in report.subsystems}
    rows = []
    for s in health.subsystems:
        review = reviews.get(s.name)
        rows.append(
            (
                s.name,
                s.status,
                s.why,
                _waits(review.first_review) if review else "-",
                str(review.sla) if review and review.sla else "-",
                f"{review.escalated}/{review.changes}" if review and review.changes else "-",
            )
        )
    return rows


def health_text(health: Health, report: ReviewReport) -> str:
    """The ownership health: suggested MAINTAINERS status, who is away, first reviews
    against each SLA."""
    rows = [HEALTH_HEADER, *health_rows(health, report)]
    orphaned = [
        ("", s.name, ", ".join(s.paths) or "(everything else)",
         "; ".join(f"{p}: {why}" for p, why in s.unavailable.items()))
        for s in health.orphaned
    ]  # fmt: skip
    lines = [
        "ownership health (suggested MAINTAINERS status):",
        table(rows),
        "",
        "paths whose every owner is inactive or away:",
        table(orphaned) or "  none",
        "",
        "one owner able to review (bus factor one):",
        table([("", s.name, s.available[0]) for s in health.bus_factor_one]) or "  none",
        "",
        "owners with no review in the window:",
        "  " + (", ".join(health.idle_owners) or "none"),
    ]
    return "\n".join(lines)


def _waits_json(waits: Waits) -> Json:
    return {"count": waits.count, "median_seconds": waits.median, "p90_seconds": waits.p90}


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def duration(seconds: float | None) -> str:
    """A wait as people read it: 45s, 12m, 5.2h, 3.4d; '-' when there is none."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _waits(waits: Waits) -> str:
    if not waits.count:
        return "-"
    return f"{duration(waits.median)} / {duration(waits.p90)} (n={waits.count})"


def _enough(sub: SubsystemReview) -> str:
    return f"{sub.enough}/{sub.changes}" if sub.changes else "-"


def _mode(sub: SubsystemReview) -> str:
    return "" if sub.mode is Mode.ENFORCE else " (advisory)"


def subsystem_rows(report: ReviewReport) -> list[tuple[str, ...]]:
    """One row per subsystem, for the text table and the HTML page alike."""
    return [
        (
            f"{s.name}{_mode(s)}",
            str(s.changes),
            _waits(s.lieutenant_wait),
            _waits(s.root_wait),
            _enough(s),
            ", ".join(f"{who} {n}" for who, n in s.approvals.items()) or "-",
        )
        for s in report.subsystems
    ]


SUBSYSTEM_HEADER = (
    "subsystem",
    "changes",
    "lieutenant median / p90",
    "root median / p90",
    "enough",
    "approvals",
)


def report_text(report: ReviewReport, scope: Scope, health: Health | None = None) -> str:
    count = len(report.changes)
    lines = [
        f"{scope.project} {scope.branch}: {count} {plural(count, 'change')} uploaded since "
        f"{_time(report.since)}",
        "",
        table([SUBSYSTEM_HEADER, *subsystem_rows(report)]),
        "",
        "review load (changes approved):",
        table([("", p.person, str(p.approvals), ", ".join(p.owns)) for p in report.load])
        or "  none",
        "",
        "stale owners (no approval in the window):",
        table([("", s.owner, ", ".join(s.subsystems)) for s in report.stale_owners]) or "  none",
        "",
        "bus factor one:",
        table([("", s.name, s.bus_factor_one or "") for s in report.bus_factor_one]) or "  none",
    ]
    if report.advisory:
        lines += [
            "",
            "advisory trials (verdict cast, had it been enforced):",
            table(
                [
                    ("", a.subsystem, f"change {a.number}", str(a.verdict), str(a.if_enforced))
                    for a in report.advisory
                ]
            ),
        ]
    if health is not None:
        lines += ["", health_text(health, report)]
    if report.unresolved_groups:
        lines += ["", "groups Gerrit did not resolve: " + ", ".join(report.unresolved_groups)]
    return "\n".join(lines)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Review report: {{ scope.project }} {{ scope.branch }}</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f0f0f0; }
</style></head><body>
<h1>Review report: {{ scope.project }} {{ scope.branch }}</h1>
<p>{{ report.changes | length }} changes uploaded since {{ since }}.</p>
<h2>Subsystems</h2>
<table><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% if chart %}<img alt="wait times per subsystem" src="data:image/svg+xml;base64,{{ chart }}">
{% endif %}
{% if health %}<h2>Ownership health</h2>
<table><tr>{% for h in health_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in health_rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
<img alt="time to the first owner review per subsystem"
 src="data:image/svg+xml;base64,{{ health_chart }}">
<h3>Paths whose every owner is inactive or away</h3>
<ul>{% for s in health.orphaned %}<li>{{ s.name }}:
{{ s.paths | join(", ") or "(everything else)" }}
({% for p, why in s.unavailable.items() %}{{ p }}: {{ why }}{% if not loop.last %}; {% endif %}
{% endfor %})</li>
{% else %}<li>none</li>{% endfor %}</ul>
<h3>One owner able to review</h3>
<ul>{% for s in health.bus_factor_one %}<li>{{ s.name }}: {{ s.available[0] }}</li>
{% else %}<li>none</li>{% endfor %}</ul>
{% endif %}
<h2>Review load</h2>
<table><tr><th>person</th><th>changes approved</th><th>owns</th></tr>
{% for p in report.load %}<tr><td>{{ p.person }}</td><td>{{ p.approvals }}</td>
<td>{{ p.owns | join(", ") }}</td></tr>
{% endfor %}</table>
<h2>Stale owners</h2>
<table><tr><th>owner</th><th>subsystems</th></tr>
{% for s in report.stale_owners %}<tr><td>{{ s.owner }}</td>
<td>{{ s.subsystems | join(", ") }}</td></tr>
{% endfor %}</table>
<h2>Bus factor one</h2>
<table><tr><th>subsystem</th><th>why</th></tr>
{% for s in report.bus_factor_one %}<tr><td>{{ s.name }}</td><td>{{ s.bus_factor_one }}</td></tr>
{% endfor %}</table>
{% if report.advisory %}<h2>Advisory trials</h2>
<table><tr><th>subsystem</th><th>change</th><th>verdict cast</th><th>had it been enforced</th></tr>
{% for a in report.advisory %}<tr><td>{{ a.subsystem }}</td><td>{{ a.number }}</td>
<td>{{ a.verdict }}</td><td>{{ a.if_enforced }}</td></tr>
{% endfor %}</table>{% endif %}
<h2>Changes</h2>
<table><tr><th>change</th><th>subject</th><th>subsystems</th><th>verdict</th>
<th>first approver</th><th>first root approver</th><th>lieutenants enough</th></tr>
{% for c in report.changes %}<tr><td>{{ c.number }}</td><td>{{ c.subject }}</td>
<td>{{ c.subsystems | join(", ") }}</td><td>{{ c.verdict }}</td>
<td>{{ c.first_approver or "-" }}</td><td>{{ c.first_root_approver or "-" }}</td>
<td>{{ "yes" if c.enough else "no" }}</td></tr>
{% endfor %}</table>
</body></html>
"""


def report_html(report: ReviewReport, scope: Scope, health: Health | None = None) -> str:
    """One page, every value HTML-escaped (names and subjects come from users); the chart is
    inlined as an SVG data URL so the page needs nothing else."""
    from jinja2 import Environment

    template = Environment(autoescape=True).from_string(_PAGE)
    chart = base64.b64encode(plot_bytes(report, "svg")).decode("ascii")
    return template.render(
        report=report,
        scope=scope,
        since=_time(report.since),
        header=SUBSYSTEM_HEADER,
        rows=subsystem_rows(report),
        chart=chart,
        health=health,
        health_header=HEALTH_HEADER,
        health_rows=health_rows(health, report) if health else [],
        health_chart=base64.b64encode(health_plot_bytes(report, "svg")).decode("ascii"),
    )


def health_plot_bytes(report: ReviewReport, kind: str) -> bytes:
    """Bars of the time to the first owner review in hours per subsystem (median, p90),
    each with its SLA as a mark."""
    shown = [s for s in report.subsystems if s.first_review.count]
    chart, axes = _hours_chart(
        len(shown), 1.0, "Time from upload to the first owner review", "no owner review"
    )
    places = range(len(shown))
    for offset, quantile, colour in ((-0.2, "median", "tab:blue"), (0.2, "p90", "tab:orange")):
        values = [(getattr(s.first_review, quantile) or 0) / 3600 for s in shown]
        axes.bar([i + offset for i in places], values, 0.4, color=colour, label=quantile)
    slas = [(i, s.sla.shortest.total_seconds() / 3600) for i, s in enumerate(shown) if s.sla]
    if slas:
        axes.scatter([i for i, _ in slas], [h for _, h in slas], marker="_", s=600,
                     color="black", label="review_sla", zorder=3)  # fmt: skip
    axes.set_xticks(list(places), [s.name for s in shown])
    if shown:
        axes.legend(loc="upper left")
    return charts.encoded(chart, kind)


def plot_bytes(report: ReviewReport, kind: str) -> bytes:
    """Box plots of the waits in hours, per subsystem, lieutenants' beside the core team's."""
    shown = [s for s in report.subsystems if s.lieutenant_wait.count or s.root_wait.count]
    chart, axes = _hours_chart(
        len(shown), 1.2, "Wait from upload to first approval", "no approvals"
    )
    for offset, attribute, colour, label in (
        (-0.2, "lieutenant_wait", "tab:blue", "first lieutenant approval"),
        (0.2, "root_wait", "tab:orange", "first root approval"),
    ):
        data = [[x / 3600 for x in getattr(s, attribute).seconds] for s in shown]
        positions = [i + offset for i, values in enumerate(data) if values]
        if positions:
            boxes = axes.boxplot(
                [values for values in data if values],
                positions=positions,
                widths=0.35,
                patch_artist=True,
                manage_ticks=False,
            )
            for box in boxes["boxes"]:
                box.set_facecolor(colour)
            boxes["boxes"][0].set_label(label)
    axes.set_xticks(range(len(shown)), [s.name for s in shown])
    if shown:
        axes.legend(loc="upper left")
    return charts.encoded(chart, kind)


def _hours_chart(columns: int, width: float, title: str, nothing: str) -> tuple[Any, Any]:
    """A figure `width` inches per subsystem column wide, with one axes in hours; `nothing`
    (in the window) is written across it when there are no columns."""
    chart = charts.figure(figsize=(max(6.0, width * columns + 2), 4.5), layout="constrained")
    axes = chart.add_subplot()
    axes.set_title(title)
    axes.set_ylabel("hours")
    if not columns:
        axes.text(0.5, 0.5, f"{nothing} in the window", ha="center", transform=axes.transAxes)
    return chart, axes
