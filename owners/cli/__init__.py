"""The `owners` command: ask who must review what, check a change, validate the file.

Every command reads OWNERS.yaml from the root of the git checkout it runs in (or --config),
takes paths relative to the current folder like git does, and prints short aligned text or,
with --json, the stable shapes of `owners.cli.render`.  Errors are one line on stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import click

from owners.cli import render
from owners.engine import (
    CONFIG_PATH,
    Account,
    Change,
    ChangedFile,
    Ownership,
    Severity,
    Vote,
    evaluate,
    parse_config,
    tree_warnings,
)
from owners.engine.coverage import coverage as compute_coverage
from owners.gitrepo import GitError, changed_files, repo_root, tracked_files


class CliError(click.ClickException):
    """A one-line error for the user; exit status 1."""


@dataclass
class Workspace:
    """Where the command runs: the checkout, the config file and how paths are named."""

    config_file: Path
    root: Path | None

    @classmethod
    def find(cls, config: str | None) -> Workspace:
        root = repo_root(Path.cwd())
        if config is not None:
            return cls(Path(config), root)
        if root is None:
            raise CliError(f"not in a git checkout; run inside one or pass --config {CONFIG_PATH}")
        return cls(root / CONFIG_PATH, root)

    @property
    def base(self) -> Path:
        return self.root if self.root is not None else Path.cwd()

    def repo_path(self, arg: str) -> str:
        """A command-line path as the repository names it: relative to the root, '/'-separated."""
        full = Path(os.path.abspath(arg))
        try:
            relative = full.relative_to(self.base.resolve())
        except ValueError:
            raise CliError(f"{arg}: outside the repository at {self.base}") from None
        if full.is_dir() or arg.endswith("/"):
            raise CliError(f"{arg}: is a directory; name a file in it")
        return relative.as_posix()

    def read_config(self) -> bytes:
        try:
            return self.config_file.read_bytes()
        except OSError as exc:
            raise CliError(f"{self.config_file}: {exc.strerror}") from None

    @cached_property
    def ownership(self) -> Ownership:
        config, diagnostics = parse_config(self.read_config(), self._display_name)
        if config is None:
            errors = [str(d) for d in diagnostics if d.severity is Severity.ERROR]
            raise CliError(
                f"{self._display_name} is invalid: {errors[0]}"
                + (f" (and {len(errors) - 1} more; run owners validate)" if len(errors) > 1 else "")
            )
        return Ownership(config)

    @property
    def _display_name(self) -> str:
        try:
            return os.path.relpath(self.config_file)
        except ValueError:
            return str(self.config_file)

    def tree(self) -> list[str]:
        if self.root is None:
            raise CliError("needs a git checkout to list its files")
        return tracked_files(self.root)

    def change_files(self, revrange: str | None) -> list[ChangedFile]:
        if self.root is None:
            raise CliError("needs a git checkout to read a revision range; use --files")
        return changed_files(self.root, revrange)


def _emit(as_json: bool, data: Any, text: Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        output = text()
        if output:
            click.echo(output)


config_option = click.option(
    "--config",
    "config",
    metavar="FILE",
    help=f"OWNERS file to read instead of the checkout's {CONFIG_PATH}.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(package_name="gerrit-owners")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Path-based subsystem ownership for Gerrit."""
    if ctx.invoked_subcommand is None:
        raise click.UsageError("missing command; 'owners --help' lists them")


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@config_option
@json_option
def who(paths: Sequence[str], config: str | None, as_json: bool) -> None:
    """Who must approve each PATH: its requirements and their eligible approvers."""
    ws = Workspace.find(config)
    names = [ws.repo_path(p) for p in paths]
    _emit(
        as_json, render.who_json(ws.ownership, names), lambda: render.who_text(ws.ownership, names)
    )


@cli.command()
@click.argument("path")
@config_option
@json_option
def explain(path: str, config: str | None, as_json: bool) -> None:
    """Why PATH has the owners it has: patterns, parent chain, and each approver's reason."""
    ws = Workspace.find(config)
    explanation = ws.ownership.explain(ws.repo_path(path))
    _emit(as_json, render.explain_json(explanation), lambda: render.explain_text(explanation))


def _change_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.argument("args", nargs=-1, metavar="[REVRANGE | --files PATH...]")(command)
    command = click.option(
        "--files",
        "files_mode",
        is_flag=True,
        help="Treat the arguments as changed files instead of a range.",
    )(command)
    command = click.option(
        "--votes",
        "votes_file",
        type=click.File("r"),
        metavar="FILE",
        help='Votes as {"owner": U, "uploader": U, "votes": [{"user": U, "value": V}]}.',
    )(command)
    return config_option(json_option(command))


def _local_change(ws: Workspace, args: Sequence[str], files_mode: bool, votes_file: Any) -> Change:
    if files_mode:
        if not args:
            raise click.UsageError("--files needs at least one PATH")
        files = [ChangedFile(ws.repo_path(a)) for a in args]
    elif len(args) > 1:
        raise click.UsageError("give one REVRANGE, or --files PATH...")
    else:
        files = ws.change_files(args[0] if args else None)
    owner = uploader = None
    votes: list[Vote] = []
    if votes_file is not None:
        owner, uploader, votes = _read_votes(votes_file)
    return Change.of(files, votes, owner, uploader)


