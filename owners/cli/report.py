"""`owners report`: how review of a project's branch went lately, read live from Gerrit with
the service's settings and judged by the branch's OWNERS.yaml (or a local one)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from owners.cli.base import cli, parse_ownership, write_file
from owners.cli.local import Workspace
from owners.console import (
    CliError,
    emit,
    json_option,
    require_extra,
    settings_from_env,
    site_errors,
)
from owners.engine import CONFIG_PATH, Ownership
from owners.views import charts, review
from owners.views.charts import ChartPath

if TYPE_CHECKING:  # the service's modules load when the command runs
    from owners.gerrit.projects import Projects

_AGO = re.compile(r"(?P<count>\d{1,6})(?P<unit>[hdw])\Z")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """`90d`, `12w`, `6h` before `now`, or an ISO date or time (UTC unless it says)."""
    ago = _AGO.match(text.strip())
    if ago:
        return now - timedelta(**{_UNITS[ago["unit"]]: int(ago["count"])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"'{text}' is neither an age (90d, 12w, 6h) nor an ISO date (2025-01-31)",
            param_hint="--since",
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > now:
        raise click.BadParameter(f"'{text}' is in the future", param_hint="--since")
    return moment


@cli.command(short_help="How review went on a Gerrit branch [Gerrit].")
@click.option("--project", required=True, metavar="PROJECT", help="The Gerrit project.")
@click.option(
    "--since",
    "since_text",
    default="90d",
    show_default=True,
    metavar="WHEN",
    help="Start of the window: an age (90d, 12w, 6h) or an ISO date.",
)
@click.option(
    "--branch", metavar="BRANCH", show_default="the project's HEAD branch", help="The branch."
)
@click.option(
    "--config",
    metavar="FILE",
    help=f"Judge with this OWNERS file instead of the {CONFIG_PATH} at the branch head.",
)
@click.option(
    "--page-size",
    type=click.IntRange(min=1, max=10_000),
    default=500,
    show_default=True,
    metavar="N",
    help="Changes per query call; Gerrit caps it at the caller's query limit.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write one self-contained page.",
)
@click.option(
    "--plot", "plot_file", type=ChartPath(), metavar="FILE", help="Also write a chart of the waits."
)
@json_option
def report(
    project: str,
    since_text: str,
    branch: str | None,
    config: str | None,
    page_size: int,
    html_file: Path | None,
    plot_file: Path | None,
    as_json: bool,
) -> None:
    """How review went on a Gerrit project: waits per subsystem for lieutenants and the core
    team, whether lieutenants would have been enough, load, stale owners, bus factor one.
    Needs the OWNERS_GERRIT_* settings (read access is enough)."""
    if html_file is not None or plot_file is not None:
        require_extra("plot")  # before asking Gerrit: the chart, and the page's template
    from owners.gerrit.connection import GerritConnection
    from owners.gerrit.people import ownership_health
    from owners.insight.review import review_report

    since = parse_since(since_text, datetime.now(UTC))
    local = Workspace.find(config).ownership if config is not None else None
    with site_errors():
        gerrit = GerritConnection(settings_from_env())
        branch = branch or gerrit.projects.head_branch(project)
        ownership = local or _branch_ownership(gerrit.projects, project, branch)
        label = ownership.config.policy.label
        histories = gerrit.changes.change_histories(
            project, branch, since, label, page_size=page_size
        )
        result = review_report(
            ownership, histories, since, gerrit.accounts.group_members, datetime.now(UTC)
        )
        overrides = gerrit.changes.overrides(project, branch, since, gerrit.settings.override_label)
        state = ownership_health(gerrit.people, ownership, result, gerrit.accounts.group_members)
    scope = review.Scope(project, branch, gerrit.calls, len(histories))
    if html_file is not None:
        write_file(html_file, review.report_html(result, scope, state).encode())
    if plot_file is not None:
        write_file(plot_file, review.plot_bytes(result, charts.kind(plot_file)))
    emit(
        as_json,
        {
            **review.report_json(result, scope, state),
            "overrides": [
                {"change": number, "by": who, "unmet": unmet} for number, who, unmet in overrides
            ],
        },
        lambda: review.report_text(result, scope, state) + _overrides_text(overrides),
    )


def _overrides_text(overrides: list[tuple[int, str, str]]) -> str:
    """The break-glass submits of the window, each with who overrode and what was unmet."""
    if not overrides:
        return "\n\nOverrides: none"
    lines = [f"  change {n}: overridden by {who}; unmet: {unmet}" for n, who, unmet in overrides]
    return "\n\nOverrides (break-glass):\n" + "\n".join(lines)


def _branch_ownership(projects: Projects, project: str, branch: str) -> Ownership:
    """The OWNERS.yaml at the branch head with the files it includes, read there as the bot
    reads them, compiled; a one-line error when absent or invalid."""
    found = projects.branch_config(project, branch)
    if found.revision == "":
        raise CliError(f"project {project} has no branch {branch}")
    if found.content is None:
        raise CliError(f"{project} {branch} has no {CONFIG_PATH}; pass --config FILE")
    name = f"{CONFIG_PATH} on {project} {branch}"
    return parse_ownership(found.content, name, read=dict(found.included).get)
