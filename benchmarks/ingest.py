"""Ingest: events per second `POST /gerrit/events` takes with a durable enqueue, beside the floor.

The web part runs as deployed (gunicorn with deploy/gunicorn.conf.py) on loopback, with the
SQLite queue and with a Redis queue (a redis-server of its own, when installed).  The floor is
the same app, in the same gunicorn, answering an empty 204 on a route the benchmark adds
(`floor_app`, never in production): what the stack and this load generator can do at all.
Client threads on loopback send event deliveries, each naming a different change so that every
one is a real enqueue (no coalescing), and time every request.  No Gerrit is needed: the web
part never calls it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

from benchmarks.stats import RATE, Measure, Report, Table, fmt, spread

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "deploy"))
import devgerrit  # noqa: E402  (deploy/ holds the throwaway servers, not a package)
import devredis  # noqa: E402
import novademo  # noqa: E402

TOKEN = secrets.token_hex(16)
CLIENTS = 8
GOAL_RATE = 1_000
GOAL_RATIO = 3.0


def floor_app() -> Flask:
    """The production app plus `POST /floor`, which reads nothing and answers 204."""
    from webhook.app import create_app

    app = create_app()
    app.add_url_rule("/floor", "floor", lambda: ("", 204), methods=["POST"])
    return app


@contextlib.contextmanager
def web(queue: str, workdir: Path) -> Iterator[str]:
    """gunicorn serving `floor_app` with the given queue; yields its URL."""
    port = devgerrit.free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "OWNERS_GERRIT_URL": "http://127.0.0.1:9",
        "OWNERS_GERRIT_USER": "owners-bot",
        "OWNERS_GERRIT_PASSWORD": "unused",
        "OWNERS_WEBHOOK_TOKEN": TOKEN,
        "OWNERS_QUEUE": queue,
        "OWNERS_BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(dir=workdir),
    }
    config = str(REPO / "deploy" / "gunicorn.conf.py")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", config, "benchmarks.ingest:floor_app()"],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not novademo.wait_healthy(url, server):
            raise RuntimeError("gunicorn did not start")
        yield url
    finally:
        server.terminate()
        server.wait(30)


def load(url: str, path: str, numbers: range) -> tuple[float, list[float]]:
    """POST an event per number to `path` from CLIENTS threads, each on its own keep-alive
    connection (`http.client`: the lightest Python client, so that the load generator, which
    shares the cores, takes as little as it can); requests per second and each latency.
    Every answer must be 2xx."""
    failures: list[int] = []
    latencies: list[float] = []
    address = urlsplit(url)
    headers = {"Content-Type": "application/json"}

    def client(mine: range) -> None:
        times = []
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        try:
            for n in mine:
                body = event(n)
                start = time.perf_counter()
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                response.read()
                times.append(time.perf_counter() - start)
                if not 200 <= response.status < 300:
                    failures.append(response.status)
        finally:
            connection.close()
        latencies.extend(times)

    threads = [threading.Thread(target=client, args=(numbers[i::CLIENTS],)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return len(numbers) / elapsed, latencies


def event(n: int) -> bytes:
    return json.dumps(
        {
            "type": "comment-added",
            "change": {"project": "nova", "branch": "master", "id": f"I{n:040x}", "number": n},
            "author": {"username": "alice"},
        }
    ).encode()


def _measure(url: str, count: int, repeats: int) -> dict[str, tuple[Measure, Measure]]:
    """{"floor"|"events": (rates, latencies)}, the two alternating round by round; every
    event names a change of its own."""
    paths = {"floor": "/floor", "events": f"/gerrit/events/{TOKEN}"}
    rates: dict[str, list[float]] = {name: [] for name in paths}
    latencies: dict[str, list[float]] = {name: [] for name in paths}
    load(url, paths["floor"], range(1, 201))  # warm up both processes
    for round_ in range(repeats):
        numbers = range((round_ + 1) * 1_000_000, (round_ + 1) * 1_000_000 + count)
        for name, path in paths.items():
            rate, times = load(url, path, numbers)
            rates[name].append(rate)
            latencies[name] += times
    return {name: (spread(rates[name], RATE), spread(latencies[name])) for name in paths}


def run(quick: bool) -> Report:
    count, repeats = (500, 2) if quick else (3_000, 5)
    report = Report("ingest", "2. Ingest: POST /gerrit/events with a durable enqueue")
    processes = os.environ.get("OWNERS_WEB_PROCESSES", "2")
    report.notes.append(
        f"gunicorn as deployed ({processes} processes x 8 threads); {CLIENTS} client threads "
        "(Python `http.client`, a keep-alive connection each) on loopback; "
        f"{count:,} requests per round, {repeats} rounds alternating the floor and the events. "
        "Rates: median (min - max) over rounds; latencies over every request of every round. "
        "*floor*: the same app in the same gunicorn answering an empty 204. The load "
        f"generator shares the {os.cpu_count()} cores with the server."
    )
    table = Table(
        "events against the floor",
        ("queue", "floor req/s", "events/s", "floor / events", "floor p50 / p99",
         "events p50 / p99"),
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
        workdir = Path(scratch)
        with contextlib.ExitStack() as stack:
            backends = [("SQLite", str(workdir / "queue.db"))]
            if devredis.available():
                backends.append(("Redis", stack.enter_context(devredis.redis_server(workdir))))
            for name, queue in backends:
                with web(queue, workdir) as url:
                    found = _measure(url, count, repeats)
                (floor, floor_ms), (events, events_ms) = found["floor"], found["events"]
                table.add(
                    name,
                    floor,
                    events,
                    f"x{floor.median / events.median:.2f}",
                    _percentiles(floor_ms),
                    _percentiles(events_ms),
                )
                _goals(report, name, events, floor)
    report.tables.append(table)
    return report


def _goals(report: Report, backend: str, events: Measure, floor: Measure) -> None:
    rate, slower = events.median, floor.median / events.median
    limit = (
        "the CPU: two cores shared by gunicorn's two processes, the queue and the Python load "
        "generator, which alone caps the floor; in process an event costs about twice the "
        "floor's Flask dispatch: JSON parsing and validation, then two queue writes (the "
        "coalescing marker, then huey's task)"
    )
    report.goal(
        f">= {GOAL_RATE:,} events/s ({backend})",
        fmt(rate, RATE),
        rate >= GOAL_RATE,
        gap=f"{fmt(GOAL_RATE - rate, RATE)} short",
        limit=limit,
    )
    report.goal(
        f"within {GOAL_RATIO:g}x of the floor ({backend})",
        f"floor/events = x{slower:.2f}",
        slower <= GOAL_RATIO,
        gap=f"x{slower / GOAL_RATIO:.2f} over the allowance",
        limit=limit,
    )


def _percentiles(latencies: Measure) -> str:
    return f"{fmt(latencies.quantile(0.5), 's')} / {fmt(latencies.quantile(0.99), 's')}"
