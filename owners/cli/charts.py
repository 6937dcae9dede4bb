"""Charts drawn with matplotlib (the `plot` extra), imported only when one is asked for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from owners.cli.base import CliError
from owners.insight.history import RangeStats

MAX_BARS = 30


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise CliError("charts need matplotlib: pip install 'gerrit-owners[plot]'") from None
    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    return plt


def save(figure: object, path: Path) -> None:
    try:
        figure.savefig(path, bbox_inches="tight")  # type: ignore[attr-defined]
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None


def stats_chart(results: Sequence[RangeStats], source: str, path: Path) -> None:
    """Horizontal bars, one group per figure and one bar per range: the busiest subsystems
    (at most MAX_BARS, named in the title when some are left out), root-only and cross work."""
    plt = _pyplot()
    totals = {name: sum(r.subsystems[name] for r in results) for name in results[0].subsystems}
    busiest = sorted(totals, key=lambda name: -totals[name])[:MAX_BARS]
    rows = [
        *((name, [r.subsystems[name] for r in results]) for name in busiest),
        ("root-only paths", [r.root_only for r in results]),
        ("2+ requirements", [r.cross for r in results]),
    ]
    height = 0.8 / len(results)
    figure, axes = plt.subplots(figsize=(9, 1.5 + 0.3 * len(rows) * max(1, len(results) / 2)))
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
    save(figure, path)
    plt.close(figure)
