"""CLI: `owners who` and `owners check` as a user runs them, beside the start-up floor and the
Go `codeowners` CLI.

Each size is a git checkout of the resolution benchmark's generated tree (10,000 paths) with
its OWNERS.yaml and the equivalent CODEOWNERS.  Timed as processes, start to exit, a table's
commands and the floor taking turns in each repetition: *first*
with no compiled map cached (the first call after OWNERS.yaml changed), *repeated* with the
map the previous call left under `.git/`.  `who` asks about one path, `check --files` about
1,000.  The floor is the interpreter starting and exiting (`python -c pass`, same
interpreter), and `owners who` on the demo's small Nova map shows what a command costs
besides.  The Go `codeowners` CLI (github.com/hmarr/codeowners, built in setup with `go
install`) answers the same paths from the CODEOWNERS file.  Then, in this process: the
service's first evaluation of a 100-file change after an OWNERS.yaml change (compile and
share the map) and another process's first evaluation of it (reopen the shared map); and
the format's largest maps, compiled and asked one path.

The package's modules are compiled to bytecode first, as pip does when it installs them:
with PYTHONDONTWRITEBYTECODE set (as on these machines) an editable checkout would otherwise
recompile every module on every run, which no installed copy does.  `import click` alone,
the CLI library, shows the part of start-up that is not this package's.
"""

from __future__ import annotations

import compileall
import functools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

import owners
from benchmarks.resolution import rule_set, tree
from benchmarks.stats import Measure, Report, Table, compared, fmt, repeat, spread
from owners import cache
from owners.engine import Change, Ownership, evaluate, load_config
from owners.engine.config import MAX_BYTES, MAX_PATTERNS, MAX_SUBSYSTEMS
from owners.gerrit.compiled import SharedMaps

TITLE = "9. CLI: owners who and owners check against start-up and the Go codeowners CLI"
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nova-OWNERS.yaml"
GO_MODULE = "github.com/hmarr/codeowners/cmd/codeowners@latest"
OWNERS = [sys.executable, "-m", "owners.cli"]
CHECKED = 1_000
GOAL_REPEATED, GOAL_FIRST, GOAL_GO, GOAL_TINY, GOAL_SERVICE = 0.1, 1.0, 3.0, 0.08, 1.0


