"""How long a contributor waits for the bot, measured on the demo's Gerrit.

    python benchmarks/bench_latency.py [--changes 24] [--warmup 2] [--keep]

Builds a fresh dev Gerrit (deploy/devgerrit.py), provisions the demo's Nova project with the
service running as `owners serve` (deploy/novademo.py), then for each change, one at a time,
alternating a Hyper-V-only change and a core-only one:

1. zed pushes it over HTTP with git; from `git push` returning until the bot's first verdict
   (its status comment; a fresh change is PENDING, which the bot says without voting);
2. its owners approve it (alice for Hyper-V; carol, then dave for core); from the REST call of
   the approval that completes it returning until the bot's +1 vote is visible.

Gerrit is polled every 50 ms, so each figure is late by up to that much, plus a REST round
trip.  What is measured is end to end: Gerrit's event dispatch, the webhooks plugin's POST,
the service's queue, its evaluation (its own REST calls) and Gerrit indexing the review.  The
REST calls per evaluation come from the service's log line for each evaluation
(`nova~7: PENDING; comment (4 REST calls)`).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))

import devgerrit
import novademo

POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 60.0
_EVALUATION = re.compile(r"^(?P<change>\S+~\d+): [A-Z]+;.*\((?P<calls>\d+) REST calls?\)$")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=24, help="changes measured (default 24)")
    parser.add_argument("--warmup", type=int, default=2, help="changes first, not measured")
    parser.add_argument("--keep", action="store_true", help="keep the Gerrit site and logs")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    site = devgerrit.build_site(scratch / "site")
    started = time.monotonic()
    with (
        devgerrit.GerritServer(site) as gerrit,
        novademo.running(gerrit, scratch / "work") as nova,
    ):
        for i in range(args.warmup):
            _one(nova, i)
        first = len(_evaluations(nova.service_log))
        samples = [_one(nova, args.warmup + i) for i in range(args.changes)]
        nova.wait_until_idle()
        evaluations = _evaluations(nova.service_log)[first:]
        metrics = nova.service_metrics()
    elapsed = time.monotonic() - started

    upload = [s["upload"] for s in samples]
    approval = [s["approval"] for s in samples]
    kinds = Counter(s["kind"] for s in samples)
    print(
        f"\n{len(samples)} changes ({', '.join(f'{n} {k}' for k, n in kinds.items())}), "
        f"polled every {POLL_SECONDS * 1000:.0f} ms, Gerrit {gerrit.dist.version}"
    )
    print(_row("git push returned -> bot's first verdict", upload))
    print(_row("approval returned  -> bot's +1 vote", approval))
    if evaluations:
        calls = [e["calls"] for e in evaluations]
        spread = ", ".join(f"{n}: {c}x" for n, c in sorted(Counter(calls).items()))
        print(
            f"REST calls per evaluation: median {statistics.median(calls):g}, "
            f"mean {statistics.mean(calls):.2f} over {len(calls)} evaluations ({spread})"
        )
    else:
        print("REST calls per evaluation: the service log has no evaluation lines")
    count = metrics.get("owners_evaluation_seconds_count")
    if count:
        mean = metrics["owners_evaluation_seconds_sum"] / count * 1000
        print(f"service-side evaluation (from /metrics): mean {mean:.0f} ms over {count:g}")
    print(f"total {elapsed:.0f} s; site and logs: {scratch if args.keep else 'removed'}")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _one(nova: novademo.Nova, i: int) -> dict[str, object]:
    """Push change `i` (even: Hyper-V only, odd: core only), approve it; both latencies."""
    hyperv = i % 2 == 0
    path = f"nova/virt/hyperv/bench{i}.py" if hyperv else f"nova/compute/bench{i}.py"
    number = nova.push_change("zed", {path: f"# {i}\n"}, f"bench {i}")
    upload = _until(lambda: _comments(nova, number) >= 1, nova.pushed_at)

    approvers = ["alice"] if hyperv else ["carol", "dave"]
    for n, who in enumerate(approvers[:-1], start=2):
        nova.vote(who, number, 2)
        _until(lambda n=n: _comments(nova, number) >= n, time.monotonic())
    nova.vote(approvers[-1], number, 2)
    voted = time.monotonic()
    approval = _until(lambda: nova.bot_vote(number) == 1, voted)
    return {"kind": "hyperv-only" if hyperv else "core", "upload": upload, "approval": approval}


def _comments(nova: novademo.Nova, number: int) -> int:
    messages = nova.gerrit.rest.get(f"changes/{number}/messages")
    return sum(1 for m in messages if m.get("tag") == novademo.BOT_TAG)


def _until(done: Callable[[], bool], since: float) -> float:
    """Seconds from `since` until `done()` holds, polling every POLL_SECONDS."""
    while not done():
        if time.monotonic() - since > TIMEOUT_SECONDS:
            raise TimeoutError(f"the bot did not answer within {TIMEOUT_SECONDS:.0f}s")
        time.sleep(POLL_SECONDS)
    return time.monotonic() - since


def _evaluations(log: Path) -> list[dict[str, object]]:
    """The service's one line per evaluation: change, verdict and REST calls."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("logger") != "webhook.service":
            continue
        match = _EVALUATION.match(str(record.get("message", "")))
        if match:
            found.append({"change": match["change"], "calls": int(match["calls"])})
    return found


def _row(what: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return (
        f"{what}: median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms "
        f"(min {ms[0]:.0f}, max {ms[-1]:.0f})"
    )


if __name__ == "__main__":
    sys.exit(main())
