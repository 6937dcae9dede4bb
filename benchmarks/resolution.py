"""Resolution: which subsystem owns each path, against what a user would use instead.

Four resolvers answer the same question on the same generated inputs:

* **engine**: `Ownership(config).requirements(path)`, the indexed matcher;
* **naive**: the same `Ownership` with `NaiveMatcher` (every pattern on every path), the oracle;
* **pathspec**: one `PathSpec("gitignore")` over the CODEOWNERS patterns in file order, and
  `check_file(path).index`, the last matching pattern, which is CODEOWNERS' last-match-wins.
  (`GitIgnoreSpec` is not used: git's rule that a pattern matching the file itself outranks one
  matching a directory above it is not CODEOWNERS' order.);
* **codeowners**: the PyPI package, `CodeOwners(text).of(path)`.

The rule set is generated so that OWNERS.yaml (requirements add up, nearest wins within a
parent chain, `!` exclusions) and CODEOWNERS (last match wins) mean the same: every subsystem
has a *home* (a directory, or one file) and patterns only below it, its parent is the subsystem
of the nearest enclosing home, and CODEOWNERS lists subsystems by the depth of their home, so
that the last matching line is the nearest matching subsystem.  An exclusion `!/D/f` of a
subsystem whose parent owns all of its home becomes the line `/D/f @parent` just after the
subsystem's lines.  Each answer is one subsystem (or root), and every answer every resolver
gave is checked equal to the engine's; a difference is an error that fails the run.

The slow peers cannot answer 400,000 paths against 10,000 subsystems in reasonable time: they
run on a fixed sample of the paths and their time is scaled to the whole input (marked ¹).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pathspec
from codeowners import CodeOwners

from benchmarks.stats import Measure, Report, Table, compared, fmt, repeat
from owners.engine import Ownership, load_config
from owners.engine.model import ROOT, OwnersConfig
from owners.engine.patterns import IndexedMatcher, NaiveMatcher
from owners.engine.resolution import Matcher

TOP = ["chrome", "components", "content", "net", "base", "third_party", "tools", "services",
       "ui", "media", "docs", "build"]  # fmt: skip
WORDS = ["browser", "common", "renderer", "test", "unit", "api", "core", "util", "public",
         "internal", "resources", "android", "ios", "win", "mac", "linux", "proto", "mojom",
         "views", "cocoa", "net", "http", "dns", "quic", "storage", "sync", "policy", "gpu",
         "audio", "video", "capture", "extensions", "devtools", "printing", "accessibility",
         "bindings", "platform", "scheduler", "animation", "layout", "paint", "style", "css",
         "dom", "events", "fetch", "loader", "cache", "crypto", "cert", "ssl", "payments",
         "autofill", "password_manager", "omnibox", "bookmarks", "history", "search",
         "tabs", "download"]  # fmt: skip
EXTS = ["cc", "h", "py", "java", "mm", "gn", "md", "json", "proto", "mojom", "ts", "html"]
ROOT_OWNER = "@root"


@dataclass(frozen=True)
class Size:
    paths: int
    subsystems: int


FULL_SIZES = [Size(p, s) for p in (10_000, 100_000, 400_000) for s in (100, 1_000, 10_000)]
QUICK_SIZES = [Size(10_000, 100), Size(10_000, 1_000)]
CHANGE_SIZES = (1, 100, 1_000)


def tree(files: int, seed: int = 1) -> list[str]:
    """A Chromium-like tree: twelve top folders, leaf folders 2 to 9 deep named from a
    vocabulary (so names repeat across the tree), 1 to 24 files each."""
    rng = random.Random(seed)
    paths: dict[str, None] = {}
    while len(paths) < files:
        depth = rng.choice((2, 3, 3, 4, 4, 4, 5, 5, 6, 7, 8, 9))
        folder = "/".join([rng.choice(TOP), *(rng.choice(WORDS) for _ in range(depth - 1))])
        for _ in range(rng.randint(1, 24)):
            name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}.{rng.choice(EXTS)}"
            paths[f"{folder}/{name}"] = None
    return list(paths)[:files]


@dataclass(frozen=True)
class RuleSet:
    owners_yaml: str
    codeowners: str
    patterns: int


def rule_set(paths: Sequence[str], subsystems: int, seed: int = 2) -> RuleSet:
    """OWNERS.yaml and CODEOWNERS texts that give every path the same single owner.

    Kinds of subsystem, by home: 72% a whole directory (`/D/`, a quarter of them also
    excluding one file directly in it), 18% parts of a directory (`/D/*.ext`, `/D/**/*.ext`,
    `/D/**/test/`), 10% (more when the tree has too few directories) a single file.
    """
    rng = random.Random(seed)
    folders = sorted({p[:i] for p in paths for i in _slashes(p)})
    direct: dict[str, list[str]] = {}
    for path in paths:
        direct.setdefault(path.rpartition("/")[0], []).append(path)
    n_dirs = min(len(folders), subsystems - subsystems // 10)
    dir_homes = set(rng.sample(folders, n_dirs))
    homes = [*dir_homes, *rng.sample(list(paths), subsystems - n_dirs)]
    homes.sort(key=lambda home: (home.count("/"), home))
    name_of: dict[str, str] = {}
    whole: set[str] = set()  # subsystems owning every file below their home
    yaml = ["version: 1", "root:", "  owners: [root-owner]", "subsystems:"]
    lines = [f"* {ROOT_OWNER}"]
    count = 0
    for i, home in enumerate(homes):
        name = _short(i)
        parent = _enclosing(home, name_of)
        rules: list[str] = []
        excluded: list[str] = []
        kind = rng.random()
        if home not in dir_homes:
            rules.append(f"/{home}")
        elif kind < 0.8:
            rules.append(f"/{home}/")
            whole.add(name)
            files = direct.get(home)
            if files and rng.random() < 0.25 and (parent is None or parent in whole):
                excluded.append(f"/{rng.choice(files)}")
        elif kind < 0.87:
            rules += [f"/{home}/*.{rng.choice(EXTS)}", f"/{home}/**/*.{rng.choice(EXTS)}"]
        else:
            rules += [f"/{home}/**/test/", f"/{home}/*.{rng.choice(EXTS)}"]
        name_of[home] = name
        # terse YAML (one flow mapping a line, names in base 36, patterns quoted only where
        # YAML needs it, a hundred teams as owners) so that 10,000 subsystems of long paths
        # fit the 1 MiB limit
        written = ", ".join([*rules, *(f'"!{x}"' for x in excluded)])
        parent_key = f", parent: {parent}" if parent else ""
        yaml.append(f"- {{name: {name}, paths: [{written}], owners: [t{i % 100}]{parent_key}}}")
        lines += [f"{rule} @{name}" for rule in rules]
        lines += [f"{x} @{parent}" if parent else f"{x} {ROOT_OWNER}" for x in excluded]
        count += len(rules) + len(excluded)
    return RuleSet("\n".join(yaml) + "\n", "\n".join(lines) + "\n", count)


def _short(number: int) -> str:
    """A subsystem's name: `s` and the number in base 36."""
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
        if not number:
            return f"s{digits}"


