"""Commands on a git checkout: who, explain, check, suggest, validate, coverage.

Each reads OWNERS.yaml from the checkout's root (or --config) and takes paths relative to the
current folder, like git.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from owners.cli import render
from owners.cli.base import (
    CliError,
    cache_enabled,
    cli,
    config_option,
    emit,
    json_option,
    parse_ownership,
    read_file,
)
from owners.cli.service import service_errors, settings_from_env
from owners.engine import (
    CONFIG_PATH,
    Account,
    Change,
    ChangedFile,
    Ownership,
    Verdict,
    Vote,
    evaluate,
)
from owners.engine.coverage import coverage as compute_coverage
from owners.gitrepo import GitError, changed_files, checkout, tracked_files

if TYPE_CHECKING:
    from owners.cache import DiskCache


@dataclass
class Workspace:
    """Where the command runs: the checkout, the config file and how paths are named."""

    config_file: Path
    root: Path | None
    git_dir: Path | None = None

    @classmethod
    def find(cls, config: str | None) -> Workspace:
        found = checkout(Path.cwd())
        root, git_dir = found if found is not None else (None, None)
        if config is not None:
            return cls(Path(config), root, git_dir)
        if root is None:
            raise CliError(f"not in a git checkout; run inside one or pass --config {CONFIG_PATH}")
        return cls(root / CONFIG_PATH, root, git_dir)

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
        return read_file(self.config_file)

    @cached_property
    def ownership(self) -> Ownership:
        return parse_ownership(
            self.read_config(), self._display_name, self.cache, self.read_included
        )

    def read_included(self, path: str) -> bytes | None:
        """A file `include:` names, relative to the root OWNERS file's directory (the
        checkout's root); None when it is absent."""
        try:
            return (self.config_file.parent / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror}") from None

    @property
    def cache(self) -> DiskCache | None:
        """Where compiled maps are kept: the checkout's git folder, else the user's cache
        folder; None with --no-cache."""
        if not cache_enabled():
            return None
        from owners.cache import FOLDER, DiskCache, user_cache_folder

        return DiskCache(self.git_dir / FOLDER if self.git_dir else user_cache_folder())

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


