"""`owners audit`: the access rights that let code reach an enforced branch without the bot.

Reads the project's access rights, labels and submit requirements, inherited ones included,
with the service's `OWNERS_GERRIT_*` settings, and lists what `owners.gerrit.audit` finds.  Exit 1
when any finding counts (not the administrators', not accepted with --allow), 0 when clean,
2 when the command cannot run (usage, settings, Gerrit unreachable or refusing).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from owners.cli.base import cli
from owners.console import CliError, emit, json_option, settings_from_env, site_errors


class AuditUnavailable(CliError):
    """The audit could not run: a one-line error, exit 2 (1 means 'found something')."""

    exit_code = 2


@cli.command(short_help="Rights that let code land without the bot [Gerrit].")
@click.option("--project", required=True, metavar="PROJECT", help="The Gerrit project to audit.")
@click.option(
    "--branch-glob",
    "branch_globs",
    multiple=True,
    metavar="GLOB",
    show_default="refs/heads/*",
    help="Enforced branches (repeatable); `master` means refs/heads/master.",
)
@click.option(
    "--allow",
    "allow",
    multiple=True,
    metavar="GROUP",
    help="Accept rights held by this group (name or UUID; repeatable): shown, not counted.",
)
@click.option(
    "--bot", metavar="USER", show_default="OWNERS_GERRIT_USER", help="The bot's username."
)
@click.option(
    "--bot-group",
    default="Owners Bot",
    show_default=True,
    metavar="GROUP",
    help="The group gerrit-setup lets vote on the owners label.",
)
@click.option(
    "--override-group",
    metavar="GROUP",
    show_default="OWNERS_OVERRIDE_GROUP",
    help="The only group that may vote the break-glass label; with none, every grant of it "
    "and every override expression fails.",
)
@json_option
def audit(
    project: str,
    branch_globs: Sequence[str],
    allow: Sequence[str],
    bot: str | None,
    bot_group: str,
    override_group: str | None,
    as_json: bool,
) -> None:
    """List the access rights that let code land on an enforced branch without the bot's
    +1, inherited ones included; exit 1 when any is held by someone not accepted.  Needs the
    OWNERS_GERRIT_* settings of an account that can read refs/meta/config."""
    from owners.gerrit.audit import Enforcement, audit, failing, parse_project
    from owners.gerrit.connection import GerritConnection

    try:
        with site_errors():
            settings = settings_from_env()
            gerrit = GerritConnection(settings)
            chain = gerrit.projects.access_chain(project)
            bot_members = gerrit.accounts.group_accounts(bot_group)
    except CliError as exc:
        raise AuditUnavailable(exc.message) from None
    policy = Enforcement(
        bot=bot or settings.user,
        label=settings.label,
        bot_group=bot_group,
        branch_globs=tuple(branch_globs) or ("refs/heads/*",),
        allow=frozenset(allow),
        override_label=settings.override_label,
        override_group=override_group or settings.override_group,
    )
    configs = [
        parse_project(e["project"], e["access"], e["labels"], e["submit_requirements"])
        for e in chain
    ]
    findings = audit(configs, policy, bot_members)
    bad = failing(findings)
    data: dict[str, Any] = {
        "project": project,
        "chain": [c.name for c in configs],
        "branches": list(policy.branch_globs),
        "label": policy.label,
        "bot": policy.bot,
        "override_group": policy.override_group,
        "findings": [f.to_dict() for f in findings],
        "failing": len(bad),
    }
    emit(as_json, data, lambda: render(data))
    if bad:
        sys.exit(1)


def render(data: dict[str, Any]) -> str:
    """The findings as text: one line each with who, what, where, and why under it."""
    findings = data["findings"]
    lines = [
        f"{data['project']} (inherits {' > '.join(data['chain'][1:]) or 'nothing'}), "
        f"enforced {', '.join(data['branches'])}, label {data['label']}, bot {data['bot']}, "
        f"override group {data['override_group'] or 'none (every override fails)'}"
    ]
    for f in findings:
        tag = "FAIL" if f["counts"] else ("admins" if f["admins"] else "allowed")
        where = f", in {f['project']} ({'inherited' if f['inherited'] else 'local'})"
        what = f["permission"] + (f" on {f['ref']}" if f["ref"] else "")
        holder = f" to {f['group']}" if f["group"] else ""
        detail = f" [{f['detail']}]" if f["detail"] else ""
        lines.append(
            f"{tag:<7} {f['kind']:<22} {what}{holder}{where if f['project'] else ''}{detail}"
        )
        lines.append(f"{'':<8}{f['why']}")
    shown = len(findings) - data["failing"]
    lines.append(
        f"{data['failing']} finding{'' if data['failing'] == 1 else 's'} bypass the bot"
        + (f" ({shown} more held by admins or accepted)" if shown else "")
    )
    return "\n".join(lines)
