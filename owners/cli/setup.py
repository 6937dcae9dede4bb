"""`owners gerrit-setup`: configure a Gerrit project for the service (label, submit
requirement, access, webhooks, dashboards).  It needs only the base install."""

from __future__ import annotations

import click

from owners.cli.base import cli
from owners.console import emit, json_option, settings_from_env, site_errors


@cli.command("gerrit-setup", short_help="Configure a Gerrit project for the service [Gerrit].")
@click.option(
    "--project", required=True, metavar="PROJECT", help="Project to configure, or All-Projects."
)
@click.option(
    "--service-url",
    required=True,
    metavar="URL",
    help="Where Gerrit reaches the service, e.g. http://owners.internal:8080.",
)
@click.option(
    "--bot", metavar="USER", show_default="OWNERS_GERRIT_USER", help="The bot's username."
)
@click.option(
    "--override-group",
    metavar="GROUP",
    show_default="OWNERS_OVERRIDE_GROUP",
    help="Gerrit group that may vote the break-glass label (named by OWNERS_OVERRIDE_LABEL, "
    "Owners-Override unless set) to submit without the owners; the requirement counts only "
    "its members' votes; audited.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace a submit requirement changed by hand in ways that cannot be merged.",
)
@click.option(
    "--dashboards",
    is_flag=True,
    help="Also write a Gerrit project dashboard per subsystem (refs/meta/dashboards/owners).",
)
@json_option
def gerrit_setup(
    project: str,
    service_url: str,
    bot: str | None,
    override_group: str | None,
    force: bool,
    dashboards: bool,
    as_json: bool,
) -> None:
    """Configure a project: the label, its submit requirement, access and the webhook (and
    All-Users' webhook, which reports group changes).  OWNERS_BRANCHES becomes the
    requirement's applicableIf.  Needs the OWNERS_GERRIT_* settings, of an account allowed to
    change the project's configuration."""
    from owners.gerrit.setup import configure_group_events, configure_project

    with site_errors():
        settings = settings_from_env()
        changes = configure_project(
            settings, project, service_url, bot=bot, override_group=override_group, force=force
        )
        if override_group and not settings.override_group:
            click.echo(
                f"warning: OWNERS_OVERRIDE_GROUP is not set here; the service counts no "
                f"override until its OWNERS_OVERRIDE_GROUP is '{override_group}'",
                err=True,
            )
        changes += configure_group_events(settings, service_url)
        if dashboards:
            from owners.gerrit.dashboards import configure_dashboards

            changes += configure_dashboards(settings, project)
    emit(
        as_json,
        {"project": project, "changes": changes},
        lambda: "\n".join(changes) or f"{project}: already configured, nothing changed",
    )