def _slashes(path: str) -> list[int]:
    return [i for i, ch in enumerate(path) if ch == "/"]


def _enclosing(home: str, name_of: dict[str, str]) -> str | None:
    """The subsystem whose home is the nearest folder above `home`."""
    for i in reversed(_slashes(home)):
        name = name_of.get(home[:i])
        if name is not None:
            return name
    return None


# -- the resolvers ---------------------------------------------------------------------------

Answer = Callable[[str], str]  # path -> the one subsystem owning it, or root


@dataclass(frozen=True)
class Resolver:
    """`parse` reads the rule set's text once; `build` compiles what a repetition starts from
    (a fresh one each time: nothing memoised carries over); compile time is both."""

    name: str
    parse: Callable[[RuleSet], Any]
    build: Callable[[Any], Answer]
    sampled: bool  # too slow for whole inputs: timed on a sample and scaled
    peer: bool = True  # another tool; the naive matcher is the engine's own oracle


def _ownership(matcher: Matcher) -> Callable[[OwnersConfig], Answer]:
    def build(config: OwnersConfig) -> Answer:
        ownership = Ownership(config, matcher=matcher)

        def answer(path: str) -> str:
            found = ownership.requirements(path)
            return found[0] if len(found) == 1 else "+".join(found)

        return answer

    return build


