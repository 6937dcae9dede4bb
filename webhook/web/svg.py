"""Bar charts as inline SVG, drawn on the server from `owners report`'s JSON figures.

No plotting library and no script: the service's `[service]` extra stays as it is, the page
works without JavaScript, and every label is escaped like any other text of the page.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ROW = 22
LABEL_WIDTH = 180
BAR_WIDTH = 420
MAX_ROWS = 40
COLOURS = ("#3b6ea5", "#d08a2c")


def bars(
    title: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    unit: str = "",
) -> Markup:
    """Horizontal bars, one group per row and one bar per series (None draws nothing); at
    most MAX_ROWS rows, the title says how many are left out."""
    shown = list(rows[:MAX_ROWS])
    left_out = len(rows) - len(shown)
    values = [v for _, vs in shown for v in vs if v is not None]
    top = max(values, default=0.0) or 1.0
    group = ROW * max(1, len(series))
    height = 40 + group * len(shown) + 24
    width = LABEL_WIDTH + BAR_WIDTH + 90
    heading = title + (f" (top {len(shown)}; {left_out} more not drawn)" if left_out else "")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(heading)}</title>",
        f'<text x="0" y="16" class="chart-title">{escape(heading)}</text>',
    ]
    for i, name in enumerate(series):
        x = LABEL_WIDTH + i * 160
        out.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{COLOURS[i % 2]}"/>')
        out.append(f'<text x="{x + 14}" y="33" class="legend">{escape(name)}</text>')
    for r, (label, vs) in enumerate(shown):
        y = 40 + r * group
        short = label if len(label) <= 28 else label[:27] + "…"
        out.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + group / 2 + 4:.0f}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        for i, value in enumerate(vs):
            if value is None:
                continue
            w = max(1.0, BAR_WIDTH * value / top)
            by = y + i * ROW + 3
            out.append(
                f'<rect x="{LABEL_WIDTH}" y="{by}" width="{w:.1f}" height="{ROW - 6}" '
                f'fill="{COLOURS[i % 2]}"><title>{escape(label)}: {value:g}{escape(unit)}'
                "</title></rect>"
            )
            out.append(
                f'<text x="{LABEL_WIDTH + w + 4:.1f}" y="{by + ROW - 10}">{value:g}'
                f"{escape(unit)}</text>"
            )
    if not shown:
        out.append(f'<text x="{LABEL_WIDTH}" y="56">nothing in this window</text>')
    out.append("</svg>")
    return Markup("".join(out))


UNITS = ((86400.0, " d"), (3600.0, " h"), (60.0, " min"), (1.0, " s"))


def time_unit(seconds: list[float | None]) -> tuple[float, str]:
    """The largest unit in which the longest wait is at least 2: days, hours, minutes, s."""
    top = max((s for s in seconds if s is not None), default=0.0)
    return next(((size, name) for size, name in UNITS if top >= 2 * size), UNITS[-1])


def scaled(seconds: float | None, size: float) -> float | None:
    return None if seconds is None else round(seconds / size, 1)
