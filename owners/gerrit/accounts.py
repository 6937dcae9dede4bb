"""Who is who in Gerrit, as owners entries name them: a group's members, the accounts of an
email, the identities a proposed OWNERS.yaml names, and group members for the audit.

Built on `owners.gerrit.rest.Rest`; it owns the short-lived caches of group members and of
accounts by email, and `forget_groups` drops them when Gerrit reports a group change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from owners.engine import Account
from owners.engine.directory import Found, Lookup, Standing, remembered
from owners.engine.model import GERRIT_PREFIX, identities_of
from owners.gerrit.model import UnexpectedResponse, account
from owners.gerrit.rest import Rest, encode, json_object, quoted

__all__ = ["Accounts"]

log = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 300.0


class Accounts:
    """Accounts and groups, read through one transport; `group_ttl` bounds how long a
    group's members (and an email's accounts) are trusted without a report of a change."""

    def __init__(
        self,
        rest: Rest,
        *,
        group_ttl: float = GROUP_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.rest = rest
        self._group_ttl = group_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._groups: dict[str, tuple[float, tuple[str, ...] | None]] = {}
        self._groups_generation = 0  # bumped by forget_groups: answers read before are stale
        self._emails: dict[str, tuple[float, tuple[Account, ...]]] = {}

    def myself(self) -> dict[str, Any]:
        """The connection's own AccountInfo (username, email, name, `_account_id`)."""
        return json_object(self.rest.get("accounts/self", params={"o": "DETAILS"}))

    # -- groups ----------------------------------------------------------------------------

    def forget_groups(self) -> None:
        """Drop cached group members, so the next evaluation reads them afresh (after a group
        change was reported from All-Users, or the reconciler saw one)."""
        with self._lock:
            self._groups.clear()
            self._groups_generation += 1

    def group_members(self, name: str, *, fresh: bool = False) -> tuple[str, ...] | None:
        """Usernames and emails of a group's members, recursively; None if the bot cannot see
        the group.  Cached for `group_ttl` seconds (unless `fresh`), or until `forget_groups`:
        group changes are reported only where All-Users' webhook is set up."""
        now = self._clock()
        with self._lock:
            cached = self._groups.get(name)
            if cached and cached[0] > now and not fresh:
                return cached[1]
            generation = self._groups_generation
        data = self.rest.get(f"groups/{encode(name)}/members/?recursive", missing_ok=True)
        members = None if data is None else tuple(_identities(data))
        if members is None:
            log.warning(
                "Gerrit group '%s' not found or not visible to %s", name, self.rest.settings.user
            )
        with self._lock:
            # Members read before a group change was reported must not be cached after it.
            if generation == self._groups_generation:
                self._groups[name] = (now + self._group_ttl, members)
        return members

    # -- the names OWNERS.yaml uses (owners validate --gerrit, proposed OWNERS.yaml) -------

    def directory(self) -> Lookup:
        """A lookup of usernames, emails and `gerrit:` groups for one run (a validation, or
        one evaluation of a proposed OWNERS.yaml): each name is asked once per run, and a
        new run sees accounts and groups as they are then."""
        return remembered(self.find_identity)

    def find_identity(self, identity: str) -> Found:
        """What Gerrit knows of one owners identity, compared exactly as the engine does.

        One call for a person: an account query with `is:active OR is:inactive`, because
        `GET accounts/{name}` answers an inactive account with the same 404 as a missing one
        and resolves loosely (`Alice` finds `alice`, a number finds an account ID, an email
        any holder); the query's answers are then compared exactly, and near misses kept for
        the hint.  Two calls for a group: `GET groups/{name}` (404 also when the account
        cannot see it) and its members, recursively, of whom the active ones count.
        """
        if identity.startswith(GERRIT_PREFIX):
            name = identity[len(GERRIT_PREFIX) :]
            info = self.rest.get(f"groups/{encode(name)}", missing_ok=True)
            if info is None:
                return Found(Standing.UNKNOWN)
            group = json_object(info)
            members = self.rest.get(
                f"groups/{encode(str(group.get('id') or name))}/members/?recursive"
            )
            if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
                raise UnexpectedResponse(f"GET groups/{name}/members/: not a list of accounts")
            active = frozenset(
                m["_account_id"]
                for m in members
                if isinstance(m.get("_account_id"), int) and not m.get("inactive")
            )
            spelling = group.get("name")
            return Found(Standing.ACTIVE, active, spelling if isinstance(spelling, str) else None)
        field = "email" if "@" in identity else "username"
        query = f'{field}:"{quoted(identity)}" (is:active OR is:inactive)'
        found = self.rest.get("accounts/", params={"q": query, "o": "DETAILS"})
        if not isinstance(found, list) or not all(isinstance(a, dict) for a in found):
            raise UnexpectedResponse("GET accounts/: an account query did not return a list")
        exact = [a for a in found if a.get(field) == identity]
        active = frozenset(
            a["_account_id"]
            for a in exact
            if not a.get("inactive") and isinstance(a.get("_account_id"), int)
        )
        if active:
            return Found(Standing.ACTIVE, active)
        if exact:
            return Found(Standing.INACTIVE)
        near = tuple(
            f"{a[field]} ({a.get('username') or a.get('_account_id')})"
            if field == "email"
            else str(a[field])
            for a in found
            if isinstance(a.get(field), str) and a[field].lower() == identity.lower()
        )
        return Found(Standing.UNKNOWN, near=near)

    # -- the authors' accounts (self-approval, implicit approval) --------------------------

    def accounts_with_email(self, email: str) -> tuple[Account, ...]:
        """The accounts Gerrit finds for an email, with all their emails (ALL_EMAILS; the
        setup grants the bot View Secondary Emails), to tell whether a commit's author or
        committer is also a voter, or the owner (`implicit_approval`).  Gerrit's search may
        be broader than an exact match, which here only withholds votes (the implicit
        approval compares the emails exactly).  Cached like group members."""
        now = self._clock()
        with self._lock:
            cached = self._emails.get(email)
            if cached and cached[0] > now:
                return cached[1]
        found = self.rest.get(
            "accounts/",
            params={"q": f'email:"{quoted(email)}"', "o": ["DETAILS", "ALL_EMAILS"]},
        )
        if not isinstance(found, list) or not all(isinstance(a, dict) for a in found):
            raise UnexpectedResponse("GET accounts/: an account query did not return a list")
        accounts = tuple(account(a) for a in found)
        with self._lock:
            self._emails[email] = (now + self._group_ttl, accounts)
        return accounts

    # -- members as the audit lists them ---------------------------------------------------

    def group_accounts(self, group: str) -> list[dict[str, Any]]:
        """Every account in `group`, through included groups too, as Gerrit answers
        `GET /groups/{group}/members/?recursive` (kept raw for `owners.gerrit.audit`); empty when
        there is no such group."""
        members = self.rest.get(f"groups/{encode(group)}/members/?recursive", missing_ok=True)
        if members is None:
            return []
        if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
            raise UnexpectedResponse(f"GET groups/{group}/members/: not a list of accounts")
        return members


def _identities(accounts: Any) -> Iterator[str]:
    """The names by which owners entries may reach these accounts (see `identities_of`)."""
    if not isinstance(accounts, list) or not all(isinstance(a, dict) for a in accounts):
        raise UnexpectedResponse("group members did not return a list of accounts")
    for info in accounts:
        names = (info.get("username"), info.get("email"))
        if all(n is None or isinstance(n, str) for n in names):
            yield from identities_of(*names)
