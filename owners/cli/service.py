"""Commands that run or configure the service: serve, worker, reconcile, dead-letters,
gerrit-setup.  The service's modules are imported when a command runs, so the checkout
commands work with the engine alone installed."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from owners.cli.base import CliError, cli, emit, json_option


def settings_from_env() -> Any:
    from webhook.settings import Settings

    with service_errors():
        return Settings.from_env(os.environ)


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn the service's own errors (which never carry secrets) into one-line CLI errors."""
    import sqlite3

    from redis.exceptions import RedisError

    from webhook.gerrit import GerritError
    from webhook.settings import SettingsError
    from webhook.setup import SetupError

    try:
        yield
    except (SettingsError, SetupError, GerritError) as exc:
        raise CliError(str(exc)) from None
    except (sqlite3.Error, RedisError) as exc:  # the queue (OWNERS_QUEUE) is unavailable
        raise CliError(f"queue: {type(exc).__name__}: {exc}") from None


workers_option = click.option(
    "--workers",
    type=click.IntRange(min=0),
    metavar="N",
    help="Worker threads in this process (default: OWNERS_WORKERS, or 4).",
)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@workers_option
@click.option(
    "--web-only", is_flag=True, help="Only accept events; `owners worker` processes them."
)
def serve(host: str, port: int, workers: int | None, web_only: bool) -> None:
    """Run the webhook service with its workers in one process (a development server: in
    production run gunicorn, and `owners worker` for the jobs)."""
    from webhook import logs
    from webhook.app import EXTENSION, create_app
    from webhook.worker import Worker

    with service_errors():
        settings = settings_from_env()
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


@cli.command()
@workers_option
@click.option(
    "--metrics-port", type=int, metavar="PORT", help="Serve this process's /metrics on PORT."
)
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port."
)
def worker(workers: int | None, metrics_port: int | None, metrics_host: str) -> None:
    """Process queued jobs, and reconcile every OWNERS_RECONCILE_INTERVAL seconds, until
    SIGTERM or Ctrl-C.  Run as many as needed, on several machines with a redis:// queue."""
    import threading

    from prometheus_client import start_http_server

    from webhook import logs
    from webhook.worker import Worker

    with service_errors():
        settings = settings_from_env()
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


@cli.command()
def reconcile() -> None:
    """Queue a re-evaluation of each open change whose inputs (revision, votes, OWNERS.yaml,
    group members) changed since its last verdict: one sweep, as the workers run it every
    OWNERS_RECONCILE_INTERVAL seconds."""
    from webhook.reconcile import Reconciler

    with service_errors():
        sweep = Reconciler(_jobs(settings_from_env())).sweep()
    click.echo(str(sweep))


@cli.command("dead-letters")
@click.argument("keys", nargs=-1, metavar="[KEY...]")
@click.option("--replay", is_flag=True, help="Queue them again (all, or the KEYs given).")
@json_option
def dead_letters(keys: Sequence[str], replay: bool, as_json: bool) -> None:
    """Jobs that kept failing and were set aside; --replay queues them again."""
    import datetime

    with service_errors():
        jobs = _jobs(settings_from_env())
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


def _jobs(settings: Any) -> Any:
    from webhook.jobs import Jobs

    return Jobs(settings)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@cli.command("gerrit-setup")
@click.option(
    "--project", required=True, metavar="P", help="Project to configure, or All-Projects."
)
@click.option(
    "--service-url",
    required=True,
    metavar="URL",
    help="Where Gerrit reaches the service, e.g. http://owners.internal:8080.",
)
@click.option("--bot", metavar="USER", help="The bot's username (default: OWNERS_GERRIT_USER).")
@click.option(
    "--dashboards",
    is_flag=True,
    help="Also write a Gerrit project dashboard per subsystem (refs/meta/dashboards/owners).",
)
def gerrit_setup(project: str, service_url: str, bot: str | None, dashboards: bool) -> None:
    """Configure a project: the label, its submit requirement, access and the webhook (and
    All-Users' webhook, which reports group changes)."""
    from webhook.setup import configure_group_events, configure_project

    with service_errors():
        settings = settings_from_env()
        changes = configure_project(settings, project, service_url, bot=bot)
        changes += configure_group_events(settings, service_url)
        if dashboards:
            from webhook.dashboards import configure_dashboards

            changes += configure_dashboards(settings, project)
    click.echo("\n".join(changes) if changes else f"{project}: already configured, nothing changed")
