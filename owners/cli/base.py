"""What every `owners` command shares: the group, --config, and (from `owners.console`) one-line
errors and --json."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from owners.console import CliError, MissingExtra, extra_of
from owners.engine.model import CONFIG_PATH
from owners.gitrepo import GitError

if TYPE_CHECKING:
    from owners.cache import DiskCache
    from owners.engine import Ownership

# Each command's module, imported only when that command runs (or help lists them all): a
# local command never pays for the service's, the charts' or the migrations' imports.
COMMANDS = {
    "who": "local", "explain": "local", "check": "change", "suggest": "change",
    "validate": "local", "coverage": "local", "schema": "local", "stats": "history",
    "report": "report", "queue": "queue",
    "import": "migrate", "export": "migrate", "audit": "audit", "gerrit-setup": "setup",
}  # fmt: skip
# Other packages add commands under this entry-point group, as Flask's `flask.commands`: the
# service registers serve, worker, reconcile and dead-letters (pyproject.toml), and the CLI
# never imports the service.
PLUGIN_COMMANDS = "owners.commands"
NO_CACHE = "owners.no_cache"  # in click's context meta: --no-cache was given


def parse_ownership(
    data: bytes | str,
    name: str,
    cache: DiskCache | None = None,
    read: Callable[[str], bytes | None] | None = None,
) -> Ownership:
    """An OWNERS file's ownership map, or a one-line error naming the first problem.

    With a `cache`, a file compiled before (same bytes, same package) is reopened from it.
    `read` gives the files its `include:` names; a file that may name any is compiled afresh,
    since the cache is keyed by the root file's bytes alone.
    """
    if cache is None or isinstance(data, str) or b"include" in data:
        return _compile(data, name, read)
    from owners.cache import load

    return load(data, name, cache, _compile)


def _compile(
    data: bytes | str, name: str, read: Callable[[str], bytes | None] | None = None
) -> Ownership:
    from owners.engine import Ownership, Severity, parse_config

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


def files_in(folder: Path) -> Callable[[str], bytes | None]:
    """Reads the files an OWNERS file's `include:` names, relative to its folder: None for
    one that is absent (the config's error to report), a one-line error for one unreadable."""

    def read(path: str) -> bytes | None:
        try:
            return (folder / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror}") from None

    return read


def write_file(path: Path, data: bytes) -> None:
    """Write a file the user named, or a one-line error."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None


def _remember_no_cache(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[NO_CACHE] = True


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--config FILE, and --no-cache (read by `cache_enabled`) for commands that read it."""
    command = click.option(
        "--no-cache",
        is_flag=True,
        expose_value=False,
        callback=_remember_no_cache,
        help="Compile OWNERS.yaml afresh instead of reusing the compiled map.",
    )(command)
    return click.option(
        "--config",
        "config",
        metavar="FILE",
        help=f"OWNERS file to read instead of the checkout's {CONFIG_PATH}.",
    )(command)


def cache_enabled() -> bool:
    """Whether this command may reuse compiled maps (no --no-cache given)."""
    ctx = click.get_current_context(silent=True)
    return ctx is None or not ctx.meta.get(NO_CACHE, False)


class LazyGroup(click.Group):
    """The `owners` group, importing a command's module when the command is asked for; other
    packages' commands come from the `owners.commands` entry points, loaded the same way."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from importlib.metadata import entry_points  # here: it is slow to import

        plugins = (point.name for point in entry_points(group=PLUGIN_COMMANDS))
        return sorted({*COMMANDS, *self.commands, *plugins})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"owners.cli.{COMMANDS[cmd_name]}")  # registers it
        if cmd_name not in self.commands:
            from importlib.metadata import entry_points

            for point in entry_points(group=PLUGIN_COMMANDS, name=cmd_name):
                self.add_command(point.load(), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
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
        extra = extra_of(exc)
        if extra is None:
            raise
        click.echo(MissingExtra(extra).format_message(), err=True)
        sys.exit(1)
    except GitError as exc:
        click.echo(f"owners: git: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(1)
