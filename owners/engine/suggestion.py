"""Whom to ask: the fewest owners that cover every unmet requirement.

Like Prow's approvers, the subsystem's own owners are asked before its ancestors', so the
core team is not pulled into every driver change just because it may approve everywhere.
A greedy set cover picks whoever covers most remaining requirements, then a bounded search
looks for a smaller cover the greedy choice missed; ties are broken by a hash seeded with the
change number, so one change always gets the same names while the load spreads across changes.

Among owners who help as much, the people are ranked (`rank_key`) by what an injected
`Acquaintance` knows of them: first whoever is available (not away, not inactive), then the
fewest open reviews waiting for them, then whoever wrote or reviewed these files recently,
then the seeded hash.  An away owner is asked only when no available one can cover a
requirement.  The ranking changes who is asked, never who may approve: the pools are
`Ownership.chain`'s eligible owners either way, a parent's owners joining when the nearer
ones are too few or away.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from owners.engine.change import Change, RequirementResult
from owners.engine.model import Mode
from owners.engine.resolution import Ownership, is_group

_EXACT_BUDGET = 20_000  # candidate sets to try for a smaller cover than the greedy one


@dataclass(frozen=True)
class Acquaintance:
    """What is known of one person when choosing whom to ask, gathered by the caller.

    `away` is why they cannot review now (their away status text, or "inactive account"),
    empty when they can; `open_reviews` counts the open changes where they are a requested
    reviewer and have not voted; `familiarity` counts the recent changes on these files they
    wrote or reviewed.
    """

    away: str = ""
    open_reviews: int = 0
    familiarity: int = 0

    def describe(self) -> str:
        """One short reason, as the suggestion's explanation shows it: "away until 12 Dec",
        "2 open reviews, 3 recent changes here"."""
        if self.away:
            return self.away
        parts = [f"{self.open_reviews} open review{'' if self.open_reviews == 1 else 's'}"]
        if self.familiarity:
            plural = "" if self.familiarity == 1 else "s"
            parts.append(f"{self.familiarity} recent change{plural} here")
        return ", ".join(parts)


@dataclass(frozen=True)
class Suggestion:
    """Whom to ask, best first, and why the candidates ranked as they did (empty when nothing
    was known of them)."""

    reviewers: tuple[str, ...]
    why: str = ""


UNKNOWN = Acquaintance()
"""Nothing known of a person: ranked as available and idle, so without an `Acquaintance`
lookup the suggestions are the distance-only ones."""


def seeded_hash(seed: int, person: str) -> str:
    """The tie-break of equally ranked people: stable for one seed, spread across seeds."""
    return hashlib.sha256(f"{seed}:{person}".encode()).hexdigest()


def rank_key(person: str, known: Acquaintance, seed: int) -> tuple[bool, int, bool, str]:
    """How suitable a person is to ask, smallest first: available before away, fewer open
    reviews, familiar with these files before not, then the seeded hash.

    Familiarity is a yes or no: ranked by how familiar, whoever reviewed a directory most
    would be asked for it ever more (the suggestions benchmark measured the load within teams
    grow uneven)."""
    return (bool(known.away), known.open_reviews, not known.familiarity, seeded_hash(seed, person))


def explain(people: Iterable[str], acquaintance: Callable[[str], Acquaintance]) -> str:
    """Why people were ranked as they were: "dave: away until 12 Dec; erin: 2 open reviews"."""
    return "; ".join(f"{person}: {acquaintance(person).describe()}" for person in people)


def suggest_reviewers(
    ownership: Ownership,
    results: Sequence[RequirementResult],
    change: Change,
    group_members: Callable[[str], Iterable[str]],
    limit: int | None = None,
    acquaintance: Callable[[str], Acquaintance] | None = None,
) -> Suggestion:
    """Suggest reviewers for the unmet requirements of `results`, enforced ones first.

    Never suggests the change owner or uploader, nor anyone who already voted.  A Gerrit group
    whose members are unknown is suggested as the group itself.  `acquaintance` says what is
    known of each candidate (default: nothing, the distance-only ranking); the answer says
    why, when it was given.
    """
    voted = {identity for vote in change.votes for identity in vote.account.identities}
    authors = {i for a in change.authors for i in a.identities}
    skip = voted | authors

    def people(entries: Iterable[str]) -> list[str]:
        found: dict[str, None] = {}
        for entry in entries:
            members = list(group_members(entry)) if is_group(entry) else []
            for person in members or [entry]:
                if person not in skip:
                    found[person] = None
        return list(found)

    know = acquaintance or (lambda person: UNKNOWN)
    known: dict[str, Acquaintance] = {}

    def acquainted(person: str) -> Acquaintance:
        if person not in known:
            known[person] = know(person)
        return known[person]

    def available(person: str) -> bool:
        return not acquainted(person).away

    needs: dict[str, int] = {}
    pools: dict[str, set[str]] = {}
    enforced = {r.subsystem for r in results if r.mode is Mode.ENFORCE}
    for result in (r for r in results if not r.met):
        # the nearest tiers holding enough available owners: when a team is away, its
        # parent's owners are asked rather than nobody who can answer
        pool: list[str] = []
        for tier in ownership.chain(result.subsystem):
            if sum(map(available, pool)) >= result.missing:
                break
            pool.extend(p for p in people(ownership.own_owners(tier)) if p not in pool)
        needs[result.subsystem] = result.missing
        pools[result.subsystem] = set(pool)

    serves: dict[str, list[str]] = {}  # person -> the requirements they may approve
    for req, pool in pools.items():
        for person in pool:
            serves.setdefault(person, []).append(req)
    serves_all = tuple(serves)
    suitability = {p: rank_key(p, acquainted(p), change.number) for p in serves}
    away = {p for p, key in suitability.items() if key[0]}

    def rank(person: str) -> tuple[bool, bool, int, int, tuple[bool, int, bool, str]]:
        """Who helps an enforced requirement and is available, then who helps one though
        away, then the advisory trials' owners; within each, who helps most enforced
        requirements, then most requirements, then the most suitable (`rank_key`): with a
        limit, the trial of an advisory team never crowds out what blocks the change."""
        useful = [req for req in serves[person] if needs[req]]
        blocking = sum(req in enforced for req in useful)
        return (not blocking, person in away, -blocking, -len(useful), suitability[person])

    ranked = sorted(serves, key=rank)  # best first, before any is chosen
    targets = dict(needs)
    chosen: list[str] = []
    while serves:
        best = min(serves, key=rank)
        if rank(best)[3] == 0:
            break
        chosen.append(best)
        for req in serves.pop(best):
            if needs[req]:
                needs[req] -= 1
    # The greedy cover can be larger than necessary; when few candidates make it cheap, look
    # for a smaller one that covers as much, trying the best-ranked people first.
    covered = {req: targets[req] - needs[req] for req in targets}

    away_chosen = len(away.intersection(chosen))

    def covers(group: tuple[str, ...]) -> bool:
        """Covers as much as the greedy choice, asking no more away owners than it does."""
        return len(away.intersection(group)) <= away_chosen and all(
            sum(p in pools[req] for p in group) >= n for req, n in covered.items()
        )

    budget = _EXACT_BUDGET
    for size in range(1, len(chosen)):
        budget -= math.comb(len(ranked), size)
        if budget < 0:
            break
        smaller = next(filter(covers, itertools.combinations(ranked, size)), None)
        if smaller is not None:
            chosen = list(smaller)
            break
    reviewers = tuple(chosen if limit is None else chosen[:limit])
    if acquaintance is None:
        return Suggestion(reviewers)
    return Suggestion(
        reviewers, explain(sorted(serves_all, key=suitability.__getitem__), acquainted)
    )
