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
    """A review: a vote of any value on the policy's label that counts (`counts`: not the
    change's writers unless `self_approval`, not an inactive account), and when it was cast."""

    account: Account
    when: datetime


def waiting_since(created: datetime, readied: Iterable[datetime]) -> datetime:
    """When a change began to wait for review: its creation, or the last time it was marked
    ready for review (a work-in-progress change waits for nobody)."""
    return max([created, *readied])


def first_review(
    subsystem: str, reviews: Iterable[Reviewed], allows: Callable[[str, Account], bool]
) -> Reviewed | None:
    """The first review of a requirement: the earliest by one of its eligible owners.  The
    escalation and `owners report` time the same thing."""
    mine = (r for r in reviews if allows(subsystem, r.account))
    return min(mine, key=lambda r: r.when, default=None)


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
        if first_review(result.subsystem, reviews, allows) is not None:
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
