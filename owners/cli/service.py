"""Commands that run or configure the service: serve, worker, reconcile, dead-letters,
gerrit-setup.  All but gerrit-setup need the service extra (require_extra says so in one
line); its modules are imported when a command runs, so the other commands work without it.
gerrit-setup, `check --change` and `report` need only the base install, Gerrit's client
included: keep Flask, huey, redis and prometheus out of what they import."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from owners.cli.base import CliError, cli, emit, json_option, require_extra


def settings_from_env() -> Any:
    from webhook.settings import Settings

    with service_errors():
        return Settings.from_env(os.environ)


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn the service's own errors (which never carry secrets) into one-line CLI errors."""
    import sqlite3

    from webhook.gerrit import GerritError
    from webhook.settings import SettingsError
    from webhook.setup import SetupError

    queue_errors: tuple[type[Exception], ...] = (sqlite3.Error, *_redis_errors())
    try:
        yield
    except (SettingsError, SetupError, GerritError) as exc:
        raise CliError(str(exc)) from None
    except queue_errors as exc:  # the queue (OWNERS_QUEUE) is unavailable
        raise CliError(f"queue: {type(exc).__name__}: {exc}") from None


def _redis_errors() -> tuple[type[Exception], ...]:
    """Redis's errors when the service extra is installed; check --change, report and
    gerrit-setup need only the base install, and no queue."""
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


@cli.command(short_help="Run the webhook service and its workers [Gerrit].")
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


@cli.command(short_help="Process queued jobs, and reconcile periodically [Gerrit].")
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


@cli.command(short_help="Re-evaluate open changes whose inputs changed [Gerrit].")
@json_option
def reconcile(as_json: bool) -> None:
    """Queue a re-evaluation of each open change whose inputs (revision, votes, OWNERS.yaml,
    group members) changed since its last verdict: one sweep, as the workers run it every
    OWNERS_RECONCILE_INTERVAL seconds.  Needs the OWNERS_GERRIT_* settings."""
    require_extra("service")
    from webhook.reconcile import Reconciler

    with service_errors():
        sweep = Reconciler(_jobs(settings_from_env())).sweep()
    data = {
        "open_changes": sweep.seen,
        "queued": sweep.queued,
        "unchanged": sweep.skipped,
        "forgotten": sweep.forgotten,
        "rest_calls": sweep.rest_calls,
    }
    emit(as_json, data, lambda: str(sweep))


@cli.command("dead-letters", short_help="Jobs that kept failing; --replay retries them [Gerrit].")
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
        settings = settings_from_env()
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


def _jobs(settings: Any) -> Any:
    from webhook.jobs import Jobs

    return Jobs(settings)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@cli.command("gerrit-setup", short_help="Configure a Gerrit project for the service [Gerrit].")
@click.option(
    "--project", required=True, metavar="PROJECT", help="Project to configure, or All-Projects."
)
@click.option(
    "--service-url",
    required=True,
    metavar="URL",
    help="Where Gerrit reaches the service, e.g. http://owners.internal:8080.",
)
@click.option(
    "--bot", metavar="USER", show_default="OWNERS_GERRIT_USER", help="The bot's username."
)
@click.option(
    "--override-group",
    metavar="GROUP",
    show_default="OWNERS_OVERRIDE_GROUP",
    help="Gerrit group that may vote the break-glass label (named by OWNERS_OVERRIDE_LABEL, "
    "Owners-Override unless set) to submit without the owners; the requirement counts only "
    "its members' votes; audited.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace a submit requirement changed by hand in ways that cannot be merged.",
)
@click.option(
    "--dashboards",
    is_flag=True,
    help="Also write a Gerrit project dashboard per subsystem (refs/meta/dashboards/owners).",
)
@json_option
def gerrit_setup(
    project: str,
    service_url: str,
    bot: str | None,
    override_group: str | None,
    force: bool,
    dashboards: bool,
    as_json: bool,
) -> None:
    """Configure a project: the label, its submit requirement, access and the webhook (and
    All-Users' webhook, which reports group changes).  OWNERS_BRANCHES becomes the
    requirement's applicableIf.  Needs the OWNERS_GERRIT_* settings, of an account allowed to
    change the project's configuration."""
    from webhook.setup import configure_group_events, configure_project

    with service_errors():
        settings = settings_from_env()
        changes = configure_project(
            settings, project, service_url, bot=bot, override_group=override_group, force=force
        )
        if override_group and not settings.override_group:
            click.echo(
                f"warning: OWNERS_OVERRIDE_GROUP is not set here; the service counts no "
                f"override until its OWNERS_OVERRIDE_GROUP is '{override_group}'",
                err=True,
            )
        changes += configure_group_events(settings, service_url)
        if dashboards:
            from webhook.dashboards import configure_dashboards

            changes += configure_dashboards(settings, project)
    emit(
        as_json,
        {"project": project, "changes": changes},
        lambda: "\n".join(changes) or f"{project}: already configured, nothing changed",
    )
