"""Charts drawn with matplotlib (the `plot` extra): the `--plot` option's type, a figure
with a one-line error when matplotlib is missing, and the `owners stats` chart."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from owners.console import MissingExtra
from owners.insight.history import RangeStats

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("png", "svg")
MAX_BARS = 30


class ChartPath(click.ParamType):
    """A file to draw a chart in; its suffix (.png or .svg) is the format."""

    name = "FILE.png|FILE.svg"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        if kind(path) not in FORMATS:
            self.fail(f"'{value}' must end in .png or .svg (the chart's format)", param, ctx)
        return path


def kind(path: Path) -> str:
    return path.suffix.lstrip(".").lower()


def figure(**options: Any) -> Figure:
    """A figure of its own (no pyplot state, no display), or a one-line error."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtra("plot") from None
    return Figure(**options)


def encoded(chart: Figure, chart_kind: str) -> bytes:
    buffer = io.BytesIO()
    chart.savefig(buffer, format=chart_kind, bbox_inches="tight")
    return buffer.getvalue()


def stats_chart(results: Sequence[RangeStats], source: str, chart_kind: str) -> bytes:
    """Horizontal bars, one group per figure and one bar per range: the busiest subsystems
    (at most MAX_BARS, and the title says how many are left out), root-only and cross work."""
    totals = {name: sum(r.subsystems[name] for r in results) for name in results[0].subsystems}
    busiest = sorted(totals, key=lambda name: -totals[name])[:MAX_BARS]
    rows = [
        *((name, [r.subsystems[name] for r in results]) for name in busiest),
        ("root-only paths", [r.root_only for r in results]),
        ("2+ requirements", [r.cross for r in results]),
    ]
    height = 0.8 / len(results)
    chart = figure(figsize=(9, 1.5 + 0.3 * len(rows) * max(1, len(results) / 2)))
    axes = chart.add_subplot()
    for i, r in enumerate(results):
        positions = [row + i * height for row in range(len(rows))]
        axes.barh(positions, [counts[i] for _, counts in rows], height=height, label=r.revrange)
    axes.set_yticks([row + (len(results) - 1) * height / 2 for row in range(len(rows))])
    axes.set_yticklabels([name for name, _ in rows])
    axes.invert_yaxis()
    axes.set_xlabel("commits (no merges)")
    left_out = len(totals) - len(busiest)
    title = f"Commits per subsystem; map: {source}"
    if left_out:
        title += f"\n{left_out} quieter subsystems not shown"
    axes.set_title(title, fontsize=10)
    axes.legend(title="range", fontsize=8)
    return encoded(chart, chart_kind)
