"""What the suggestions know of people (`owners.engine.suggestion.Acquaintance`), read from
Gerrit in a bounded number of calls and cached for a short TTL.

- availability: the account's status text, matched against the site's away pattern
  (`OWNERS_AWAY_PATTERN`), and whether the account is inactive: one account query a person;
- load: the open changes where the person is a requested reviewer and has voted on no label,
  up to `LOAD_LIMIT`: one change query a person;
- familiarity: who wrote or voted on the branch's changes merged in the last
  `FAMILIAR_DAYS` days that touched the change's directories (at most `FAMILIAR_DIRECTORIES`
  of them): one change query a change, only when some candidate is ranked at all.

Reading any of it may fail without consequence for the verdict: a person Gerrit does not
answer for is ranked as nothing is known of them.
"""

from __future__ import annotations

import logging
import posixpath
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from owners.engine import Ownership
from owners.engine.resolution import is_group
from owners.engine.suggestion import Acquaintance
from owners.gerrit.model import GerritError, Memo, UnexpectedResponse
from owners.gerrit.rest import Rest, quoted
from owners.gerrit.settings import DEFAULT_AWAY_PATTERN
from owners.insight.health import Health, health, own_people
from owners.insight.review import ReviewReport

__all__ = ["People", "ownership_health"]

log = logging.getLogger(__name__)

PEOPLE_TTL_SECONDS = 600.0
LOAD_LIMIT = 100  # open reviews counted per person: beyond that, the ranking is already clear
FAMILIAR_DAYS = 180
FAMILIAR_LIMIT = 100  # merged changes read per change
FAMILIAR_DIRECTORIES = 8
BATCH = 50  # accounts per query when reading many (the ownership health)
STATUS_CHARACTERS = 80
CACHE_ENTRIES = 10_000


class People:
    """Availability, load and familiarity of the people a suggestion ranks."""

    def __init__(
        self,
        rest: Rest,
        away_pattern: str = DEFAULT_AWAY_PATTERN,
        *,
        ttl: float = PEOPLE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        memo: Memo | None = None,
    ):
        """`memo` keeps what was read (default: kept `ttl` seconds by this object); the web
        passes one kept per viewer, since what Gerrit tells of people depends on who asks."""
        self.rest = rest
        self.away = re.compile(away_pattern)
        self._memo = memo or _Expiring(ttl, clock)

    def acquaintance(
        self, project: str, branch: str, paths: Iterable[str]
    ) -> Callable[[str], Acquaintance]:
        """What is known of each person for a change of `project`/`branch` touching `paths`;
        nothing is read until a person is asked about."""
        directories = _directories(paths)
        familiar: list[Mapping[str, int]] = []

        def know(person: str) -> Acquaintance:
            if not familiar:
                familiar.append(self.familiarity(project, branch, directories))
            return Acquaintance(
                away=self.availability(person),
                open_reviews=self.open_reviews(person),
                familiarity=familiar[0].get(person, 0),
            )

        return know

    def availability(self, person: str) -> str:
        """Why `person` cannot review now: their status text when it matches the away
        pattern, "inactive account" when Gerrit says so; empty otherwise."""

        def read() -> str:
            field = "email" if "@" in person else "username"
            found = self.rest.get(
                "accounts/",
                params={
                    "q": f'{field}:"{quoted(person)}" (is:active OR is:inactive)',
                    "o": "DETAILS",
                },
            )
            return self._away([a for a in _list(found) if a.get(field) == person])

        return self._cached(("availability", person), read, "")

    def availability_of(self, people: Iterable[str]) -> dict[str, str]:
        """`availability` of many people (the ownership health of a whole file), asking for
        `BATCH` accounts per query; a failed query leaves its people available."""
        names = sorted(set(people))
        found: dict[str, str] = {}
        for start in range(0, len(names), BATCH):
            batch = names[start : start + BATCH]
            terms = " OR ".join(
                f'{"email" if "@" in p else "username"}:"{quoted(p)}"' for p in batch
            )
            try:
                answer = _list(
                    self.rest.get(
                        "accounts/",
                        params={
                            "q": f"({terms}) (is:active OR is:inactive)",
                            "o": "DETAILS",
                            "n": 2 * BATCH,
                        },
                    )
                )
            except GerritError as exc:
                log.warning("ownership health: availability unknown (%s)", exc)
                continue
            for person in batch:
                field = "email" if "@" in person else "username"
                exact = [a for a in answer if a.get(field) == person]
                found[person] = self._away(exact)
        return found

    def _away(self, exact: list[dict[str, Any]]) -> str:
        if not exact:
            return ""
        if all(a.get("inactive") for a in exact):
            return "inactive account"
        status = str(exact[0].get("status") or "")
        return _printable(status) if self.away.search(status) else ""

    def open_reviews(self, person: str) -> int:
        """Open changes, not work in progress and not their own, where `person` is a
        reviewer and has voted on no label."""

        def read() -> int:
            who = quoted(person)
            found = self.rest.get(
                "changes/",
                params={
                    "q": f'is:open -is:wip reviewer:"{who}" -owner:"{who}"',
                    "n": LOAD_LIMIT,
                    "S": 0,
                    "o": "DETAILED_LABELS",
                },
            )
            return sum(person not in _voters(change) for change in _list(found))

        return self._cached(("load", person), read, 0)

    def familiarity(
        self, project: str, branch: str, directories: tuple[str, ...]
    ) -> Mapping[str, int]:
        """For each username and email, how many of the branch's recently merged changes in
        `directories` they wrote or voted on."""
        if not directories:
            return {}

        def read() -> Mapping[str, int]:
            where = " OR ".join(f'directory:"{quoted(d)}"' for d in directories)
            found = self.rest.get(
                "changes/",
                params={
                    "q": f'status:merged project:"{quoted(project)}" branch:"{quoted(branch)}" '
                    f"-age:{FAMILIAR_DAYS}d ({where})",
                    "n": FAMILIAR_LIMIT,
                    "S": 0,
                    "o": ["DETAILED_LABELS", "DETAILED_ACCOUNTS"],
                },
            )
            counts: Counter[str] = Counter()
            for change in _list(found):
                counts.update(_voters(change) | _names(change.get("owner")))
            return dict(counts)

        return self._cached(("familiarity", project, branch, *directories), read, {})

    def _cached(self, key: tuple[str, ...], read: Callable[[], Any], unknown: Any) -> Any:
        """What `read` answers, kept in the memo; `unknown` (kept nowhere) if Gerrit fails."""
        try:
            return self._memo.get(key, read)
        except GerritError as exc:
            log.warning("ranking reviewers: %s unknown (%s)", key[0], exc)
            return unknown