def run(quick: bool) -> Report:
    sizes, repeats = ((100,), 2) if quick else ((100, 1_000, 10_000), 11)
    report = Report("cli", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    compileall.compile_dir(Path(owners.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as scratch:
        work = Path(scratch)
        go = None if quick else _go_codeowners(work)
        if go is None:
            report.notes.append(
                "The Go codeowners CLI is not measured: "
                + ("skipped by --quick." if quick else "Go is missing or the build failed.")
            )
        tiny = _checkout(work / "tiny", FIXTURE.read_text(), "", "nova/virt/hyperv/driver.py")
        floor, click, helped, who_tiny = _interleaved(
            [
                Case([sys.executable, "-c", "pass"], work),
                Case([sys.executable, "-c", "import click"], work),
                Case([*OWNERS, "--help"], tiny),
                Case([*OWNERS, "who", "nova/virt/hyperv/driver.py"], tiny),
            ],
            repeats,
        )
        start = Table("start-up", ("", "time"))
        start.add("python -c pass (floor)", floor)
        start.add("python -c 'import click' (the CLI library alone)", compared(click, floor))
        start.add("owners --help", helped)
        start.add("owners who, Nova map (repeated)", compared(who_tiny, floor))
        report.tables.append(start)
        report.goal(
            f"owners who on a small map <= {fmt(GOAL_TINY, 's')} in all",
            fmt(who_tiny.median, "s"),
            who_tiny.median <= GOAL_TINY,
            gap=f"{fmt(who_tiny.median - GOAL_TINY, 's')} over",
            limit=f"the interpreter's start-up ({fmt(floor.median, 's')}) and importing click "
            f"({fmt(click.median - floor.median, 's')} more) take "
            f"{fmt(click.median, 's')} of it; this package's imports and the answer the "
            f"other {fmt(who_tiny.median - click.median, 's')}",
        )
        paths = tree(10_000)
        phases = _compile_phases(report, paths, quick)
        table = Table(
            f"10,000 paths; who: 1 path, check: {CHECKED:,} paths; above the floor in ()",
            ("subsystems", "who first", "who repeated", "check first", "check repeated",
             "Go codeowners, 1 path", f"Go codeowners, {CHECKED:,} paths"),
        )  # fmt: skip
        for size in sizes:
            rules = rule_set(paths, size)
            asked = random.Random(size).sample(paths, CHECKED)
            repo = _checkout(work / f"s{size}", rules.owners_yaml, rules.codeowners, asked[0])
            who = [*OWNERS, "who", asked[0]]
            check = [*OWNERS, "check", "--files", *asked]
            clear = functools.partial(shutil.rmtree, repo / ".git" / cache.FOLDER, True)
            cases = [
                Case([sys.executable, "-c", "pass"], work),
                Case(who, repo, setup=clear),
                Case(who, repo),
                Case(check, repo, setup=clear),
                Case(check, repo),
            ]
            if go is not None:
                go_file = ["-f", "CODEOWNERS"]
                cases += [Case([go, *go_file, asked[0]], repo), Case([go, *go_file, *asked], repo)]
            floor, *measured = _interleaved(cases, repeats)
            cells = measured[:4]
            go_cells: list[Measure | str] = [*measured[4:]] or ["not measured", "not measured"]
            table.add(f"{size:,}", *(_above(c, floor) for c in cells), *go_cells)
            if size == 10_000:
                _cli_goals(report, floor, click, phases, cells[0], cells[1], go_cells[0])
        report.tables.append(table)
        _service(report, paths, phases, quick)
        _limits(report, quick)
    return report


def _cli_goals(
    report: Report,
    floor: Measure,
    click: Measure,
    phases: str,
    first: Measure,
    repeated: Measure,
    go: Measure | str,
) -> None:
    above = repeated.median - floor.median
    by_click = f"importing click alone takes {fmt(click.median - floor.median, 's')} of it"
    report.goal(
        f"repeated owners who, 10,000 subsystems: <= {fmt(GOAL_REPEATED, 's')} above start-up",
        fmt(above, "s"),
        above <= GOAL_REPEATED,
        gap=f"{fmt(above - GOAL_REPEATED, 's')} over",
        limit=f"{by_click}; then the engine's imports and reading the compiled map",
    )
    if isinstance(go, Measure):
        times = repeated.median / go.median
        report.goal(
            f"repeated owners who, 10,000 subsystems: within {GOAL_GO:g}x of Go codeowners",
            f"x{times:.2f}",
            times <= GOAL_GO,
            gap=f"x{times / GOAL_GO:.2f} over the allowance",
            limit=f"Python's start-up ({fmt(floor.median, 's')}) and click's import "
            f"({fmt(click.median - floor.median, 's')}) against a native binary's whole run",
        )
    first_above = first.median - floor.median
    report.goal(
        f"first owners who after a change, 10,000 subsystems: <= {fmt(GOAL_FIRST, 's')} above "
        "start-up",
        fmt(first_above, "s"),
        first_above <= GOAL_FIRST,
        gap=f"{fmt(first_above - GOAL_FIRST, 's')} over",
        limit=f"compiling the map in Python, in this process: {phases}",
    )


def _compile_phases(report: Report, paths: list[str], quick: bool) -> str:
    """Where compiling a map of 10,000 subsystems goes, in this process; the same as text."""
    size = 100 if quick else 10_000
    text = rule_set(paths, size).owners_yaml
    repeats = 2 if quick else 5

    def events() -> None:
        loader = yaml.CSafeLoader(text)
        try:
            while loader.check_event():
                loader.get_event()
        finally:
            loader.dispose()

    config = load_config(text)
    ownership = Ownership(config)
    rows = [
        ("libyaml's events alone (the least any YAML reading costs)", repeat(events, repeats)),
        ("reading and validating (load_config)", repeat(lambda: load_config(text), repeats)),
        ("indexing the patterns (Ownership)", repeat(lambda: Ownership(config), repeats)),
        ("writing the cache entry (encode)", repeat(lambda: cache.encode(ownership), repeats)),
    ]  # fmt: skip
    table = Table(f"compiling {size:,} subsystems, in this process", ("", "time"))
    for label, measure in rows:
        table.add(label, measure)
    report.tables.append(table)
    (_, libyaml), (_, reading), (_, indexing), (_, writing) = rows
    return (
        f"reading and validating {fmt(reading.median, 's')} (libyaml's events alone "
        f"{fmt(libyaml.median, 's')}), indexing {fmt(indexing.median, 's')}, writing the "
        f"entry {fmt(writing.median, 's')}"
    )


def _service(report: Report, paths: list[str], phases: str, quick: bool) -> None:
    """A worker's first evaluation after an OWNERS.yaml change, and another process's."""
    size = 100 if quick else 10_000
    content = rule_set(paths, size).owners_yaml.encode()
    change = Change.of(random.Random(3).sample(paths, 100))
    repeats = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="bench-maps-") as scratch:
        folder = Path(scratch)

        def first() -> None:
            shutil.rmtree(folder, ignore_errors=True)
            ownership, _ = SharedMaps(cache.DiskCache(folder)).compile(content)
            assert ownership is not None
            evaluate(ownership, change)

        def other() -> None:
            ownership, _ = SharedMaps(cache.DiskCache(folder)).compile(content)
            assert ownership is not None
            evaluate(ownership, change)

        compiled = repeat(first, repeats)
        reopened = repeat(other, repeats)
    table = Table(
        f"service: evaluation of a 100-file change, {size:,} subsystems, after OWNERS.yaml changed",
        ("", "time"),
    )
    table.add("first evaluation (compiles, shares the map)", compiled)
    table.add("another process's first evaluation (reopens it)", reopened)
    report.tables.append(table)
    report.goal(
        f"service: first evaluation after an OWNERS.yaml change, {size:,} subsystems, "
        f"< {fmt(GOAL_SERVICE, 's')}",
        fmt(compiled.median, "s"),
        compiled.median < GOAL_SERVICE,
        gap=f"{fmt(compiled.median - GOAL_SERVICE, 's')} over",
        limit=f"compiling the map once, in the first process that meets it: {phases}",
    )


def _limits(report: Report, quick: bool) -> None:
    """The largest maps the format accepts: all patterns, and as many subsystems as fit."""
    patterns = MAX_PATTERNS // 100 if quick else MAX_PATTERNS
    per = 100
    lines = ["version: 1", "root: {owners: [r]}", "subsystems:"]
    for i in range(patterns // per):
        names = ", ".join(f"{chr(97 + j % 26)}{(i + j) % 10}" for j in range(per))
        lines.append(f"- {{name: p{i}, owners: [t], paths: [{names}]}}")
    many_patterns = "\n".join(lines) + "\n"
    lines = ["version: 1", "root: {owners: [r]}", "subsystems:"]
    count = 0
    while sum(map(len, lines)) + len(lines) + 40 < MAX_BYTES and count < MAX_SUBSYSTEMS:
        lines.append(f"- {{name: s{count:x}, paths: [d{count:x}], owners: [t]}}")
        count += 1
        if quick and count >= MAX_SUBSYSTEMS // 100:
            break
    many_subsystems = "\n".join(lines) + "\n"
    table = Table("the format's limits", ("map", "bytes", "compile", "first lookup"))
    for label, text in (
        (f"{patterns:,} patterns in {patterns // per:,} subsystems", many_patterns),
        (f"{count:,} subsystems, one pattern each"
         + ("" if quick else f" (as many as fit in {MAX_BYTES:,} bytes)"), many_subsystems),
    ):  # fmt: skip
        compile_time = repeat(lambda text=text: Ownership(load_config(text)), 2)
        ownership = Ownership(load_config(text))
        start = time.perf_counter()
        ownership.requirements("src/ab/cd/file.c")
        lookup = spread([time.perf_counter() - start])
        table.add(label, f"{len(text.encode()):,}", compile_time, lookup)
    report.tables.append(table)
    report.notes.append(
        f"The format's subsystem limit ({MAX_SUBSYSTEMS:,}) cannot be reached within its "
        f"{MAX_BYTES:,}-byte limit: the shortest subsystem entry is about 40 bytes, so the "
        "largest map of subsystems is the one that fills the byte limit."
    )


def _go_codeowners(work: Path) -> str | None:
    """Build hmarr's codeowners CLI with `go install`; None when Go is missing or fails."""
    go = shutil.which("go")
    if go is None:
        return None
    target = work / "gobin"
    env = {**os.environ, "GOBIN": str(target)}
    done = subprocess.run(
        [go, "install", GO_MODULE], env=env, capture_output=True, check=False, timeout=900
    )
    binary = target / "codeowners"
    return str(binary) if done.returncode == 0 and binary.exists() else None


def _checkout(repo: Path, owners_yaml: str, codeowners: str, asked: str) -> Path:
    """A checkout with the two files and the file `who` asks about: a path that is on disk,
    as users ask, so `who` never spends a git process on warning that it is nowhere."""
    repo.mkdir(parents=True)
    (repo / "OWNERS.yaml").write_text(owners_yaml)
    (repo / "CODEOWNERS").write_text(codeowners)
    (repo / asked).parent.mkdir(parents=True, exist_ok=True)
    (repo / asked).touch()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


@dataclass(frozen=True)
class Case:
    """A command timed as a process, from `cwd`, after `setup` (untimed)."""

    command: list[str]
    cwd: Path
    setup: Callable[[], object] | None = None


def _interleaved(cases: list[Case], repeats: int) -> list[Measure]:
    """Seconds per process of each case, the cases taking turns within each repetition: on a
    shared machine whose speed drifts over seconds, every case and the floor see the same
    drift, so their differences and ratios hold even when the absolute figures move."""
    values: list[list[float]] = [[] for _ in cases]
    for _ in range(repeats):
        for case, times in zip(cases, values, strict=True):
            if case.setup is not None:
                case.setup()
            start = time.perf_counter()
            done = subprocess.run(
                case.command, cwd=case.cwd, stdout=subprocess.DEVNULL, check=False
            )
            times.append(time.perf_counter() - start)
            if done.returncode not in (0, 1):  # `owners check` exits 1 for PENDING
                raise subprocess.CalledProcessError(done.returncode, case.command[:4])
    return [Measure(tuple(times)) for times in values]


def _above(measure: Measure, floor: Measure) -> str:
    return f"{measure} ({fmt(measure.median - floor.median, 's')})"
