"""Migration: `owners import --from codeowners` and its `--check` over a whole checkout.

A generated checkout of 50,000 files (5,000 with --quick) and a CODEOWNERS of 1,000 lines
(200): folder lines, `*.py` lines inside folders, a late `*.md` and `**/d3/*.go` that every
earlier line must give way to, a line without owners.  Timed: the import (parse, write
OWNERS.yaml), the engine reading that file, and the check comparing every tracked file's
answer under GitHub's rules with the engine's.  Beside them, in the same run: `git ls-files`
(the floor: the list any check must read), and the `codeowners` package from PyPI answering
the same files (timed on a sample and scaled, ¹).  A difference fails the run.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from codeowners import CodeOwners

from benchmarks.stats import Measure, Report, Table, compared, repeat
from owners.engine import Ownership, load_config
from owners.gitrepo import tracked_files
from owners.migrate import FORMATS, compare

TITLE = "6. Migration: owners import and --check against the codeowners package"
EXTS = ["py", "go", "md", "c", "txt"]
SAMPLE = 2_000


def build(root: Path, files: int, lines: int, seed: int = 1) -> str:
    """Write the checkout and its CODEOWNERS at `root`; return the CODEOWNERS text."""
    rng = random.Random(seed)
    dirs = [f"top{t}/mod{m}" for t in range(20) for m in range(50)]
    for i in range(files):
        directory = root / f"{rng.choice(dirs)}/d{rng.randint(0, 9)}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"f{i}.{rng.choice(EXTS)}").touch()
    people = [f"dev{i}" for i in range(200)]
    rules = ["* @org/core"]
    while len(rules) < lines - 5:
        rules.append(f"/{rng.choice(dirs)}/ @{rng.choice(people)} @{rng.choice(people)}")
        if rng.random() < 0.3:
            rules.append(f"/{rng.choice(dirs)}/d{rng.randint(0, 9)}/*.py @{rng.choice(people)}")
    rules += ["*.md @org/docs", "**/d3/*.go @gophers", "/top1/ @t1", "*.txt", "/top2/mod7/d1/"]
    text = "\n".join(rules[:lines]) + "\n"
    (root / "CODEOWNERS").write_text(text)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)
    return text


def run(quick: bool) -> Report:
    files, lines, repeats = (5_000, 200, 3) if quick else (50_000, 1_000, 5)
    report = Report("migration", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as scratch:
        root = Path(scratch)
        text = build(root, files, lines)
        tree = tracked_files(root)
        floor = repeat(lambda: tracked_files(root), repeats)
        imported = FORMATS["codeowners"]({"CODEOWNERS": text}.get, tree, None, ())
        ownership = Ownership(load_config(imported.config))
        differences = list(compare(ownership, imported.answer, tree))
        if differences:
            report.errors.append(f"import --check: {len(differences)} differences, e.g. "
                                 f"{differences[0]}")  # fmt: skip
        importing = repeat(
            lambda: FORMATS["codeowners"]({"CODEOWNERS": text}.get, tree, None, ()), repeats
        )
        reading = repeat(lambda: Ownership(load_config(imported.config)), repeats)
        checking = repeat(
            lambda: list(compare(Ownership(load_config(imported.config)), imported.answer, tree)),
            repeats,
        )
        peer = _codeowners(text, tree, repeats)
    table = Table(
        f"{files:,} files, {lines:,} CODEOWNERS lines -> {imported.config.count('- name:'):,} "
        f"subsystems, {len(differences)} differences",
        ("step", "time"),
    )
    table.add("git ls-files (floor)", floor)
    table.add("codeowners package answers every file (peer)", peer)
    table.add("import (parse CODEOWNERS, write OWNERS.yaml)", importing)
    table.add("engine reads the OWNERS.yaml", reading)
    table.add("--check: read OWNERS.yaml, compare every file", compared(checking, peer))
    report.tables.append(table)
    return report


def _codeowners(text: str, tree: list[str], repeats: int) -> Measure:
    sample = random.Random(2).sample(tree, min(SAMPLE, len(tree)))
    values = []
    for _ in range(repeats):
        owners = CodeOwners(text)
        start = time.perf_counter()
        for path in sample:
            owners.of(path)
        values.append(time.perf_counter() - start)
    return Measure(tuple(values), scale=len(tree) / len(sample))
