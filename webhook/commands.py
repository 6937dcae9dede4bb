"""The service's commands: serve, worker, reconcile, dead-letters.

pyproject.toml registers them under the `owners.commands` entry points, which the `owners`
group loads by name; the CLI never imports this package.  They need the service extra
(require_extra says so in one line); its modules are imported when a command runs, so that
`owners --help` works without it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from owners.console import (
    CliError,
    emit,
    json_option,
    require_extra,
    site_errors,
)
from webhook.settings import ServiceSettings


@contextmanager
def service_errors() -> Iterator[None]:
    """`site_errors`, and the queue's (OWNERS_QUEUE unavailable) as one line too."""
    import sqlite3

    queue_errors: tuple[type[Exception], ...] = (sqlite3.Error, *_redis_errors())
    try:
        with site_errors():
            yield
    except queue_errors as exc:
        raise CliError(f"queue: {type(exc).__name__}: {exc}") from None


def _redis_errors() -> tuple[type[Exception], ...]:
    """Redis's errors when the service extra is installed (a SQLite queue needs none)."""
    try:
        from redis.exceptions import RedisError
    except ImportError:
        return ()
    return (RedisError,)


workers_option = click.option(
    "--workers",
    type=click.IntRange(min=0),
    metavar="N",
    show_default="OWNERS_WORKERS, or 4",
    help="Worker threads in this process.",
)


@click.command(short_help="Run the webhook service and its workers [Gerrit].")
@click.option(
    "--host", default="127.0.0.1", show_default=True, metavar="HOST", help="Address to listen on."
)
@click.option(
    "--port", default=8080, show_default=True, type=int, metavar="PORT", help="Port to listen on."
)
@workers_option
@click.option(
    "--web-only", is_flag=True, help="Only accept events; `owners worker` processes them."
)
def serve(host: str, port: int, workers: int | None, web_only: bool) -> None:
    """Run the webhook service with its workers in one process (a development server: in
    production run gunicorn, and `owners worker` for the jobs).  Needs the OWNERS_GERRIT_*
    settings."""
    require_extra("service")
    from webhook import logs
    from webhook.app import EXTENSION, create_app
    from webhook.worker import Worker

    with service_errors():
        settings = ServiceSettings.from_env()
        logs.configure(settings.secrets)
        app = create_app(settings)
    worker = None
    if not web_only:
        threads = settings.workers if workers is None else workers
        jobs = app.extensions[EXTENSION].jobs
        worker = Worker(jobs, threads, settings.reconcile_interval).start()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app.run(host=host, port=port, threaded=True)
    finally:
        if worker is not None:
            worker.stop()


@click.command(short_help="Process queued jobs, and reconcile periodically [Gerrit].")
@workers_option
@click.option(
    "--metrics-port", type=int, metavar="PORT", help="Serve this process's /metrics on PORT."
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    metavar="HOST",
    help="Address for --metrics-port.",
)
def worker(workers: int | None, metrics_port: int | None, metrics_host: str) -> None:
    """Process queued jobs, and reconcile every OWNERS_RECONCILE_INTERVAL seconds, until
    SIGTERM or Ctrl-C.  Run as many as needed, on several machines with a redis:// queue.
    Needs the OWNERS_GERRIT_* settings."""
    require_extra("service")
    import threading

    from prometheus_client import start_http_server

    from webhook import logs
    from webhook.worker import Worker

    with service_errors():
        settings = ServiceSettings.from_env()
        logs.configure(settings.secrets)
        jobs = _jobs(settings)
    if metrics_port is not None:
        start_http_server(metrics_port, addr=metrics_host, registry=jobs.metrics.registry)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threads = settings.workers if workers is None else workers
    running = Worker(jobs, max(1, threads), settings.reconcile_interval).start()
    while not stop.wait(1):
        pass
    running.stop()


@click.command(short_help="Re-evaluate open changes whose inputs changed [Gerrit].")
@json_option
def reconcile(as_json: bool) -> None:
    """Queue a re-evaluation of each open change whose inputs (revision, votes, OWNERS.yaml,
    group members) changed since its last verdict: one sweep, as the workers run it every
    OWNERS_RECONCILE_INTERVAL seconds.  Needs the OWNERS_GERRIT_* settings."""
    require_extra("service")
    from webhook.reconcile import Reconciler

    with service_errors():
        sweep = Reconciler(_jobs(ServiceSettings.from_env())).sweep()
    data = {
        "open_changes": sweep.seen,
        "queued": sweep.queued,
        "unchanged": sweep.skipped,
        "forgotten": sweep.forgotten,
        "rest_calls": sweep.rest_calls,
    }
    emit(as_json, data, lambda: str(sweep))


@click.command("dead-letters", short_help="Jobs that kept failing; --replay retries them [Gerrit].")
@click.argument("keys", nargs=-1, metavar="[KEY...]")
@click.option("--replay", is_flag=True, help="Queue them again (all, or the KEYs given).")
@json_option
def dead_letters(keys: Sequence[str], replay: bool, as_json: bool) -> None:
    """Jobs that kept failing and were set aside; --replay queues them again.  Needs the
    OWNERS_GERRIT_* settings (and OWNERS_QUEUE).  A queue file that does not exist holds no
    dead letters: it is not created just to be listed."""
    require_extra("service")
    import datetime

    with service_errors():
        settings = ServiceSettings.from_env()
        if not settings.uses_redis and not os.path.exists(settings.queue or ""):
            if replay:
                emit(as_json, [], lambda: "queued 0 dead letters")
            else:
                emit(as_json, [], lambda: "no dead letters")
            return
        jobs = _jobs(settings)
        letters = jobs.dead_letters()
        if replay:
            replayed = jobs.replay(set(keys) if keys else None)
            emit(
                as_json,
                [job.to_dict() for job in replayed],
                lambda: f"queued {len(replayed)} dead letter" + ("" if len(replayed) == 1 else "s"),
            )
            return
    if keys:
        letters = [letter for letter in letters if letter["key"] in keys]

    def text() -> str:
        if not letters:
            return "no dead letters"
        lines = []
        for letter in letters:
            when = datetime.datetime.fromtimestamp(letter.get("at", 0), datetime.UTC)
            lines.append(
                f"{letter['key']}  {letter.get('attempts')} attempts  "
                f"{when:%Y-%m-%d %H:%M:%S}Z  {letter.get('error')}"
            )
        return "\n".join(lines)

    emit(as_json, letters, text)


def _jobs(settings: ServiceSettings) -> Any:
    from webhook.jobs import Jobs

    return Jobs(settings)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
