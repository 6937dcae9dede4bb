"""Every byte the service exchanges with Gerrit goes through one `GerritConnection`.

It is the transport (`owners.gerrit.rest.Rest`: pygerrit2 over HTTP basic auth, retries, the
call counter, the wording of failures) and, built on it, one object per role, each with its
own caches:

- `changes` (`owners.gerrit.changes.Changes`): a change's truth, landings, foreign parents,
  queries, and the review the bot posts;
- `projects` (`owners.gerrit.projects.Projects`): branches, OWNERS.yaml and its includes at
  a commit (cached by commit, which never changes), access rights;
- `accounts` (`owners.gerrit.accounts.Accounts`): group members and accounts by email (cached
  for a short TTL), the identities a proposed OWNERS.yaml names;
- `git` (`owners.gerrit.git.Git`): a branch's tree and refs/meta/config, over git;
- `people` (`owners.gerrit.people.People`): availability, load and familiarity of the
  people the reviewer suggestions rank (cached for a short TTL).

The roles share the transport so that `calls` is the whole cost of what a thread did, in
whichever role; a caller that needs one role takes that role, and a test fakes that role
alone (or the REST API under all of them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from owners.gerrit.accounts import GROUP_TTL_SECONDS, Accounts
from owners.gerrit.changes import Changes
from owners.gerrit.git import Git
from owners.gerrit.model import GerritError
from owners.gerrit.people import People
from owners.gerrit.projects import Projects
from owners.gerrit.rest import Rest
from owners.gerrit.settings import Settings

__all__ = ["GerritConnection"]


class GerritConnection(Rest):
    """The transport to one Gerrit, as one account (the bot's, or a web viewer's through
    `as_viewer`), with its roles built on it."""

    def __init__(
        self,
        settings: Settings,
        *,
        rest: Any | None = None,
        group_ttl: float = GROUP_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[GerritError], None] | None = None,
    ):
        super().__init__(settings, rest=rest, on_error=on_error)
        self.changes = Changes(self)
        self.projects = Projects(self)
        self.accounts = Accounts(self, group_ttl=group_ttl, clock=clock)
        self.git = Git(self)
        self.people = People(self, settings.away_pattern, clock=clock)
