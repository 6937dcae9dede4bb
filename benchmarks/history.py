"""History: `owners stats` over a long history, beside one `git log --name-only` pass.

The slot is registered and reports "not available" until the `stats` command exists; the
measurement goes in `_measure`.
"""

from __future__ import annotations

from benchmarks.stats import Report
from owners.cli import cli

TITLE = "5. History: owners stats against one git log pass"


def available() -> str:
    """Why the benchmark cannot run, or "" when it can."""
    if "stats" not in cli.commands:
        return "`owners stats` does not exist in this build"
    return ""


def run(quick: bool) -> Report:
    missing = available()
    if missing:
        return Report("history", TITLE, skipped=missing)
    return _measure(quick)


def _measure(quick: bool) -> Report:
    """Build a repository of 50,000 commits (fewer with `quick`), time `owners stats` over it
    and `git log --name-only` over the same range, and report the ratio (goal: within 2x)."""
    raise NotImplementedError("owners stats exists: write its measurement here")