def _pathspec(codeowners: str) -> Answer:
    entries = [line.split(" ", 1) for line in codeowners.splitlines()]
    spec = pathspec.PathSpec.from_lines("gitignore", [pattern for pattern, _ in entries])
    owners = [_subsystem(owner) for _, owner in entries]

    def answer(path: str) -> str:
        index = spec.check_file(path).index
        return ROOT if index is None else owners[index]

    return answer


def _codeowners(codeowners: str) -> Answer:
    parsed = CodeOwners(codeowners)

    def answer(path: str) -> str:
        found = parsed.of(path)
        return _subsystem(found[0][1]) if found else ROOT

    return answer


def _subsystem(owner: str) -> str:
    return ROOT if owner == ROOT_OWNER else owner.removeprefix("@")


def _yaml(rules: RuleSet) -> OwnersConfig:
    return load_config(rules.owners_yaml)


def _text(rules: RuleSet) -> str:
    return rules.codeowners


RESOLVERS = [  # the engine first: the baseline of every ratio
    Resolver("engine", _yaml, _ownership(IndexedMatcher), sampled=False),
    Resolver("naive", _yaml, _ownership(NaiveMatcher), sampled=True, peer=False),
    Resolver("pathspec", _text, _pathspec, sampled=True),
    Resolver("codeowners", _text, _codeowners, sampled=True),
]


# -- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    sizes: list[Size]
    repeats: int
    change_sample: int  # files of a change a sampled resolver answers
    tree_sample: int  # paths of the tree a sampled resolver answers
    tree_repeats: int


QUICK = Plan(QUICK_SIZES, repeats=3, change_sample=20, tree_sample=100, tree_repeats=2)
FULL = Plan(FULL_SIZES, repeats=5, change_sample=50, tree_sample=200, tree_repeats=3)


class Checker:
    """Compares every answer with the engine's; keeps the first differences as errors."""

    def __init__(self, report: Report, where: str):
        self.report, self.where = report, where
        self.truth: dict[str, str] = {}
        self.wrong = 0

    def check(self, resolver: str, answers: dict[str, str]) -> None:
        for path, got in answers.items():
            expected = self.truth.setdefault(path, got) if resolver == "engine" else None
            expected = self.truth.get(path) if expected is None else expected
            if expected is None:
                raise RuntimeError(f"{resolver} answered {path}, which the engine did not")
            if got != expected:
                self.wrong += 1
                if self.wrong <= 5:
                    self.report.errors.append(
                        f"{self.where}: {path}: engine says {expected}, {resolver} says {got}"
                    )


