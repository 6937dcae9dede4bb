"""Engine speed against its targets, with the naive matcher as the same-run baseline.

    python benchmarks/bench_engine.py [--quick]

Targets (issue 2, on the 2-core CI machine):
  resolve  1,000 changed files against 5,000 subsystems   <= 20 ms
  coverage a 400,000-file tree with 10,000 patterns       <= 5 s

The naive matcher tries every pattern on every path; running it over the whole input would
take minutes, so it runs on a fixed sample and is scaled to the full input, which the output
says.  Ratios, not absolute times, are what compare across noisy shared machines.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from owners.engine import Change, Ownership, evaluate, load_config
from owners.engine.coverage import coverage
from owners.engine.patterns import NaiveMatcher

EXTS = ["py", "c", "h", "go", "rst", "yaml", "json", "txt", "sh", "cfg"]


def synthetic_tree(files: int, seed: int = 1) -> list[str]:
    """A deep, uneven tree like a large monorepo: ten files per leaf directory."""
    rng = random.Random(seed)
    paths = []
    leaf = 0
    while len(paths) < files:
        depth = rng.randint(2, 6)
        parts = [f"top{leaf % 20}", f"mod{leaf % 700}"] + [
            f"d{rng.randint(0, 30)}" for _ in range(depth - 2)
        ]
        directory = "/".join(parts)
        for k in range(10):
            paths.append(f"{directory}/file{k}.{EXTS[(leaf + k) % len(EXTS)]}")
        leaf += 1
    return paths[:files]


def synthetic_config(subsystems: int, patterns: int, tree: list[str], seed: int = 2) -> str:
    """OWNERS.yaml text with a realistic mix of pattern kinds, parents and groups.

    Per pattern: 55% anchored directories, 15% anchored extension globs in a directory,
    10% unanchored directory names, 8% per-subsystem file suffixes, 6% anchored file-name
    globs, 6% direct-children globs; one subsystem in ten excludes a file, one in five has
    a parent other than root.
    """
    rng = random.Random(seed)
    dirs = sorted({p.rsplit("/", 1)[0] for p in tree})
    # unanchored directory names are claimed once each, as in real files: a name claimed by
    # dozens of subsystems would make every path under it need dozens of teams
    free_names = sorted({part for d in dirs for part in d.split("/")[1:]})
    rng.shuffle(free_names)
    lines = [
        "version: 1",
        "groups:",
        "  core: [c1, c2, c3]",
        "root:",
        "  owners: [core]",
        "  approvals: 2",
        "subsystems:",
    ]
    per = max(1, patterns // subsystems)
    for i in range(subsystems):
        rules = []
        for _ in range(per):
            kind = rng.random()
            d = rng.choice(dirs)
            if kind < 0.55:
                rules.append(f"{d}/")
            elif kind < 0.70:
                rules.append(f"/{d}/*.{rng.choice(EXTS)}")
            elif kind < 0.80 and free_names:
                rules.append(f"**/{free_names.pop()}/")
            elif kind < 0.88:
                rules.append(f"*_{i}.{rng.choice(EXTS)}")
            elif kind < 0.94:
                rules.append(f"{d}/file{rng.randint(0, 9)}.*")
            else:
                rules.append(f"{d}/*")
        if rng.random() < 0.1:
            rules.append(f"!{rng.choice(dirs)}/file0.py")
        quoted = ", ".join(f'"{r}"' for r in rules)
        parent = f"\n    parent: s{rng.randrange(i)}" if i and rng.random() < 0.2 else ""
        lines.append(f"  - name: s{i}\n    paths: [{quoted}]\n    owners: [u{i}, core]{parent}")
    return "\n".join(lines) + "\n"


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_resolve(quick: bool) -> None:
    tree = synthetic_tree(200_000)
    config = load_config(synthetic_config(5_000, 7_500, tree))
    changed = random.Random(3).sample(tree, 1_000)
    change = Change.of(changed, number=42)

    compile_s = best_of(1 if quick else 3, lambda: Ownership(config))
    repeats = 5 if quick else 15

    # cold: a freshly compiled config each time, so nothing is memoised from earlier runs
    def resolve(ownership: Ownership) -> None:
        for path in changed:
            ownership.requirements(path)

    fresh = [Ownership(config) for _ in range(2 * repeats)]
    cold_s = best_of(repeats, lambda: resolve(fresh.pop()))
    evaluate_s = best_of(repeats, lambda: evaluate(fresh.pop(), change))
    ownership = Ownership(config)
    warm_s = best_of(repeats, lambda: resolve(ownership))

    sample = changed[:50]
    naive = Ownership(config, matcher=NaiveMatcher)
    scale = len(changed) // len(sample)
    naive_s = best_of(1, lambda: [naive.requirements(p) for p in sample]) * scale
    agree = all(naive.requirements(p) == ownership.requirements(p) for p in sample)
    print(f"resolve 1,000 files x 5,000 subsystems ({len(ownership.rules)} patterns)")
    print(f"  compile config        {compile_s * 1e3:8.1f} ms  once per OWNERS.yaml revision")
    print(
        f"  resolve, cold         {cold_s * 1e3:8.1f} ms  target 20 ms: "
        f"{cold_s / 0.020:.2f} of budget"
    )
    print(f"  resolve, warm         {warm_s * 1e3:8.1f} ms  same config, seen directories")
    print(f"  evaluate, cold        {evaluate_s * 1e3:8.1f} ms  verdict and suggestions")
    print(
        f"  naive (x{scale} sample)    {naive_s * 1e3:8.0f} ms  "
        f"indexed is {naive_s / cold_s:.0f}x faster; results agree: {agree}"
    )


def bench_coverage(quick: bool) -> None:
    tree = synthetic_tree(400_000)
    config = load_config(synthetic_config(5_000, 10_000, tree))
    runs = []
    for _ in range(1 if quick else 3):
        ownership = Ownership(config)
        start = time.perf_counter()
        result = coverage(ownership, tree)
        runs.append(time.perf_counter() - start)
    indexed_s = statistics.median(runs)
    sample = tree[:: len(tree) // 400][:400]
    naive = Ownership(config, matcher=NaiveMatcher)
    naive_s = best_of(1, lambda: coverage(naive, sample)) * len(tree) / len(sample)
    print(f"coverage 400,000 files x {len(Ownership(config).rules)} patterns")
    print(
        f"  indexed               {indexed_s:8.2f} s   target 5 s: "
        f"{indexed_s / 5:.2f} of budget; root-only files: {len(result.root_only)}"
    )
    print(
        f"  naive (x{len(tree) // len(sample)} sample)  {naive_s:8.0f} s   "
        f"indexed is {naive_s / indexed_s:.0f}x faster"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    bench_resolve(args.quick)
    bench_coverage(args.quick)


if __name__ == "__main__":
    main()
