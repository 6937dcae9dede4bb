"""Evaluation: time spent in the service per evaluation, apart from Gerrit's REST time.

On the dev Gerrit with the demo's Nova project, a 100-file and a 5,000-file change are pushed
and the running service votes on them.  Then this process evaluates each change with the
service's own code (`OwnersService.process_change`, what a worker runs) and its connection
counts the REST calls and the seconds spent waiting on them (`GerritConnection.rest_seconds`):
service time = evaluation time - REST time.  *cold*: a fresh connection and compiled-config
cache (a worker's first evaluation after a start); *warm*: the same service again, with
OWNERS.yaml cached by branch revision and group members within their TTL.  The bot's verdict is
already posted, so no evaluation posts a review.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.ongerrit import GERRIT_SKIPPED, nova_project
from benchmarks.stats import COUNT, Measure, Report, Table, fmt
from owners.gerrit.settings import Settings
from owners.gerrit.verdict import compile_config
from webhook.service import OwnersService

TITLE = "3. Evaluation: service time per evaluation, apart from Gerrit's REST time"
SIZES = (100, 5_000)
REPEATS = 10
GOAL_SECONDS, GOAL_CALLS = 0.005, 4


def files(count: int) -> dict[str, str]:
    """A change touching Hyper-V, compute and docs files in equal parts."""
    folders = ("nova/virt/hyperv", "nova/compute", "doc/source")
    return {f"{folders[i % 3]}/bench/f{i}.py": f"# {i}\n" for i in range(count)}


def run(quick: bool) -> Report:
    if quick:
        return Report("evaluation", TITLE, skipped=GERRIT_SKIPPED)
    report = Report("evaluation", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    table = Table(
        f"per evaluation, median (min - max) over {REPEATS}",
        ("change", "cache", "service time", "REST time", "REST calls"),
    )
    with nova_project() as nova:
        numbers = {n: nova.push_change("zed", files(n), f"bench {n} files") for n in SIZES}
        nova.wait_until_idle(timeout=300)
        settings = Settings.from_env(nova.service_env())
        warm_service = OwnersService(settings)
        for size, number in numbers.items():
            for cache in ("cold", "warm"):
                if cache == "warm":
                    warm_service.process_change(nova.project, number)
                service, rest, calls = _evaluate(
                    lambda cache=cache: warm_service if cache == "warm" else _fresh(settings),
                    nova.project,
                    number,
                )
                table.add(f"{size:,} files", cache, service, rest, calls)
                if (size, cache) == (100, "warm"):
                    report.goal(
                        f"<= {fmt(GOAL_SECONDS, 's')} in the service, warm, 100 files",
                        fmt(service.median, "s"),
                        service.median <= GOAL_SECONDS,
                        gap=f"{fmt(service.median - GOAL_SECONDS, 's')} over",
                        limit="compiling and evaluating in Python: see the 5,000-file rows "
                        "for how it grows with the change",
                    )
                    report.goal(
                        f"<= {GOAL_CALLS} REST calls, warm, 100 files",
                        f"{calls.median:g}",
                        calls.median <= GOAL_CALLS,
                        gap=f"{calls.median - GOAL_CALLS:g} calls over",
                        limit="one GET of the change and one of the branch head are needed "
                        "to know the change and which OWNERS.yaml applies",
                    )
    report.tables.append(table)
    return report


def _fresh(settings: Settings) -> OwnersService:
    compile_config.cache_clear()
    return OwnersService(settings)


def _evaluate(
    service_for: Callable[[], OwnersService], project: str, number: int
) -> tuple[Measure, ...]:
    """(service seconds, REST seconds, REST calls) over REPEATS evaluations."""
    service_s, rest_s, calls = [], [], []
    for _ in range(REPEATS):
        service = service_for()
        gerrit = service.gerrit
        before_rest, before_calls = gerrit.rest_seconds, gerrit.calls
        start = time.perf_counter()
        service.process_change(project, number)
        elapsed = time.perf_counter() - start
        rest = gerrit.rest_seconds - before_rest
        service_s.append(elapsed - rest)
        rest_s.append(rest)
        calls.append(float(gerrit.calls - before_calls))
    return Measure(tuple(service_s)), Measure(tuple(rest_s)), Measure(tuple(calls), COUNT)