class _Expiring:
    """People's own memo: each answer kept `ttl` seconds, at most `CACHE_ENTRIES`."""

    def __init__(self, ttl: float, clock: Callable[[], float]):
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] > now:
                return hit[1]
        value = make()
        with self._lock:
            if len(self._cache) >= CACHE_ENTRIES:  # a long-running service meets many folders
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                if len(self._cache) >= CACHE_ENTRIES:
                    self._cache.clear()
            self._cache[key] = (now + self._ttl, value)
        return value


def _printable(status: str) -> str:
    """An account's status as one short printable line: anyone may set their own, and it is
    shown in terminals (owners report, owners suggest --why) and on pages."""
    return "".join(c if c.isprintable() else " " for c in status)[:STATUS_CHARACTERS].strip()


def _directories(paths: Iterable[str]) -> tuple[str, ...]:
    """The directories of `paths` most touched, at most `FAMILIAR_DIRECTORIES`, in order."""
    counts = Counter(posixpath.dirname(p) for p in paths)
    counts.pop("", None)  # the root directory would match every change
    best = sorted(counts, key=lambda d: (-counts[d], d))[:FAMILIAR_DIRECTORIES]
    return tuple(sorted(best))


def _list(found: Any) -> list[dict[str, Any]]:
    if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
        raise UnexpectedResponse("a query did not return a list")
    return found


def _names(info: Any) -> set[str]:
    if not isinstance(info, dict):
        return set()
    return {n for n in (info.get("username"), info.get("email")) if isinstance(n, str) and n}


def _voters(change: Mapping[str, Any]) -> set[str]:
    """The usernames and emails of everyone with a non-zero vote on any label."""
    found: set[str] = set()
    labels = change.get("labels")
    for label in labels.values() if isinstance(labels, dict) else ():
        for vote in label.get("all") or () if isinstance(label, dict) else ():
            if isinstance(vote, dict) and vote.get("value"):
                found |= _names(vote)
    return found


def ownership_health(
    people: People,
    ownership: Ownership,
    report: ReviewReport,
    members: Callable[[str], Iterable[str] | None],
) -> Health:
    """`owners.insight.health.health` with every owner's availability read from Gerrit, a
    query per `BATCH` owners."""
    everyone = {
        person
        for sub in ownership.config.all_subsystems
        for person in own_people(ownership, sub.name, members)
        if not is_group(person)
    }
    return health(ownership, report, people.availability_of(everyone), members)
