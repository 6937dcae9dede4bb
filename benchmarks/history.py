"""History: `owners stats` over a long history, beside one `git log --name-only` pass.

A repository of 50,000 commits (2,000 with --quick) is written with `git fast-import`: an
OWNERS.yaml giving a few subsystems their folders, and commits by a dozen authors touching one
to three files each.  The floor is one `git log --name-only` over the same range: what any
history statistic has to read.  `owners stats` runs as `STATS` in the repository's folder; a
build without the command reports this benchmark as not available.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.stats import Measure, Report, Table, compared, spread
from owners.cli import cli

TITLE = "5. History: owners stats against one git log pass"
STATS = [sys.executable, "-m", "owners.cli", "stats"]
FOLDERS = ["nova/compute", "nova/virt/hyperv", "nova/virt/libvirt", "nova/api", "doc/source"]
AUTHORS = [f"dev{i}" for i in range(12)]
GOAL_RATIO = 2.0


def run(quick: bool) -> Report:
    if "stats" not in cli.commands:
        return Report("history", TITLE, skipped="`owners stats` does not exist in this build")
    commits, repeats = (2_000, 2) if quick else (50_000, 3)
    report = Report("history", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    with tempfile.TemporaryDirectory(prefix="bench-history-") as scratch:
        repo = Path(scratch)
        write_history(repo, commits)
        tried = subprocess.run(STATS, cwd=repo, capture_output=True, text=True, check=False)
        if tried.returncode != 0:
            lines = (tried.stderr or tried.stdout).strip().splitlines() or ["no output"]
            return Report("history", TITLE, skipped=f"`owners stats` failed: {lines[-1]}")
        floor = _time(["git", "log", "--name-only", "--format=%H %ae %at"], repo, repeats)
        stats = _time(STATS, repo, repeats)
    table = Table(f"{commits:,} commits", ("command", "time"))
    table.add("git log --name-only (floor)", floor)
    table.add(" ".join(["owners", *STATS[3:]]), compared(stats, floor))
    report.tables.append(table)
    slower = stats.median / floor.median
    report.goal(
        f"within {GOAL_RATIO:g}x of the floor",
        f"x{slower:.2f}",
        slower <= GOAL_RATIO,
        gap=f"x{slower / GOAL_RATIO:.2f} over the allowance",
        limit="resolving each commit's files in Python beside git's own reading",
    )
    return report


def write_history(repo: Path, commits: int, seed: int = 5) -> None:
    """A git repository at `repo` with `commits` commits on master, via one fast-import."""
    rng = random.Random(seed)
    owners = ["version: 1", "root:", "  owners: [core]", "subsystems:"]
    owners += [f"  - name: s{i}\n    paths: [{f}/]\n    owners: [lead{i}]" for i, f in
               enumerate(FOLDERS)]  # fmt: skip
    files = [f"{rng.choice(FOLDERS)}/f{i}.py" for i in range(2_000)]
    stream: list[bytes] = []
    for n in range(commits):
        who = rng.choice(AUTHORS)
        message = f"change {n}".encode()
        stream.append(
            f"commit refs/heads/master\ncommitter {who} <{who}@example.org> "
            f"{1_600_000_000 + n * 60} +0000\ndata {len(message)}\n".encode()
            + message
            + b"\n"
        )
        touched = {"OWNERS.yaml": "\n".join(owners) + "\n"} if n == 0 else {}
        for path in rng.sample(files, rng.randint(1, 3)):
            touched[path] = f"# {n}\n"
        for path, text in touched.items():
            data = text.encode()
            stream.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    subprocess.run(["git", "init", "--quiet", "-b", "master", str(repo)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)
    subprocess.run(["git", "checkout", "--quiet", "master"], cwd=repo, check=True)


def _time(command: list[str], cwd: Path, repeats: int) -> Measure:
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
        values.append(time.perf_counter() - start)
    return spread(values)
