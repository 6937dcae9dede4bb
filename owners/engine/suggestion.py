"""Whom to ask: the fewest owners that cover every unmet requirement.

Like Prow's approvers, the subsystem's own owners are asked before its ancestors', so the
core team is not pulled into every driver change just because it may approve everywhere.
A greedy set cover picks whoever covers most remaining requirements, then a bounded search
looks for a smaller cover the greedy choice missed; ties are broken by a hash seeded with the
change number, so one change always gets the same names while the load spreads across changes.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Iterable, Sequence

from owners.engine.change import Change, RequirementResult
from owners.engine.model import Mode
from owners.engine.resolution import Ownership, is_group

_EXACT_BUDGET = 20_000  # candidate sets to try for a smaller cover than the greedy one


def suggest_reviewers(
    ownership: Ownership,
    results: Sequence[RequirementResult],
    change: Change,
    group_members: Callable[[str], Iterable[str]],
    limit: int | None = None,
) -> tuple[str, ...]:
    """Suggest reviewers for the unmet requirements of `results`, enforced ones first.

    Never suggests the change owner or uploader, nor anyone who already voted.  A Gerrit group
    whose members are unknown is suggested as the group itself.
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

    needs: dict[str, int] = {}
    pools: dict[str, set[str]] = {}
    enforced = {r.subsystem for r in results if r.mode is Mode.ENFORCE}
    for result in (r for r in results if not r.met):
        pool: list[str] = []
        for tier in ownership.chain(result.subsystem):
            if len(pool) >= result.missing:
                break
            pool.extend(p for p in people(ownership.own_owners(tier)) if p not in pool)
        needs[result.subsystem] = result.missing
        pools[result.subsystem] = set(pool)

    serves: dict[str, list[str]] = {}  # person -> the requirements they may approve
    for req, pool in pools.items():
        for person in pool:
            serves.setdefault(person, []).append(req)
    tie_break = {p: hashlib.sha256(f"{change.number}:{p}".encode()).hexdigest() for p in serves}

    def rank(person: str) -> tuple[int, int, str]:
        """Who helps most enforced requirements, then most requirements, then the seeded hash:
        with a limit, the trial of an advisory team never crowds out what blocks the change."""
        useful = [req for req in serves[person] if needs[req]]
        return (-sum(req in enforced for req in useful), -len(useful), tie_break[person])

    ranked = sorted(serves, key=rank)  # best first, before any is chosen
    targets = dict(needs)
    chosen: list[str] = []
    while serves:
        best = min(serves, key=rank)
        if rank(best)[1] == 0:
            break
        chosen.append(best)
        for req in serves.pop(best):
            if needs[req]:
                needs[req] -= 1
    # The greedy cover can be larger than necessary; when few candidates make it cheap, look
    # for a smaller one that covers as much, trying the best-ranked people first.
    covered = {req: targets[req] - needs[req] for req in targets}

    def covers(group: tuple[str, ...]) -> bool:
        return all(sum(p in pools[req] for p in group) >= n for req, n in covered.items())

    budget = _EXACT_BUDGET
    for size in range(1, len(chosen)):
        budget -= math.comb(len(ranked), size)
        if budget < 0:
            break
        smaller = next(filter(covers, itertools.combinations(ranked, size)), None)
        if smaller is not None:
            chosen = list(smaller)
            break
    return tuple(chosen if limit is None else chosen[:limit])
