"""`owners queue`: the changes waiting for you, read from Gerrit as you.

Apart from `owners.cli.change`, which judges a change from the checkout or one number; this
command reads every open change you can see, with your own credentials (OWNERS_GERRIT_USER
and its password), as the "My reviews" page does with the viewer's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from owners.cli.base import cli
from owners.console import emit, json_option, settings_from_env, site_errors


@cli.command(short_help="The changes waiting for your review, oldest first.")
@json_option
def queue(as_json: bool) -> None:
    """What waits for you (OWNERS_GERRIT_USER): the subsystems you may approve for, the open
    changes that need your approval (you may approve for an unmet requirement, have not voted
    and did not write them), oldest first, and those you approved that wait for others."""
    from owners.gerrit.judge import Judge
    from owners.gerrit.queue import reviewer_queue
    from owners.views.queue import queue_json, queue_text

    with site_errors():
        judge = Judge(settings_from_env())
        found = reviewer_queue(judge, judge.gerrit.accounts.group_members)
    data = queue_json(found, datetime.now(UTC))
    emit(as_json, data, lambda: queue_text(data))
