"""Import and check speed: a 50,000-file checkout with a 1,000-line CODEOWNERS.

    python benchmarks/bench_migrate.py [--files N] [--lines N]

Builds a real git checkout in a temporary folder, then times `git ls-files`, the import
(parse CODEOWNERS, write OWNERS.yaml), reading that OWNERS.yaml with the engine, and the
check over every tracked file.  Baselines, same run: a plain `git ls-files` pass, and the
`codeowners` package (PyPI) answering the same files, measured on a sample and scaled
(it tries every line on every file), as the output says.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from owners.engine import Ownership, load_config
from owners.gitrepo import tracked_files
from owners.migrate import FORMATS, compare

EXTS = ["py", "go", "md", "c", "txt"]


def build(root: Path, files: int, lines: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    dirs = [f"top{t}/mod{m}" for t in range(20) for m in range(50)]
    for i in range(files):
        directory = f"{rng.choice(dirs)}/d{rng.randint(0, 9)}"
        (root / directory).mkdir(parents=True, exist_ok=True)
        (root / directory / f"f{i}.{rng.choice(EXTS)}").touch()
    people = [f"dev{i}" for i in range(200)]
    rules = ["* @org/core"]
    while len(rules) < lines - 5:
        rules.append(f"/{rng.choice(dirs)}/ @{rng.choice(people)} @{rng.choice(people)}")
        if rng.random() < 0.3:
            rules.append(f"/{rng.choice(dirs)}/d{rng.randint(0, 9)}/*.py @{rng.choice(people)}")
    rules += ["*.md @org/docs", "**/d3/*.go @gophers", "/top1/ @t1", "*.txt", "/top2/mod7/d1/"]
    (root / "CODEOWNERS").write_text("\n".join(rules[:lines]) + "\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)


def timed(label: str, fn, results: dict):
    start = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - start
    print(f"{label:<34} {results[label] * 1000:9.0f} ms")
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.files, args.lines)
        text = (root / "CODEOWNERS").read_text()
        print(f"{args.files} files, {len(text.splitlines())} CODEOWNERS lines")
        r: dict[str, float] = {}
        tree = timed("git ls-files (baseline)", lambda: tracked_files(root), r)
        read = {"CODEOWNERS": text}.get
        imported = timed(
            "import (parse + write)", lambda: FORMATS["codeowners"](read, tree, None, ()), r
        )
        ownership = timed(
            "engine reads OWNERS.yaml", lambda: Ownership(load_config(imported.config)), r
        )
        diffs = timed(
            "check every file", lambda: list(compare(ownership, imported.answer, tree)), r
        )
        total = r["import (parse + write)"] + r["engine reads OWNERS.yaml"] + r["check every file"]
        print(f"{'import + check':<34} {total * 1000:9.0f} ms  ({len(diffs)} differences)")
        print(
            f"OWNERS.yaml: {len(imported.config) / 1024:.0f} KiB, "
            f"{imported.config.count('- name:')} subsystems"
        )
        print(f"ratio to git ls-files: {total / r['git ls-files (baseline)']:.1f}x")
        try:
            from codeowners import CodeOwners
        except ImportError:
            print("codeowners package not installed (pip install -e .[bench]): no second baseline")
            return
        sample = random.Random(2).sample(tree, min(2_000, len(tree)))
        owners = CodeOwners(text)
        start = time.perf_counter()
        for path in sample:
            owners.of(path)
        scaled = (time.perf_counter() - start) * len(tree) / len(sample)
        print(
            f"{'codeowners package, all files':<34} {scaled * 1000:9.0f} ms  "
            f"(scaled from {len(sample)})"
        )
        print(f"ratio to the codeowners package: {total / scaled:.2f}x")


if __name__ == "__main__":
    main()
