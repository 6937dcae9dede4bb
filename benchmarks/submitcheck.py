"""Submit-time check: what the owners-submit-check plugin adds to a submit, and what it stops.

On the dev Gerrit with the demo's Nova project and the service, Hyper-V-only changes approved
by alice (the bot's +1 in place) are submitted one at a time, and each `POST .../submit` is
timed from the client: first with the plugin asking the service in Gerrit's onPreMerge, then,
after a Gerrit restart without the plugin's jar, the same way without it.  Each phase starts
with a few unmeasured submits (the JVM runs with the client compiler only).  The service's
own time per check comes from its `owners_submit_check_seconds` histogram.

Then, with and without the plugin, three bursts, each of 20 approved changes submitted at once
from as many threads onto the same branch. Gerrit retries a submit whose branch update
lost the race to another (its LOCK_FAILURE retry re-runs the whole merge, `onPreMerge`
included), so counted are the checks the service answered per submit
(`owners_submit_checks_total`), the submits refused (each change is approved, so any refusal is
a wrong one) and each submit's time.

With and without the plugin it also replays the race of tests/e2e/test_submit_check.py on
fresh changes: carol removes an approving reviewer (dave) and submits the moment Gerrit
acknowledged the removal; counted is how often the change merges on the bot's stale +1 (a
merge with the plugin installed fails the run).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.ongerrit import GERRIT_SKIPPED, devgerrit, nova_project, novademo
from benchmarks.stats import Report, Table, fmt, spread

TITLE = "8. Submit-time check: latency added to a submit, races stopped"
SUBMITS, WARMUP, RACES, BURSTS, BURST = 20, 3, 10, 3, 20


def run(quick: bool) -> Report:
    if quick:
        return Report("submitcheck", TITLE, skipped=GERRIT_SKIPPED)
    report = Report("submitcheck", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    with nova_project() as nova:
        with_plugin = _submits(nova, "with")
        checks = _check_seconds(nova)
        burst_with = _bursts(nova, "with")
        merged_with = sum(_stale_race(nova, f"with{i}") for i in range(RACES))
        nova.gerrit.stop()
        devgerrit.remove_submit_check(nova.gerrit.site)
        nova.gerrit.start()
        without_plugin = _submits(nova, "without")
        burst_without = _bursts(nova, "without")
        merged = sum(_stale_race(nova, f"without{i}") for i in range(RACES))
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        threads = devgerrit.SITE_SETTINGS["httpd.maxThreads"]
        report.notes.append(
            f"Gerrit {nova.gerrit.dist.version} (`httpd.maxThreads` {threads}), {SUBMITS} "
            f"submits each; load average at the end (1, 5, 15 min): {load}."
        )
    table = Table(
        f"{SUBMITS} submits each", ("POST /changes/N/submit", "median", "p95", "min - max")
    )
    for what, measure in (("with the plugin", with_plugin), ("without", without_plugin)):
        table.add(
            what,
            fmt(measure.median, "s"),
            fmt(measure.quantile(0.95), "s"),
            f"{fmt(measure.min, 's')} - {fmt(measure.max, 's')}",
        )
    table.add(
        "added by the plugin",
        fmt(with_plugin.median - without_plugin.median, "s"),
        fmt(with_plugin.quantile(0.95) - without_plugin.quantile(0.95), "s"),
        "",
    )
    table.add("the service's check alone (mean, /metrics)", fmt(checks, "s"), "", "")
    report.tables.append(table)
    bursts = Table(
        f"{BURSTS} bursts of {BURST} submits at once onto one branch",
        ("", "median", "p95", "whole burst (median)", "checks per submit", "refused"),
    )
    for what, burst in (("with the plugin", burst_with), ("without", burst_without)):
        bursts.add(
            what,
            fmt(burst.times.median, "s"),
            fmt(burst.times.quantile(0.95), "s"),
            fmt(burst.seconds.median, "s"),
            f"{burst.checks / (BURSTS * BURST):.2f}" if what == "with the plugin" else "",
            f"{len(burst.refused)} of {BURSTS * BURST}",
        )
    added = burst_with.times.quantile(0.95) - burst_without.times.quantile(0.95)
    bursts.add("added by the plugin", "", fmt(added, "s"), "", "", "")
    report.tables.append(bursts)
    report.goal(
        f"no submit of an approved change refused in {BURSTS} bursts of {BURST} at once",
        f"{len(burst_with.refused)} refused"
        + (f" ({burst_with.refused[0]})" if burst_with.refused else ""),
        met=not burst_with.refused,
        gap=f"{len(burst_with.refused)} of {BURSTS * BURST} refused",
        limit=(
            "Gerrit's HTTP threads (`httpd.maxThreads`, 16 on the dev Gerrit): a submit holds "
            "one while its check waits for the service, whose reads of the change need one "
            "too, so a burst that takes them all leaves its checks to time out "
            "(docs/deployment.md, 'Gerrit's HTTP threads')"
        ),
    )
    races = Table(
        "remove an approver and submit at once",
        ("", "merged on a stale +1", "refused"),
    )
    races.add("without the plugin", f"{merged} of {RACES}", f"{RACES - merged} of {RACES}")
    races.add("with the plugin", f"{merged_with} of {RACES}", f"{RACES - merged_with} of {RACES}")
    if merged_with:
        report.errors.append(f"{merged_with} of {RACES} races merged with the plugin installed")
    report.tables.append(races)
    return report


def _approved(nova: novademo.Nova, tag: str) -> int:
    number = nova.push_change(
        "zed", {f"nova/virt/hyperv/submit_{tag}.py": f"# {tag}\n"}, f"bench submit {tag}"
    )
    nova.vote("alice", number, 2)
    if nova.wait_for_bot(number, 1) != 1:
        raise TimeoutError(f"the bot did not approve change {number}")
    return number


def _submits(nova: novademo.Nova, phase: str) -> Any:
    numbers = [_approved(nova, f"{phase}{i}") for i in range(WARMUP + SUBMITS)]
    timings = []
    for number in numbers:
        started = time.perf_counter()
        merged = nova.submit("alice", number)
        timings.append(time.perf_counter() - started)
        if merged.get("status") != "MERGED":
            raise RuntimeError(f"change {number} did not merge: {merged}")
    return spread(timings[WARMUP:])


@dataclass(frozen=True)
class Burst:
    times: Any  # each submit's time, a `spread`
    seconds: Any  # each whole burst, first start to last answer, a `spread`
    checks: float  # checks the service answered during it
    refused: list[str]  # Gerrit's reason for each refused submit


def _bursts(nova: novademo.Nova, phase: str) -> Burst:
    times: list[float] = []
    seconds: list[float] = []
    refused: list[str] = []
    before = _checks(nova)
    for burst in range(BURSTS):
        numbers = [_approved(nova, f"{phase}-burst{burst}-{i}") for i in range(BURST)]
        seconds.append(_burst(nova, numbers, times, refused))
    return Burst(spread(times), spread(seconds), _checks(nova) - before, refused)


def _burst(
    nova: novademo.Nova, numbers: list[int], times: list[float], refused: list[str]
) -> float:
    """Submit `numbers` at once, adding each submit's time to `times` and Gerrit's reason for
    each refusal to `refused`; the seconds from the first start to the last answer."""
    start = threading.Barrier(len(numbers))

    def submit(number: int) -> None:
        start.wait(60)
        started = time.perf_counter()
        try:
            merged = nova.submit("alice", number).get("status") == "MERGED"
            reason = "" if merged else f"change {number} not merged"
        except devgerrit.RestError as refusal:
            reason = " ".join(refusal.body.split())[:200]
        times.append(time.perf_counter() - started)
        if reason:
            refused.append(reason)

    threads = [threading.Thread(target=submit, args=(n,)) for n in numbers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return time.perf_counter() - started


def _checks(nova: novademo.Nova) -> float:
    """Submit checks the service has answered, whatever their verdict."""
    found = nova.service_metrics()
    return sum(v for k, v in found.items() if k.startswith("owners_submit_checks_total"))


def _check_seconds(nova: novademo.Nova) -> float:
    found = nova.service_metrics()
    count = found.get("owners_submit_check_seconds_count", 0.0)
    return found.get("owners_submit_check_seconds_sum", 0.0) / count if count else 0.0


def _stale_race(nova: novademo.Nova, i: str) -> bool:
    """One race on a fresh change approved by dave and erin: whether it merged."""
    number = nova.push_change("carol", {f"nova/compute/race{i}.py": "# r\n"}, f"race {i}")
    nova.vote("erin", number, 2)
    nova.vote("dave", number, 2)
    if nova.wait_for_bot(number, 1) != 1:
        raise TimeoutError(f"the bot did not approve change {number}")
    acknowledged = threading.Event()
    merged: list[bool] = []

    def submit() -> None:
        acknowledged.wait(30)
        try:
            merged.append(nova.submit("carol", number).get("status") == "MERGED")
        except devgerrit.RestError:
            merged.append(False)

    thread = threading.Thread(target=submit)
    thread.start()
    try:
        nova.rest("carol").delete(f"changes/{number}/reviewers/dave")
    finally:
        acknowledged.set()
        thread.join(60)
    return bool(merged and merged[0])
