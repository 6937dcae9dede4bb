"""Commands about a change: check and suggest, on the checkout's commits, a list of files
or, for check, a change in Gerrit.

Apart from `owners.cli.local` because they need the evaluation, which `who` does not.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from owners.cli.base import cli, config_option
from owners.cli.local import Workspace
from owners.console import CliError, emit, json_option, settings_from_env, site_errors
from owners.engine import Account, Change, ChangedFile, Verdict, Vote, evaluate
from owners.gitrepo import GitError
from owners.views import render


def _change_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.argument("args", nargs=-1, metavar="[REVRANGE | --files PATH...]")(command)
    command = click.option(
        "--files",
        "files_mode",
        is_flag=True,
        help="Treat the arguments as changed files instead of a range.",
    )(command)
    command = click.option(
        "--worktree",
        is_flag=True,
        help="Check the uncommitted edits (staged or not, against HEAD) instead of the commits "
        "a push would upload.",
    )(command)
    command = click.option(
        "--votes",
        "votes_file",
        type=click.File("r"),
        metavar="FILE",
        help='Votes as {"owner": U, "uploader": U, "votes": [{"user": U, "value": V}]}.',
    )(command)
    return config_option(json_option(command))


def _local_change(
    ws: Workspace, args: Sequence[str], files_mode: bool, worktree: bool, votes_file: Any
) -> Change:
    if files_mode and worktree:
        raise click.UsageError("give --files PATH... or --worktree, not both")
    if files_mode:
        if not args:
            raise click.UsageError("--files needs at least one PATH")
        files = [ChangedFile(ws.repo_path(a)) for a in args]
    elif worktree:
        if args:
            raise click.UsageError("--worktree takes no REVRANGE")
        files = ws.worktree_files()
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
    worktree: bool,
    votes_file: Any,
    change_number: int | None,
    config: str | None,
    as_json: bool,
) -> None:
    """What a change needs: by default the commits on HEAD not yet on the upstream branch
    (none: nothing to check, exit 2); --worktree checks the uncommitted edits instead.

    Exit status, for scripts and hooks: 0 when the verdict is APPROVED, 1 when PENDING or
    BLOCKED (without --votes or --change nobody has voted, so that is PENDING unless nothing
    needs approval), 2 when there is no verdict (usage, OWNERS.yaml, git or Gerrit errors).
    """
    try:
        if change_number is not None:
            from owners.gerrit.judge import check_change

            with site_errors():
                evaluation = check_change(settings_from_env(), change_number)
        else:
            ws = Workspace.find(config)
            change = _local_change(ws, args, files_mode, worktree, votes_file)
            evaluation = evaluate(ws.ownership, change)
    except CliError as exc:
        raise CheckUnavailable(exc.format_message()) from None
    except GitError as exc:
        raise CheckUnavailable(f"git: {exc}") from None
    emit(as_json, render.check_json(evaluation), lambda: render.check_text(evaluation))
    if evaluation.verdict is not Verdict.APPROVED:
        sys.exit(1)


@cli.command(short_help="The reviewers to add to a change; --project ranks them [Gerrit].")
@_change_options
@click.option(
    "--project",
    metavar="PROJECT",
    help="Rank the owners by what Gerrit knows of them for this project: away or inactive "
    "accounts last, then fewest open reviews, then who wrote or reviewed these files "
    "recently (needs OWNERS_GERRIT_*).",
)
@click.option("--branch", default="master", show_default=True, help="The branch, with --project.")
@click.option("--why", is_flag=True, help="With --project, also say why they ranked so.")
def suggest(
    args: Sequence[str],
    files_mode: bool,
    worktree: bool,
    votes_file: Any,
    project: str | None,
    branch: str,
    why: bool,
    config: str | None,
    as_json: bool,
) -> None:
    """The reviewers to add: fewest owners covering every unmet requirement.  The ranking
    changes who is asked, never who must approve."""
    if why and project is None:
        raise click.UsageError("--why needs --project: without Gerrit nothing ranks the owners")
    ws = Workspace.find(config)
    change = _local_change(ws, args, files_mode, worktree, votes_file)
    acquaintance = None
    if project is not None:
        from owners.gerrit.connection import GerritConnection

        people = GerritConnection(settings_from_env()).people
        acquaintance = people.acquaintance(
            project, branch, (p for f in change.files for p in f.paths)
        )
    with site_errors():
        evaluation = evaluate(ws.ownership, change, acquaintance=acquaintance)
    reviewers = list(evaluation.suggested_reviewers)
    if why:
        emit(
            as_json,
            {"reviewers": reviewers, "why": evaluation.suggestion_why},
            lambda: "\n".join([*reviewers, f"why: {evaluation.suggestion_why}"]),
        )
    else:
        emit(as_json, reviewers, lambda: "\n".join(reviewers))
