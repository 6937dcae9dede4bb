"""The command-line plumbing that the CLI (`owners.cli`) and the service's commands
(`webhook.commands`) share: one-line errors, --json output, the optional extras, and the
site's settings read from the environment with their errors as one line.

It sits in the base layer so that neither top layer imports the other's internals.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from owners.gerrit.settings import Settings


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


def extra_of(exc: ModuleNotFoundError) -> str | None:
    top = (exc.name or "").partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


def emit(as_json: bool, data: Any, text: Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        output = text()
        if output:
            click.echo(output)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def settings_from_env() -> Settings:
    """The site's settings (`OWNERS_*`), or a one-line error naming the first bad one."""
    from owners.gerrit.settings import Settings

    with site_errors():
        return Settings.from_env(os.environ)


@contextmanager
def site_errors() -> Iterator[None]:
    """Turn the settings', the setup's and Gerrit's errors (which never carry secrets) into
    one-line CLI errors."""
    from owners.gerrit.model import GerritError
    from owners.gerrit.settings import SettingsError
    from owners.gerrit.setup import SetupError

    try:
        yield
    except (SettingsError, SetupError, GerritError) as exc:
        raise CliError(str(exc)) from None
