"""Escalation: when a change has waited longer than its subsystem's `review_sla` for a first
review by an eligible owner, whom to ask next.

The SLA of each subsystem is `owners.engine.sla.review_sla`.  Escalation changes who is
asked, never who must approve: the next reviewers are drawn from the requirement's
eligible owners, its own co-owners first, then its parent's owners, up the same chain
`Ownership.chain` allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from owners.engine.change import Account, RequirementResult
from owners.engine.resolution import Ownership, is_group
from owners.engine.sla import review_sla


@dataclass(frozen=True)
class Reviewed:
    """Someone who said something on the change (a vote or a comment), and when."""

    account: Account
    when: datetime


def overdue(
    policy_sla: str,
    requirements: Sequence[RequirementResult],
    start: datetime,
    now: datetime,
    reviews: Iterable[Reviewed],
    allows: Callable[[str, Account], bool],
) -> tuple[str, ...]:
    """The unmet requirements whose SLA passed since `start` with no review yet by one of
    their eligible owners (`allows`, the verdict's own eligibility)."""
    reviews = tuple(reviews)
    late = []
    for result in requirements:
        sla = review_sla(policy_sla, result.subsystem)
        if result.met or sla is None or now < sla.deadline(start):
            continue
        if any(allows(result.subsystem, r.account) for r in reviews):
            continue
        late.append(result.subsystem)
    return tuple(late)


def next_reviewers(
    ownership: Ownership,
    subsystem: str,
    asked: Iterable[str],
    group_members: Callable[[str], Iterable[str]],
) -> tuple[str, ...]:
    """Whom to ask when `subsystem` waited too long: its own owners not yet `asked` (the
    co-owners of those who were), else the owners of the nearest ancestor on its chain with
    anyone not yet asked; empty when everyone eligible was asked already.  A group whose
    members are unknown is asked as the group."""
    asked = set(asked)
    for tier in ownership.chain(subsystem):
        found: dict[str, None] = {}
        for entry in ownership.own_owners(tier):
            members = list(group_members(entry)) if is_group(entry) else []
            for person in members or [entry]:
                if person not in asked:
                    found[person] = None
        if found:
            return tuple(found)
    return ()
