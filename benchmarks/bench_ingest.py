"""How many webhook deliveries per second the web part accepts with a durable enqueue.

    python benchmarks/bench_ingest.py [--requests N] [--clients C]

Starts the web part as deployed (gunicorn with deploy/gunicorn.conf.py) on loopback, once
with the SQLite queue and once with a Redis queue (a redis-server of its own, if installed),
and sends N event deliveries from C client threads, each naming a different change so that
every one is a real enqueue (no coalescing).  The same run measures GET /healthz, which
does no work, as the baseline of what the server and this client can do at all.  No Gerrit
is needed: the web part never calls it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "deploy"))
import devgerrit  # noqa: E402  (deploy/ holds the throwaway servers, not a package)
import devredis  # noqa: E402
import novademo  # noqa: E402

TOKEN = secrets.token_hex(16)


@contextlib.contextmanager
def web(queue: str, workdir: Path) -> Iterator[str]:
    port = devgerrit.free_port()
    env = {
        **os.environ,
        "OWNERS_GERRIT_URL": "http://127.0.0.1:9",
        "OWNERS_GERRIT_USER": "owners-bot",
        "OWNERS_GERRIT_PASSWORD": "unused",
        "OWNERS_WEBHOOK_TOKEN": TOKEN,
        "OWNERS_QUEUE": queue,
        "OWNERS_BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(dir=workdir),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(REPO / "deploy" / "gunicorn.conf.py"),
            "webhook.app:create_app()",
        ],
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


def rate(count: int, clients: int, request: Callable[[requests.Session, int], int]) -> float:
    """Requests per second; every answer must be 2xx."""
    failures: list[int] = []
    chunks = [range(i, count, clients) for i in range(clients)]

    def run(numbers: range) -> None:
        with requests.Session() as session:
            for n in numbers:
                status = request(session, n)
                if not 200 <= status < 300:
                    failures.append(status)

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return count / elapsed


def event(n: int) -> bytes:
    return json.dumps(
        {
            "type": "comment-added",
            "change": {"project": "nova", "branch": "master", "id": f"I{n:040x}", "number": n},
            "author": {"username": "alice"},
        }
    ).encode()


def measure(url: str, count: int, clients: int, offset: int) -> tuple[float, float]:
    healthz = rate(count, clients, lambda s, n: s.get(f"{url}/healthz").status_code)
    post = f"{url}/gerrit/events/{TOKEN}"
    headers = {"Content-Type": "application/json"}
    ingest = rate(
        count,
        clients,
        lambda s, n: s.post(post, data=event(offset + n + 1), headers=headers).status_code,
    )
    return healthz, ingest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print(
        f"{args.requests} requests per measure, {args.clients} client threads, "
        f"gunicorn {os.environ.get('OWNERS_WEB_PROCESSES', '2')} processes x 8 threads, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'queue':<8} {'/healthz req/s':>15} {'events req/s':>13} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
        workdir = Path(scratch)
        with contextlib.ExitStack() as stack:
            backends = [("sqlite", str(workdir / "queue.db"))]
            if devredis.available():
                backends.append(("redis", stack.enter_context(devredis.redis_server(workdir))))
            for name, queue in backends:
                with web(queue, workdir) as url:
                    rate(200, args.clients, lambda s, n: s.get(f"{url}/healthz").status_code)
                    healthz, ingest = measure(url, args.requests, args.clients, 0)
                print(f"{name:<8} {healthz:>15.0f} {ingest:>13.0f} {ingest / healthz:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
