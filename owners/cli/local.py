"""Commands on a git checkout's OWNERS.yaml: who, explain, validate, coverage, schema.

Each reads OWNERS.yaml from the checkout's root (or --config) and takes paths relative to the
current folder, like git.  `Workspace` is that checkout; the commands about a change (check,
suggest) are in `owners.cli.change`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

from owners.cli.base import (
    cache_enabled,
    cli,
    config_option,
    files_in,
    parse_ownership,
    read_file,
)
from owners.console import CliError, emit, json_option
from owners.engine.model import CONFIG_PATH
from owners.gitrepo import (
    changed_files,
    checkout,
    commits_ahead,
    tracked_files,
    upstream_of_head,
    worktree_files,
)
from owners.views import render
from owners.wording import plural

if TYPE_CHECKING:
    from owners.cache import DiskCache
    from owners.engine import ChangedFile, Ownership


class Workspace:
    """Where the command runs: the checkout, the config file and how paths are named.

    A plain class, not a dataclass: defining one costs a millisecond of every command's
    start-up, and nothing compares or prints a workspace.
    """

    def __init__(self, config_file: Path, root: Path | None, git_dir: Path | None = None):
        self.config_file = config_file
        self.root = root
        self.git_dir = git_dir

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

    def unknown_path_warnings(self, names: Sequence[str]) -> list[str]:
        """A warning for each repository path that is neither on disk nor tracked: most often
        a path written from the root while standing in a subfolder (paths are relative to
        the current folder, as in git).  Answered anyway: a file yet to be written has
        owners too."""
        if self.root is None:
            return []
        missing = [n for n in names if not os.path.lexists(self.root / n)]
        if not missing:
            return []  # the common case costs no git process
        known = set(tracked_files(self.root, paths=missing))
        here = Path.cwd().resolve().relative_to(self.root.resolve()).as_posix()
        warnings = []
        for name in missing:
            if name in known:
                continue
            warning = f"{name}: in neither the tree nor the working tree"
            as_written = name.removeprefix(f"{here}/") if here != "." else name
            if here != "." and os.path.lexists(self.root / as_written):
                warning += (
                    f" (paths are relative to the current folder, as in git: the root's "
                    f"{as_written} is {os.path.relpath(self.root / as_written)} from here)"
                )
            warnings.append(warning)
        return warnings

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
        return files_in(self.config_file.parent)(path)

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

    def tree(self, untracked: bool = False) -> list[str]:
        if self.root is None:
            raise CliError("needs a git checkout to list its files")
        return tracked_files(self.root, untracked)

    @property
    def is_checkouts_own(self) -> bool:
        """Whether the file read is the checkout's own OWNERS.yaml, whose patterns name the
        checkout's files (a fixture or another project's file names files elsewhere)."""
        return (
            self.root is not None
            and self.config_file.resolve() == (self.root / CONFIG_PATH).resolve()
        )

    def change_files(self, revrange: str | None) -> list[ChangedFile]:
        """The files of `revrange`; without one, of the commits a push would upload, or a
        one-line error saying why there is nothing to check (no such commits: a verdict on
        nothing would name the wrong team)."""
        if self.root is None:
            raise CliError("needs a git checkout to read a revision range; use --files")
        if revrange is not None:
            return changed_files(self.root, revrange)
        upstream = upstream_of_head(self.root)
        edited = worktree_files(self.root)
        again = f"{click.get_current_context().command_path} --worktree"
        if commits_ahead(self.root, upstream) == 0:
            why = f"nothing to check: HEAD has no commits that {upstream} lacks"
            if edited:
                n = len(edited)
                why += f"; {n} {plural(n, 'file')} with uncommitted edits: commit, or {again}"
            raise CliError(why)
        if edited:
            n = len(edited)
            click.echo(
                f"note: {n} {plural(n, 'file')} with uncommitted edits not checked ({again} "
                "checks them)",
                err=True,
            )
        return changed_files(self.root, None)

    def worktree_files(self) -> list[ChangedFile]:
        """The uncommitted edits, staged or not, against HEAD."""
        if self.root is None:
            raise CliError("needs a git checkout to read its uncommitted edits; use --files")
        edited = worktree_files(self.root)
        if not edited:
            raise CliError("nothing to check: no uncommitted edits (git diff HEAD is empty)")
        return edited


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
    for warning in ws.unknown_path_warnings(names):
        click.echo(f"owners: warning: {warning}", err=True)
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
    from owners.engine.explanation import explain as explain_path

    ws = Workspace.find(config)
    explanation = explain_path(ws.ownership, ws.repo_path(path))
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


@cli.command(short_help="Check OWNERS.yaml; --gerrit also checks names [Gerrit].")
@click.argument("file", required=False)
@click.option(
    "--no-tree",
    is_flag=True,
    help="Skip the check for patterns matching no file of the checkout (tracked or not); "
    "only the checkout's own OWNERS.yaml is checked so.",
)
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
    Prints FILE:LINE:COL: message lines, then "OK: N subsystems, M patterns" when the file
    is valid.  --gerrit needs the OWNERS_GERRIT_* settings."""
    if file and config:
        raise click.UsageError("give the file once: FILE or --config FILE")
    from owners.engine import parse_config, tree_warnings

    ws = Workspace.find(file or config)
    data = ws.read_config()
    if use_gerrit:
        from owners.console import settings_from_env, site_errors
        from owners.gerrit.connection import GerritConnection

        with site_errors():
            directory = GerritConnection(settings_from_env()).accounts.directory()
            config, diagnostics = parse_config(
                data, ws._display_name, directory, read=ws.read_included
            )
    else:
        config, diagnostics = parse_config(data, ws._display_name, read=ws.read_included)
    if config is not None and not no_tree and ws.is_checkouts_own:
        diagnostics += tree_warnings(config, ws.tree(untracked=True))
    emit(
        as_json,
        render.diagnostics_json(diagnostics),
        lambda: render.validate_text(config, diagnostics),
    )
    if config is None or (strict and diagnostics):
        sys.exit(1)


@cli.command(short_help="How the checkout's files divide among subsystems.")
@config_option
@json_option
def coverage(config: str | None, as_json: bool) -> None:
    """How the checkout's files divide among subsystems, and the files only root owns."""
    from owners.engine.coverage import coverage as compute_coverage

    ws = Workspace.find(config)
    result = compute_coverage(ws.ownership, ws.tree())
    emit(as_json, render.coverage_json(result), lambda: render.coverage_text(result))


@cli.command(short_help="Print the JSON Schema of OWNERS.yaml, for editors.")
def schema() -> None:
    """Print the JSON Schema of OWNERS.yaml, for editors (docs/format.md: Editors)."""
    from owners.engine.schema import owners_schema

    click.echo(json.dumps(owners_schema(), indent=2))
