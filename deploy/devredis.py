"""A throwaway redis-server for the fault tests and the ingest benchmark.

It listens on a random 127.0.0.1 port, persists nothing, and is stopped when the `with`
block ends.  `deploy/test.sh` installs the Debian package when it is missing.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import devgerrit
import redis


def available() -> bool:
    return shutil.which("redis-server") is not None


@contextlib.contextmanager
def redis_server(workdir: Path, startup_timeout: float = 10.0) -> Iterator[str]:
    """Start a redis-server in `workdir`; yield its URL once it answers PING."""
    port = devgerrit.free_port()
    log = (Path(workdir) / "redis.log").open("wb")
    server = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(10)
        log.close()
