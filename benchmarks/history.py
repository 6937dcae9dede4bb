"""History: `owners stats` over a long history, beside one `git log --name-only` pass.

The repository is the scripted Nova-shaped history of deploy/novahistory.py: 50,000 commits
(2,000 with --quick) over eight release cycles, with merge commits and an OWNERS.yaml of six
subsystems.  The floor is what any history statistic has to read: one `git log --no-merges
--name-only` pass over the same range.  Both run as processes, so `owners stats` pays for its
start-up, its OWNERS.yaml and writing its table too.  Two shapes: the whole history as one
range, and one range per release (eight passes of each).  `--waits` reads the merges too
and works out when each commit landed, in the same pass.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.stats import Measure, Report, Table, compared, spread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))
import novahistory

TITLE = "5. History: owners stats against one git log pass"
STATS = [sys.executable, "-m", "owners.cli", "stats"]
GIT_LOG = ["git", "log", "--no-merges", "--name-only", "--format=%H"]
GOAL_RATIO = 2.0


def run(quick: bool) -> Report:
    commits, repeats = (2_000, 2) if quick else (50_000, 5)
    report = Report("history", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    table = Table(
        f"{commits:,} commits",
        ("ranges", "git log (floor)", "owners stats", "owners stats --waits"),
    )
    with tempfile.TemporaryDirectory(prefix="bench-history-") as scratch:
        repo = Path(scratch) / "nova"
        releases = novahistory.build(repo, commits)
        whole = f"{releases[0].split('..')[0]}..{releases[-1].split('..')[1]}"
        worst = 0.0
        for label, ranges in (("whole history, 1 range", [whole]), ("per release", releases)):
            floor = _time([[*GIT_LOG, r] for r in ranges], repo, repeats)
            stats = _time([[*STATS, *ranges]], repo, repeats)
            waits = _time([[*STATS, "--waits", *ranges]], repo, repeats)
            table.add(
                f"{label} ({len(ranges)})", floor, compared(stats, floor), compared(waits, floor)
            )
            worst = max(worst, stats.median / floor.median, waits.median / floor.median)
    report.tables.append(table)
    report.goal(
        f"within {GOAL_RATIO:g}x of the floor",
        f"x{worst:.2f} (the worst of the two shapes, with and without --waits)",
        worst <= GOAL_RATIO,
        gap=f"x{worst / GOAL_RATIO:.2f} over the allowance",
        limit="resolving each commit's files in Python beside git's own reading",
    )
    return report


def _time(commands: list[list[str]], cwd: Path, repeats: int) -> Measure:
    """Seconds to run `commands` one after the other, over `repeats` tries."""
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        for command in commands:
            subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
        values.append(time.perf_counter() - start)
    return spread(values)
