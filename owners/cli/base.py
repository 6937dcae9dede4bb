"""What every `owners` command shares: the group, one-line errors, --json and --config."""

from __future__ import annotations

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
    """Path-based subsystem ownership for Gerrit."""
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
    except click.ClickException as exc:
        click.echo(f"owners: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except GitError as exc:
        click.echo(f"owners: git: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(1)
