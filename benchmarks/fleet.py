"""Fleet scale: the REST calls and time to re-judge a branch's open changes after its
OWNERS.yaml changed, what a reconcile sweep with nothing changed evaluates, and what a sweep
over many projects costs.

Gerrit is the bottleneck (86 to 91% of an evaluation's time on the dev Gerrit, issue 22), so
these figures are taken with the service's own code (`webhook.jobs.Jobs`, 4 worker threads,
`OWNERS_GERRIT_CONCURRENCY` at its default) against the unit tests' in-memory Gerrit
(tests/webhook/conftest.py) answering every REST call after `LATENCY`, the time per call the
dev Gerrit took at 300 to 2,000 open changes (24 to 40 ms).  Every floor is today's path in
the same run: a change job per open change (each reads the change and its branch head) run by
4 threads; a sweep that finds no recorded inputs for verdicts an event asked for (as when only
the sweep's own jobs recorded them); a query per project.  Both paths give every change the
same vote, or the run fails.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.stats import Measure, Report, Table, fmt, ratio, spread
from owners.gerrit.compiled import SharedMaps
from owners.gerrit.connection import GerritConnection
from tests.webhook.conftest import (
    HYPERV,
    FakeGerrit,
    account,
    change_info,
    hyperv_map,
    settings,
)
from webhook.jobs import BRANCH, CHANGE, CLOCK_SKEW_SECONDS, Job, Jobs
from webhook.reconcile import Reconciler
from webhook.service import OwnersService
from webhook.settings import DEFAULT_MAP_CACHE

TITLE = "11. Fleet: fan-out, sweeps and REST calls per verdict"
LATENCY = 0.030
WORKERS = 4
GOAL_CALLS = 1.2
WITH_BOB, WITHOUT_BOB = hyperv_map("bob", "dan"), hyperv_map("dan")


class SlowGerrit(FakeGerrit):
    """The in-memory Gerrit, answering each call after `latency` seconds, and counting the
    most calls it had in flight at once (`peak`)."""

    latency: float = 0.0
    peak: int = 0
    _in_flight: int = 0
    _lock = threading.Lock()

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        with self._slow():
            return super().get(path, params, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        with self._slow():
            return super().post(path, json, **kw)

    @contextlib.contextmanager
    def _slow(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)
        try:
            time.sleep(self.latency)
            yield
        finally:
            with self._lock:
                self._in_flight -= 1


def run(quick: bool) -> Report:
    latency = 0.0 if quick else LATENCY
    report = Report("fleet", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    if not quick:
        report.notes.append(f"Simulated REST latency {fmt(LATENCY, 's')} per call.")
    _fan_out(report, (40,) if quick else (300, 2_000), latency)
    _sweep(report, 40 if quick else 300, latency)
    _projects(report, 100 if quick else 1_000, latency)
    _memory(report, 40 if quick else 1_000, 500 if quick else EVENTS)
    return report


# -- 1. fan-out ------------------------------------------------------------------------------


def _fan_out(report: Report, sizes: tuple[int, ...], latency: float) -> None:
    table = Table(
        "re-judge every open change of master after its OWNERS.yaml changed (every vote moves)",
        ("open changes", "path", "time", "GETs per change", "posts", "calls in flight", "ratio"),
    )
    for size in sizes:
        gerrit, jobs = _world(size, latency)
        # today: a job per change, reading the change and the branch head (the floor)
        floor, floor_gets, floor_posts = _timed(
            gerrit, lambda gerrit=gerrit, jobs=jobs: _per_change_jobs(gerrit, jobs, WITHOUT_BOB)
        )
        floor_votes, floor_peak = _votes(gerrit), gerrit.peak
        gerrit.peak = 0
        time.sleep(CLOCK_SKEW_SECONDS)  # a fan-out leaves what was judged a moment ago alone
        bulk, bulk_gets, bulk_posts = _timed(
            gerrit, lambda gerrit=gerrit, jobs=jobs: _bulk(gerrit, jobs, WITH_BOB)
        )
        bulk_votes = _votes(gerrit)
        if set(floor_votes.values()) != {0} or set(bulk_votes.values()) != {1}:
            report.errors.append(f"fan-out of {size}: wrong votes {floor_votes} {bulk_votes}")
        table.add(
            f"{size:,}",
            "a job per change",
            floor,
            f"{floor_gets / size:.2f}",
            floor_posts,
            floor_peak,
            "",
        )
        table.add(
            f"{size:,}",
            "fan-out in bulk",
            bulk,
            f"{bulk_gets / size:.3f}",
            bulk_posts,
            gerrit.peak,
            ratio(bulk, floor),
        )
        report.goal(
            f"<= {GOAL_CALLS} REST calls per re-judged change plus its post, {size:,} changes",
            f"{bulk_gets / size:.3f} + {bulk_posts / size:g} post (today {floor_gets / size:.2f})",
            bulk_gets / size <= GOAL_CALLS,
            gap=f"{bulk_gets / size - GOAL_CALLS:.2f} over",
            limit="a merge's files are read per parent",
        )
        report.goal(
            f"re-judging {size:,} open changes faster than today, in the same run",
            f"{fmt(bulk.median, 's')} against {fmt(floor.median, 's')} ({ratio(bulk, floor)})",
            bulk.median < floor.median,
            gap=ratio(bulk, floor),
            limit="the posts: one per change whose verdict moved",
        )
    report.tables.append(table)


def _world(size: int, latency: float, projects: int = 1) -> tuple[SlowGerrit, Jobs]:
    gerrit = SlowGerrit()
    gerrit.projects = {f"p{i:04}" for i in range(projects)} if projects > 1 else {"nova"}
    gerrit.set_branch("nova", "master", "a" * 40, WITH_BOB)
    for number in range(1, size + 1):
        gerrit.add_change(change_info(number, HYPERV, {"bob": 2}, owner="uma"))
        gerrit.changes[number]["messages"].append({"author": account("owners-bot"), "message": ""})
        gerrit.changes[number]["labels"]["Owner-Approval"]["all"].append(
            dict(account("owners-bot"), value=1)
        )
    config = settings(workers=WORKERS, fallback_owners=())
    jobs = Jobs(config, OwnersService(config, GerritConnection(config, rest=gerrit)))
    gerrit.latency = latency
    return gerrit, jobs


def _timed(gerrit: FakeGerrit, run: Callable[[], None]) -> tuple[Measure, int, int]:
    """Seconds, GETs and POSTs of one run."""
    gerrit.log.clear()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    gets = sum(1 for method, _ in gerrit.log if method == "GET")
    return spread([seconds]), gets, len(gerrit.log) - gets


_commits = iter(f"{i:040x}" for i in range(10**6, 10**7))


def _move_master(gerrit: FakeGerrit, content: bytes) -> tuple[str, str]:
    old = gerrit.branches[("nova", "master")]
    new = next(_commits)
    gerrit.set_branch("nova", "master", new, content)
    gerrit.trees[("nova", new)] = {"OWNERS.yaml": content}
    return old, new


def _per_change_jobs(gerrit: FakeGerrit, jobs: Jobs, content: bytes) -> None:
    _move_master(gerrit, content)
    numbers = jobs.service.gerrit.changes.open_changes("nova", "master")
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda n: jobs.submit(Job(CHANGE, "nova", n)), numbers))


def _bulk(gerrit: FakeGerrit, jobs: Jobs, content: bytes) -> None:
    old, new = _move_master(gerrit, content)
    jobs.submit(Job(BRANCH, "nova", ref="refs/heads/master", old=old, new=new))


def _votes(gerrit: FakeGerrit) -> dict[int, int]:
    return {
        number: next(
            (
                v["value"]
                for v in info["labels"]["Owner-Approval"]["all"]
                if v["username"] == "owners-bot"
            ),
            0,
        )
        for number, info in gerrit.changes.items()
    }


# -- 2. a sweep with nothing changed ---------------------------------------------------------


def _sweep(report: Report, size: int, latency: float) -> None:
    table = Table(
        f"a reconcile sweep over {size:,} open changes after their events were judged, "
        "nothing changed since",
        ("inputs recorded", "time", "evaluations", "REST calls", "ratio"),
    )
    gerrit, jobs = _world(size, 0.0)
    for number in range(1, size + 1):
        jobs.submit(Job(CHANGE, "nova", number))  # the events, judged
    records = dict(jobs.inputs.items())
    gerrit.latency = latency
    reconciler = Reconciler(jobs)
    for key in records:
        jobs.inputs.delete(key)  # today: only the sweep's own jobs recorded inputs
    floor, floor_sweep = _timed_sweep(reconciler)
    for key, raw in records.items():
        jobs.inputs.storage.put_data(key, raw)
    after, sweep = _timed_sweep(reconciler)
    if sweep.queued:
        report.errors.append(f"a sweep with nothing changed evaluated {sweep.queued} changes")
    table.add(
        "by the sweep's jobs only (today)", floor, floor_sweep.queued, floor_sweep.rest_calls, ""
    )
    table.add("by every verdict", after, sweep.queued, sweep.rest_calls, ratio(after, floor))
    report.tables.append(table)
    report.goal(
        f"a sweep with nothing changed evaluates nothing ({size:,} open changes)",
        f"{sweep.queued} evaluations (today {floor_sweep.queued})",
        sweep.queued == 0,
    )


def _timed_sweep(reconciler: Reconciler) -> tuple[Measure, Any]:
    started = time.perf_counter()
    done = reconciler.sweep()  # without a queue, its jobs run as they are queued
    return spread([time.perf_counter() - started]), done


# -- 2. a sweep over many projects -----------------------------------------------------------


def _projects(report: Report, count: int, latency: float) -> None:
    """`count` enforced projects, one in ten with two open changes on master."""
    gerrit, jobs = _world(0, 0.0)
    names = sorted(f"p{i:04}" for i in range(count))
    number = 1
    for name in names[::10]:
        gerrit.set_branch(name, "master", next(_commits), WITH_BOB)
        for _ in range(2):
            gerrit.add_change(change_info(number, HYPERV, {"bob": 2}, owner="uma", project=name))
            number += 1
    config = settings(workers=WORKERS, fallback_owners=(), projects=frozenset(names))
    jobs = Jobs(config, OwnersService(config, GerritConnection(config, rest=gerrit)))
    reconciler = Reconciler(jobs)
    for _ in range(2):  # judge every change; then look once more at the bot's new votes
        reconciler.sweep()
    gerrit.latency = latency
    # today: a query per project
    per_project, _, _ = _timed(
        gerrit,
        lambda: [
            list(jobs.service.gerrit.changes.query(f'status:open project:"{n}"')) for n in names
        ],
    )
    gerrit.log.clear()
    started = time.perf_counter()
    sweep = reconciler.sweep()
    seconds = time.perf_counter() - started
    if sweep.queued:
        report.errors.append(f"an idle sweep of {count} projects evaluated {sweep.queued}")
    estimate = seconds * 10_000 / count
    table = Table(
        f"a sweep over {count:,} enforced projects, {count // 10:,} with 2 open changes, nothing "
        "changed",
        ("path", "time", "REST calls", "ratio"),
    )
    table.add("the queries alone, one per project (today)", per_project, count, "")
    sweep_time = spread([seconds])
    table.add(
        "the whole sweep, 100 projects per query",
        sweep_time,
        sweep.rest_calls,
        ratio(sweep_time, per_project),
    )
    report.tables.append(table)
    report.goal(
        "a sweep of 10,000 projects under 60 s (estimated from this run, linearly)",
        f"{fmt(estimate, 's')} ({fmt(seconds, 's')} for {count:,})",
        estimate < 60,
        gap=f"{fmt(estimate - 60, 's')} over",
        limit="a branch head per branch with open changes, read one at a time",
    )


# -- 4. memory -------------------------------------------------------------------------------

SUBSYSTEMS = 40  # per project's OWNERS.yaml
EVENTS = 10_000
ZIPF = 1.1  # how unevenly events spread over projects: a few busy ones, a long tail


def owners_yaml(project: int) -> bytes:
    """A distinct OWNERS.yaml per project, `SUBSYSTEMS` subsystems of 2 owners each."""
    lines = ["version: 1", "root:", f"  owners: [lead{project}]", "subsystems:"]
    for i in range(SUBSYSTEMS):
        lines += [
            f"  - name: s{i}",
            f"    paths: [src/p{project}/part{i}/, docs/part{i}.md]",
            f"    owners: [dev{project}x{i}, dev{project}y{i}]",
        ]
    return ("\n".join(lines) + "\n").encode()


def _memory(report: Report, projects: int, events: int) -> None:
    """RSS per 100 compiled maps held, and the hit rate of the map cache under an event mix
    spread over `projects` like Zipf's law, at the default size and larger."""
    contents = [owners_yaml(p) for p in range(projects)]
    rss = Table(
        f"RSS of a fresh process holding compiled maps of distinct OWNERS.yaml files "
        f"({SUBSYSTEMS} subsystems each)",
        ("maps held", "RSS added", "per 100 maps"),
    )
    with multiprocessing.get_context("spawn").Pool(1) as fresh:
        for held, added in fresh.apply(_rss_added, (projects,)):
            rss.add(f"{held:,}", _mb(added), _mb(added * 100 / held))
    report.tables.append(rss)
    weights = [1 / (rank + 1) ** ZIPF for rank in range(projects)]
    mix = random.Random(22).choices(range(projects), weights, k=events)
    rates = Table(
        f"hit rate of the compiled-map cache over {events:,} events on {projects:,} projects "
        f"(Zipf {ZIPF})",
        ("OWNERS_MAP_CACHE", "hit rate", "compilations"),
    )
    for size in sorted({DEFAULT_MAP_CACHE, 128, projects // 2, projects}):
        cache = SharedMaps(None, in_memory=size)
        for project in mix:
            cache.compile(contents[project])
        rate = cache.hits / (cache.hits + cache.misses)
        rates.add(f"{size:,}", f"{rate:.1%}", cache.misses)
        if size == projects and cache.misses != len(set(mix)):
            report.errors.append(f"a cache of every map compiled {cache.misses} times")
    report.tables.append(rates)


def _rss_added(projects: int) -> list[tuple[int, int]]:
    """(maps held, RSS added since none) every tenth of `projects` maps compiled."""
    contents = [owners_yaml(p) for p in range(projects)]
    maps = SharedMaps(None, in_memory=projects)
    gc.collect()
    before, found = _rss(), []
    step = max(1, projects // 10)
    for held in range(step, projects + 1, step):
        for content in contents[held - step : held]:
            maps.compile(content)
        gc.collect()
        found.append((held, _rss() - before))
    return found


def _rss() -> int:
    """This process's resident memory, in bytes (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _mb(size: float) -> str:
    return f"{size / 2**20:.1f} MB"
