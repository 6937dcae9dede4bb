"""What every `owners` command shares: the group, one-line errors, --json and --config."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from owners.engine import CONFIG_PATH, Ownership, Severity, parse_config
from owners.gitrepo import GitError


class CliError(click.ClickException):
    """A one-line error for the user; exit status 1."""


# The optional parts of the install (pyproject.toml's extras), by the modules that need them.
# The base install has the engine, the CLI and the Gerrit client (check --change, report).
EXTRAS = {
    "service": ("flask", "huey", "redis", "prometheus_client"),
    "plot": ("matplotlib", "jinja2"),
}


class MissingExtra(CliError):
    """A command needs an extra that is not installed: one line naming the command and the
    pip command that adds it, `owners serve: needs the service extra: pip install ...`."""

    def __init__(self, extra: str) -> None:
        ctx = click.get_current_context(silent=True)
        command = ctx.command_path if ctx is not None else "owners"
        super().__init__(
            f"{command}: needs the {extra} extra: pip install 'gerrit-owners[{extra}]'"
        )


def require_extra(extra: str) -> None:
    """Stop with MissingExtra unless every module of `extra` can be imported."""
    if any(importlib.util.find_spec(module) is None for module in EXTRAS[extra]):
        raise MissingExtra(extra)


def _extra_of(exc: ModuleNotFoundError) -> str | None:
    top = (exc.name or "").partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


def emit(as_json: bool, data: Any, text: Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        output = text()
        if output:
            click.echo(output)


def parse_ownership(
    data: bytes | str, name: str, read: Callable[[str], bytes | None] | None = None
) -> Ownership:
    """An OWNERS file's ownership map, or a one-line error naming the first problem.
    `read` gives the files its `include:` names."""
    config, diagnostics = parse_config(data, name, read=read)
    if config is None:
        errors = [str(d) for d in diagnostics if d.severity is Severity.ERROR]
        raise CliError(
            f"{name} is invalid: {errors[0]}"
            + (f" (and {len(errors) - 1} more; run owners validate)" if len(errors) > 1 else "")
        )
    return Ownership(config)


def read_file(path: Path) -> bytes:
    """Read a file the user named (or the checkout's OWNERS.yaml), or a one-line error."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None


def write_file(path: Path, data: bytes) -> None:
    """Write a file the user named, or a one-line error."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None


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
    """Path-based subsystem ownership for Gerrit.

    Commands marked [Gerrit] talk to Gerrit with the service's settings: OWNERS_GERRIT_URL,
    OWNERS_GERRIT_USER and OWNERS_GERRIT_PASSWORD_FILE (or OWNERS_GERRIT_PASSWORD).  The
    others read only the checkout, except `check --change` and `validate --gerrit`.
    """
    if ctx.invoked_subcommand is None:
        raise click.UsageError("missing command; 'owners --help' lists them")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI with one-line errors: no usage dumps, no tracebacks."""
    try:
        cli.main(args=argv, prog_name="owners", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(130)
    except MissingExtra as exc:
        click.echo(exc.format_message(), err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"owners: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except ModuleNotFoundError as exc:  # a path that skipped require_extra: still one line
        extra = _extra_of(exc)
        if extra is None:
            raise
        click.echo(MissingExtra(extra).format_message(), err=True)
        sys.exit(1)
    except GitError as exc:
        click.echo(f"owners: git: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(1)