def _account(value: object, where: str) -> Account:
    if not isinstance(value, str) or not value.strip():
        raise CliError(f"votes file: {where} must be a username or email")
    return Account(email=value) if "@" in value else Account(username=value)


def _read_votes(stream: Any) -> tuple[Account | None, Account | None, list[Vote]]:
    try:
        data = json.load(stream)
    except json.JSONDecodeError as exc:
        raise CliError(f"votes file: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise CliError("votes file: expected an object with owner, uploader and votes")
    owner = _account(data["owner"], "owner") if "owner" in data else None
    uploader = _account(data["uploader"], "uploader") if "uploader" in data else owner
    raw_votes = data.get("votes", [])
    if not isinstance(raw_votes, list):
        raise CliError("votes file: votes must be a list")
    votes = []
    for i, item in enumerate(raw_votes):
        if not isinstance(item, dict) or type(item.get("value")) is not int:
            raise CliError(f'votes file: votes[{i}] must be {{"user": U, "value": N}}')
        votes.append(Vote(_account(item.get("user"), f"votes[{i}].user"), item["value"]))
    return owner, uploader, votes


@cli.command()
@_change_options
@click.option(
    "--change",
    "change_number",
    type=int,
    metavar="N",
    help="Ask Gerrit about change N: the verdict the bot would cast.",
)
def check(
    args: Sequence[str],
    files_mode: bool,
    votes_file: Any,
    change_number: int | None,
    config: str | None,
    as_json: bool,
) -> None:
    """What a change needs: by default the commits on HEAD not yet on the upstream branch."""
    if change_number is not None:
        from webhook.service import check_change

        with _service_errors():
            evaluation = check_change(_settings(), change_number)
    else:
        ws = Workspace.find(config)
        evaluation = evaluate(ws.ownership, _local_change(ws, args, files_mode, votes_file))
    _emit(as_json, render.check_json(evaluation), lambda: render.check_text(evaluation))


@cli.command()
@_change_options
def suggest(
    args: Sequence[str], files_mode: bool, votes_file: Any, config: str | None, as_json: bool
) -> None:
    """The reviewers to add: fewest owners covering every unmet requirement."""
    ws = Workspace.find(config)
    evaluation = evaluate(ws.ownership, _local_change(ws, args, files_mode, votes_file))
    reviewers = list(evaluation.suggested_reviewers)
    _emit(as_json, reviewers, lambda: "\n".join(reviewers))


@cli.command()
@click.argument("file", required=False)
@click.option("--no-tree", is_flag=True, help="Skip the check for patterns matching no file.")
@config_option
@json_option
def validate(file: str | None, no_tree: bool, config: str | None, as_json: bool) -> None:
    """Check an OWNERS file; exit status 1 on errors. Prints FILE:LINE:COL: message lines."""
    if file and config:
        raise click.UsageError("give the file once: FILE or --config FILE")
    ws = Workspace.find(file or config)
    config, diagnostics = parse_config(ws.read_config(), ws._display_name)
    if config is not None and not no_tree and ws.root is not None:
        diagnostics += tree_warnings(config, ws.tree())
    _emit(
        as_json,
        render.diagnostics_json(diagnostics),
        lambda: "\n".join(str(d) for d in diagnostics),
    )
    if config is None:
        sys.exit(1)


@cli.command()
@config_option
@json_option
def coverage(config: str | None, as_json: bool) -> None:
    """How the checkout's files divide among subsystems, and the files only root owns."""
    ws = Workspace.find(config)
    result = compute_coverage(ws.ownership, ws.tree())
    _emit(as_json, render.coverage_json(result), lambda: render.coverage_text(result))


def _settings() -> Any:
    from webhook.settings import Settings

    with _service_errors():
        return Settings.from_env(os.environ)


@contextmanager
def _service_errors() -> Iterator[None]:
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

    with _service_errors():
        settings = _settings()
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

    with _service_errors():
        settings = _settings()
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

    with _service_errors():
        sweep = Reconciler(_jobs(_settings())).sweep()
    click.echo(str(sweep))


@cli.command("dead-letters")
@click.argument("keys", nargs=-1, metavar="[KEY...]")
@click.option("--replay", is_flag=True, help="Queue them again (all, or the KEYs given).")
@json_option
def dead_letters(keys: Sequence[str], replay: bool, as_json: bool) -> None:
    """Jobs that kept failing and were set aside; --replay queues them again."""
    import datetime

    with _service_errors():
        jobs = _jobs(_settings())
        letters = jobs.dead_letters()
        if replay:
            replayed = jobs.replay(set(keys) if keys else None)
            _emit(
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

    _emit(as_json, letters, text)


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
def gerrit_setup(project: str, service_url: str, bot: str | None) -> None:
    """Configure a project: the label, its submit requirement, access and the webhook."""
    from webhook.setup import configure_project

    with _service_errors():
        changes = configure_project(_settings(), project, service_url, bot=bot)
    click.echo("\n".join(changes) if changes else f"{project}: already configured, nothing changed")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI with one-line errors: no usage dumps, no tracebacks."""
    try:
        cli.main(args=argv, prog_name="owners", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"owners: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except GitError as exc:
        click.echo(f"owners: git: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(1)
