"""What every benchmark shares: timing over repetitions, and the shape of its results.

These machines are shared and noisy, so a figure is never one run: `repeat` keeps every
repetition and a `Measure` reports min, median and max, and comparisons are ratios between
figures taken in the same run (`ratio`).  A benchmark returns a `Report` (tables of cells and
the goals it checks); `benchmarks.render` turns reports into BENCHMARKS.md.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SECONDS, RATE, COUNT = "s", "/s", ""


@dataclass(frozen=True)
class Measure:
    """One figure over repetitions; `scale` > 1 when it was timed on a sample and scaled."""

    values: tuple[float, ...]
    unit: str = SECONDS
    scale: float = 1.0

    @property
    def min(self) -> float:
        return min(self.values) * self.scale

    @property
    def median(self) -> float:
        return statistics.median(self.values) * self.scale

    @property
    def max(self) -> float:
        return max(self.values) * self.scale

    def quantile(self, q: float) -> float:
        """The q-quantile (0 < q < 1) of the values, inclusive method (p95: 0.95)."""
        if len(self.values) == 1:
            return self.values[0] * self.scale
        cuts = statistics.quantiles(self.values, n=100, method="inclusive")
        return cuts[round(q * 100) - 1] * self.scale

    def __str__(self) -> str:
        low, mid, high = (fmt(v, self.unit) for v in (self.min, self.median, self.max))
        spread = f"{mid} ({low} - {high})" if len(self.values) > 1 else mid
        return spread + ("¹" if self.scale != 1 else "")


def fmt(value: float, unit: str) -> str:
    """A value with a readable unit: seconds as µs/ms/s, rates and counts with separators."""
    if unit == SECONDS and value < 0:  # a difference: the unit its size calls for
        return "-" + fmt(-value, unit)
    if unit == SECONDS:
        if value < 1e-3:
            return f"{value * 1e6:.0f} µs"
        if value < 1:
            return f"{value * 1e3:.3g} ms" if value < 0.1 else f"{value * 1e3:.0f} ms"
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == RATE:
        return f"{value:,.0f}/s"
    return f"{value:,.3g}" if value != int(value) else f"{int(value):,}"


def repeat(
    fn: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None
) -> Measure:
    """Seconds per call of `fn` over `repeats` calls; `setup` runs untimed before each."""
    values = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        values.append(time.perf_counter() - start)
    return Measure(tuple(values))


def ratio(measure: Measure, baseline: Measure) -> str:
    """How many times the baseline's median a figure's median is, e.g. 'x3.2'."""
    if baseline.median == 0:
        return "n/a"
    value = measure.median / baseline.median
    return f"x{value:.2f}" if value < 10 else f"x{value:,.0f}"


def compared(measure: Measure, baseline: Measure) -> str:
    """A figure followed by its ratio to the same run's baseline."""
    return f"{measure} = {ratio(measure, baseline)}"


Cell = str | int | float | Measure


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)

    def add(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(cells)


@dataclass(frozen=True)
class Goal:
    """A target from the issue, what was measured against it, and why it is missed."""

    target: str
    measured: str
    met: bool
    gap: str = ""  # how far off, when not met
    limit: str = ""  # what limits it, when not met


@dataclass
class Report:
    name: str
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    skipped: str = ""  # why the benchmark did not run (then tables and goals are empty)
    errors: list[str] = field(default_factory=list)  # wrong answers: the run fails

    def goal(
        self, target: str, measured: str, met: bool, *, gap: str = "", limit: str = ""
    ) -> None:
        self.goals.append(Goal(target, measured, met, "" if met else gap, "" if met else limit))


def spread(values: Sequence[float], unit: str = SECONDS) -> Measure:
    """A Measure of values gathered otherwise than by `repeat` (latencies, rates)."""
    return Measure(tuple(values), unit)