@cli.command(short_help="Who must approve each PATH.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@config_option
@json_option
def who(paths: Sequence[str], config: str | None, as_json: bool) -> None:
    """Who must approve each PATH: its requirements and their eligible approvers.

    A PATH that cannot be named (outside the checkout, a directory) is reported on stderr
    and the exit status is 1, but the other paths are still answered: one typo in a list
    must not hide the answers for the rest.
    """
    ws = Workspace.find(config)
    names, bad = [], []
    for path in paths:
        try:
            names.append(ws.repo_path(path))
        except CliError as exc:
            bad.append(exc.format_message())
    if names:
        ownership = ws.ownership
        emit(as_json, render.who_json(ownership, names), lambda: render.who_text(ownership, names))
    if bad:
        for message in bad[:-1]:
            click.echo(f"owners: {message}", err=True)
        raise CliError(bad[-1])


@cli.command(short_help="Why PATH has the owners it has.")
@click.argument("path")
@config_option
@json_option
def explain(path: str, config: str | None, as_json: bool) -> None:
    """Why PATH has the owners it has: patterns, parent chain, and each approver's reason."""
    ws = Workspace.find(config)
    explanation = ws.ownership.explain(ws.repo_path(path))
    policy = ws.ownership.config.policy
    data = render.explain_json(explanation)
    if render.exceptions(policy):
        data["exceptions"] = render.exceptions(policy)
    emit(
        as_json,
        data,
        lambda: "\n".join(
            t for t in (render.explain_text(explanation), render.exceptions_text(policy)) if t
        ),
    )


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


class CheckUnavailable(CliError):
    """`owners check` could not reach a verdict: exit 2, apart from 1 (not approved)."""

    exit_code = 2


@cli.command(short_help="What a change needs; exit 0 approved, 1 pending or blocked.")
@_change_options
@click.option(
    "--change",
    "change_number",
    type=int,
    metavar="N",
    help="Ask Gerrit about change N: the verdict the bot would cast (needs OWNERS_GERRIT_*).",
)
def check(
    args: Sequence[str],
    files_mode: bool,
    votes_file: Any,
    change_number: int | None,
    config: str | None,
    as_json: bool,
) -> None:
    """What a change needs: by default the commits on HEAD not yet on the upstream branch.

    Exit status, for scripts and hooks: 0 when the verdict is APPROVED, 1 when PENDING or
    BLOCKED (without --votes or --change nobody has voted, so that is PENDING unless nothing
    needs approval), 2 when there is no verdict (usage, OWNERS.yaml, git or Gerrit errors).
    """
    try:
        if change_number is not None:
            from webhook.service import check_change

            with service_errors():
                evaluation = check_change(settings_from_env(), change_number)
        else:
            ws = Workspace.find(config)
            evaluation = evaluate(ws.ownership, _local_change(ws, args, files_mode, votes_file))
    except CliError as exc:
        raise CheckUnavailable(exc.format_message()) from None
    except GitError as exc:
        raise CheckUnavailable(f"git: {exc}") from None
    emit(as_json, render.check_json(evaluation), lambda: render.check_text(evaluation))
    if evaluation.verdict is not Verdict.APPROVED:
        sys.exit(1)


@cli.command(short_help="The reviewers to add to a change.")
@_change_options
def suggest(
    args: Sequence[str], files_mode: bool, votes_file: Any, config: str | None, as_json: bool
) -> None:
    """The reviewers to add: fewest owners covering every unmet requirement."""
    ws = Workspace.find(config)
    evaluation = evaluate(ws.ownership, _local_change(ws, args, files_mode, votes_file))
    reviewers = list(evaluation.suggested_reviewers)
    emit(as_json, reviewers, lambda: "\n".join(reviewers))


@cli.command(short_help="Check OWNERS.yaml; --gerrit also checks names [Gerrit].")
@click.argument("file", required=False)
@click.option("--no-tree", is_flag=True, help="Skip the check for patterns matching no file.")
@click.option(
    "--gerrit",
    "use_gerrit",
    is_flag=True,
    help="Also look up every username, email and gerrit: group in Gerrit and count the "
    "eligible accounts that exist (needs OWNERS_GERRIT_*).",
)
@click.option("--strict", is_flag=True, help="Exit status 1 on warnings too.")
@config_option
@json_option
def validate(
    file: str | None,
    no_tree: bool,
    use_gerrit: bool,
    strict: bool,
    config: str | None,
    as_json: bool,
) -> None:
    """Check an OWNERS file; exit status 1 on errors (with --strict, on warnings too).
    Prints FILE:LINE:COL: message lines.  --gerrit needs the OWNERS_GERRIT_* settings."""
    if file and config:
        raise click.UsageError("give the file once: FILE or --config FILE")
    from owners.engine import parse_config, tree_warnings

    ws = Workspace.find(file or config)
    data = ws.read_config()
    if use_gerrit:
        from webhook.gerrit import GerritConnection

        with service_errors():
            directory = GerritConnection(settings_from_env()).directory()
            config, diagnostics = parse_config(
                data, ws._display_name, directory, read=ws.read_included
            )
    else:
        config, diagnostics = parse_config(data, ws._display_name, read=ws.read_included)
    if config is not None and not no_tree and ws.root is not None:
        diagnostics += tree_warnings(config, ws.tree())
    emit(
        as_json,
        render.diagnostics_json(diagnostics),
        lambda: "\n".join(str(d) for d in diagnostics),
    )
    if config is None or (strict and diagnostics):
        sys.exit(1)


@cli.command(short_help="How the checkout's files divide among subsystems.")
@config_option
@json_option
def coverage(config: str | None, as_json: bool) -> None:
    """How the checkout's files divide among subsystems, and the files only root owns."""
    ws = Workspace.find(config)
    result = compute_coverage(ws.ownership, ws.tree())
    emit(as_json, render.coverage_json(result), lambda: render.coverage_text(result))


@cli.command(short_help="Print the JSON Schema of OWNERS.yaml, for editors.")
def schema() -> None:
    """Print the JSON Schema of OWNERS.yaml, for editors (docs/format.md: Editors)."""
    from owners.engine.schema import owners_schema

    click.echo(json.dumps(owners_schema(), indent=2))