def run(
    quick: bool, *, plan: Plan | None = None, peers: Sequence[Resolver] | None = None
) -> Report:
    """Measure every size of the plan (by default QUICK or FULL); `peers` replaces the
    resolvers, the first being the baseline (tests inject a wrong one to see it caught)."""
    plan = plan if plan is not None else QUICK if quick else FULL
    report = Report("resolution", "1. Resolution: engine against naive, pathspec, codeowners")
    report.notes += [
        "Per-change figures are the time to answer every file of a change of random files "
        "from the tree, on a freshly compiled rule set (nothing memoised from an earlier "
        "change; the service compiles once per OWNERS.yaml revision). *compile* is parsing "
        "the text into that state. *whole tree* answers every path of the tree once, what "
        "`owners.engine.coverage` does.",
        f"Each cell: median (min - max) over {plan.repeats} repetitions "
        f"({plan.tree_repeats} for the whole tree); `= xN` after a peer's time is its median over "
        "the engine's, in the same run. ¹ timed on a sample "
        f"({plan.change_sample} files of a change, {plan.tree_sample} paths of a tree) and "
        "scaled to the full input.",
    ]
    chosen = list(peers) if peers is not None else RESOLVERS
    worst: tuple[float, str] = (0.0, "")
    coverage_400k: Measure | None = None
    compile_10k: tuple[Measure, Measure, str, str] | None = None
    trees: dict[int, list[str]] = {}
    for size in plan.sizes:
        paths = trees.setdefault(size.paths, tree(size.paths))
        rules = rule_set(paths, size.subsystems)
        where = f"{size.paths:,} paths x {size.subsystems:,} subsystems"
        table = Table(
            f"{where} ({rules.patterns:,} patterns)",
            ("", *(r.name for r in chosen)),
        )
        checker = Checker(report, where)
        results = {r.name: _measure(r, rules, paths, plan, checker) for r in chosen}
        engine = results[chosen[0].name]
        for row, label in enumerate(_ROWS):
            cells: list[object] = [label]
            for r in chosen:
                measure = results[r.name][row]
                cells.append(measure if r is chosen[0] else compared(measure, engine[row]))
                if r is not chosen[0] and r.peer and row > 0:
                    behind = engine[row].median / measure.median
                    if behind > worst[0]:
                        worst = (behind, f"{label}, {where}, against {r.name}")
            table.add(*cells)  # type: ignore[arg-type]
        report.tables.append(table)
        if size == Size(400_000, 10_000):
            coverage_400k = engine[-1]
        rivals = [r for r in chosen[1:] if r.peer]
        if size.subsystems == 10_000 and compile_10k is None and rivals:
            # the naive matcher reads the same OWNERS.yaml and builds no index: not a peer
            fastest = min(rivals, key=lambda r: results[r.name][0].median)
            compile_10k = (engine[0], results[fastest.name][0], fastest.name, where)
    if worst[1]:
        report.goal(
            "ahead of every peer at every size (per change and whole tree)",
            f"closest: engine at {worst[0]:.2f} of the peer's time ({worst[1]})",
            worst[0] < 1,
            gap=f"engine takes x{worst[0]:.2f} the peer's time",
            limit="on a freshly compiled state the first file of a change pays for indexing "
            "each of its folders (memoised for the files after it), where a peer tries its few "
            "patterns from the last; the service compiles once per OWNERS.yaml revision and "
            "keeps that index across changes",
        )
    if compile_10k is not None:
        own, peer, name, where = compile_10k
        report.goal(
            "compile (parse, validate, index) at 10,000 subsystems no slower than the fastest peer",
            f"engine {fmt(own.median, 's')}, {name} {fmt(peer.median, 's')} ({where})",
            own.median <= peer.median,
            gap=f"engine takes x{own.median / peer.median:.2f} the peer's time",
            limit="libyaml's events (with a position for every node, kept for messages) and "
            "validating each subsystem in Python",
        )
    if coverage_400k is not None:
        report.goal(
            "whole 400k-path tree x 10k subsystems in ≤ 5 s",
            fmt(coverage_400k.median, "s"),
            coverage_400k.median <= 5,
            gap=f"{coverage_400k.median - 5:.2f} s over",
            limit="one Python-level dictionary walk per path and per new directory",
        )
    return report


_ROWS = ("compile", *(f"change of {k:,} file{'s' if k > 1 else ''}" for k in CHANGE_SIZES),
         "whole tree")  # fmt: skip


def _measure(
    resolver: Resolver, rules: RuleSet, paths: list[str], plan: Plan, checker: Checker
) -> list[Measure]:
    """[compile, each change size, whole tree] for one resolver; answers go to `checker`."""
    rng = random.Random(7)  # the same changes for every resolver
    parsed = resolver.parse(rules)
    compiled = repeat(lambda: resolver.build(resolver.parse(rules)), plan.tree_repeats)

    def build() -> Answer:
        return resolver.build(parsed)

    measures: list[Measure] = [compiled]
    for k in CHANGE_SIZES:
        changes = [rng.sample(paths, k) for _ in range(plan.repeats)]
        asked = min(k, plan.change_sample) if resolver.sampled else k
        measures.append(_timed(build, [c[:asked] for c in changes], k / asked, resolver, checker))
    step = max(1, len(paths) // plan.tree_sample)
    asked_paths = paths[::step][: plan.tree_sample] if resolver.sampled else paths
    scale = len(paths) / len(asked_paths)
    measures.append(_timed(build, [asked_paths] * plan.tree_repeats, scale, resolver, checker))
    return measures


def _timed(
    build: Callable[[], Answer],
    inputs: list[list[str]],
    scale: float,
    resolver: Resolver,
    checker: Checker,
) -> Measure:
    values = []
    for files in inputs:
        answer = build()
        start = time.perf_counter()
        for path in files:
            answer(path)
        values.append(time.perf_counter() - start)
        checker.check(resolver.name, {path: answer(path) for path in files})
    return Measure(tuple(values), scale=scale)
