"""`owners stats`: how many commits of each range needed each subsystem, from git history,
and with `--waits` how long they waited from authoring to landing.

One `git log` pass per range; the ownership map is the checkout's OWNERS.yaml, a file
(--config) or the one a revision had (--config-at), and the output says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from owners.cli.base import cli, files_in, parse_ownership, read_file, write_file
from owners.console import CliError, emit, json_option
from owners.engine import CONFIG_PATH, Ownership
from owners.gitrepo import (
    GitError,
    commit_paths,
    files_at,
    git_dir,
    logged_commits,
    read_blob,
    repo_root,
)
from owners.insight.history import PathClassifier, RangeStats, tally
from owners.insight.waits import RangeWaits, range_waits
from owners.views import charts, render
from owners.views.charts import ChartPath


def _ownership_map(repo: Path, config: str | None, config_at: str | None) -> tuple[Ownership, str]:
    """The map to judge history by, and how the output names it."""
    if config is not None:
        named = Path(config)
        return parse_ownership(read_file(named), config, read=files_in(named.parent)), config
    top = repo_root(repo) if config_at is None else None
    if top is not None:
        data = read_file(top / CONFIG_PATH)
        ownership = parse_ownership(data, CONFIG_PATH, read=files_in(top))
        return ownership, f"{CONFIG_PATH} in the working tree"
    rev = config_at or "HEAD"
    try:
        data, sha = read_blob(repo, rev, CONFIG_PATH)
    except GitError as exc:
        raise CliError(f"no {CONFIG_PATH} at {rev}: {exc}") from None
    ownership = parse_ownership(data, f"{rev}:{CONFIG_PATH}", read=files_at(repo, sha))
    return ownership, f"{CONFIG_PATH} at {rev} ({sha[:12]})"


@cli.command(short_help="Commits per subsystem for each range of git history.")
@click.argument("ranges", nargs=-1, required=True, metavar="RANGE...")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="PATH",
    default=Path("."),
    show_default="the current folder",
    help="The git repository to read; a bare one works.",
)
@click.option("--config", metavar="FILE", help="OWNERS file to judge history by.")
@click.option(
    "--config-at",
    metavar="REV",
    show_default="the working tree's, or HEAD's in a bare repository",
    help=f"Judge history by {CONFIG_PATH} as it was at REV.",
)
@json_option
@click.option(
    "--csv", "as_csv", is_flag=True, help="Print CSV: a row per figure, ranges as columns."
)
@click.option(
    "--plot", type=ChartPath(), metavar="FILE", help="Also draw the counts as a bar chart."
)
@click.option(
    "--waits",
    is_flag=True,
    help="Also the median and 75th percentile of the time from authoring to landing.",
)
def stats(
    ranges: Sequence[str],
    repo: Path,
    config: str | None,
    config_at: str | None,
    as_json: bool,
    as_csv: bool,
    plot: Path | None,
    waits: bool,
) -> None:
    """Commits per subsystem for each RANGE (e.g. 2012.1..2012.2), merges left out.

    A commit counts once for each subsystem whose paths include one of its files, as root-only
    when a file of it is claimed by no subsystem, and as cross-subsystem when its files need
    two or more requirements. With --waits, each count has beside it the median and 75th
    percentile of its commits' waits, from the author date to the landing on the branch
    (the merge commit's committer date, else the commit's own; see docs/cli.md).
    """
    if config and config_at:
        raise click.UsageError("give one map: --config FILE or --config-at REV")
    if as_json and as_csv:
        raise click.UsageError("give one format: --json or --csv")
    if not repo.is_dir():
        raise CliError(f"{repo}: no such folder")
    git_dir(repo)  # a one-line git error when it is no repository
    ownership, source = _ownership_map(repo, config, config_at)
    classify = PathClassifier(ownership)
    if waits:
        read = [_with_waits(repo, r, classify) for r in ranges]
        results = [counts for counts, _ in read]
        wait_results: list[RangeWaits] | None = [range_wait for _, range_wait in read]
    else:
        results = [tally(r, commit_paths(repo, r), classify) for r in ranges]
        wait_results = None
    if plot is not None:
        write_file(plot, charts.stats_chart(results, source, charts.kind(plot)))
    if as_csv:
        click.echo(render.stats_csv(results, wait_results), nl=False)
    else:
        emit(
            as_json,
            render.stats_json(results, source, wait_results),
            lambda: render.stats_text(results, source, ownership, wait_results),
        )


def _with_waits(
    repo: Path, revrange: str, classify: PathClassifier
) -> tuple[RangeStats, RangeWaits]:
    """A range's counts and waits from one `git log` pass that keeps the merges, which say
    when the commits they brought in landed."""
    commits = list(logged_commits(repo, revrange))
    counts = tally(revrange, (c.paths for c in commits if len(c.parents) < 2), classify)
    return counts, range_waits(revrange, commits, classify)
