"""Submit-time check: what the owners-submit-check plugin adds to a submit, and what it stops.

On the dev Gerrit with the demo's Nova project and the service, Hyper-V-only changes approved
by alice (the bot's +1 in place) are submitted one at a time, and each `POST .../submit` is
timed from the client: first with the plugin asking the service in Gerrit's onPreMerge, then,
after a Gerrit restart without the plugin's jar, the same way without it.  Each phase starts
with a few unmeasured submits (the JVM runs with the client compiler only).  The service's
own time per check comes from its `owners_submit_check_seconds` histogram.

With and without the plugin it also replays the race of tests/e2e/test_submit_check.py on
fresh changes: carol removes an approving reviewer (dave) and submits the moment Gerrit
acknowledged the removal; counted is how often the change merges on the bot's stale +1 (a
merge with the plugin installed fails the run).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from benchmarks.ongerrit import GERRIT_SKIPPED, devgerrit, nova_project, novademo
from benchmarks.stats import Report, Table, fmt, spread

TITLE = "8. Submit-time check: latency added to a submit, races stopped"
SUBMITS, WARMUP, RACES = 20, 3, 10


def run(quick: bool) -> Report:
    if quick:
        return Report("submitcheck", TITLE, skipped=GERRIT_SKIPPED)
    report = Report("submitcheck", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    with nova_project() as nova:
        with_plugin = _submits(nova, "with")
        checks = _check_seconds(nova)
        merged_with = sum(_stale_race(nova, f"with{i}") for i in range(RACES))
        nova.gerrit.stop()
        devgerrit.remove_submit_check(nova.gerrit.site)
        nova.gerrit.start()
        without_plugin = _submits(nova, "without")
        merged = sum(_stale_race(nova, f"without{i}") for i in range(RACES))
        report.notes.append(f"Gerrit {nova.gerrit.dist.version}, {SUBMITS} submits each.")
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
