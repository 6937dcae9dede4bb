"""Ownership health: which areas have nobody to review them, which hang on one person, and a
suggested Linux-MAINTAINERS status per subsystem, derived from a `ReviewReport` and who is
available now.

Availability is the suggestions' (`owners.engine.suggestion.Acquaintance.away`): an owner
whose Gerrit account is inactive, or whose status matches the site's away pattern, is
unavailable; the caller reads it (`owners.gerrit.people`).  The derivation of the status is
`maintainers_status`, documented in docs/cli.md ("Ownership health").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from owners.engine import Ownership
from owners.engine.resolution import is_group
from owners.insight.review import ReviewReport, SubsystemReview

SUPPORTED, MAINTAINED, ODD_FIXES, ORPHAN = "Supported", "Maintained", "Odd Fixes", "Orphan"
MAINTAINERS_STATUSES = (SUPPORTED, MAINTAINED, ODD_FIXES, ORPHAN)
DEFAULT_TARGET_SECONDS = 7 * 86_400
"""The first-review time a subsystem without a `review_sla` is held to."""
ESCALATED_AT_MOST = 0.1
"""The share of changes past their SLA a Supported subsystem may have."""


@dataclass(frozen=True)
class SubsystemHealth:
    name: str
    paths: tuple[str, ...]
    available: tuple[str, ...]  # its own owners who can review now
    unavailable: dict[str, str]  # its own owners who cannot, and why
    status: str  # Supported, Maintained, Odd Fixes or Orphan
    why: str

    @property
    def orphaned(self) -> bool:
        """Every owner of its own is inactive or away."""
        return not self.available

    @property
    def bus_factor_one(self) -> bool:
        return len(self.available) == 1


@dataclass(frozen=True)
class Health:
    subsystems: tuple[SubsystemHealth, ...]
    idle_owners: tuple[str, ...]  # owners with no review in the window

    @property
    def orphaned(self) -> tuple[SubsystemHealth, ...]:
        return tuple(s for s in self.subsystems if s.orphaned)

    @property
    def bus_factor_one(self) -> tuple[SubsystemHealth, ...]:
        return tuple(s for s in self.subsystems if s.bus_factor_one)


def own_people(
    ownership: Ownership, name: str, members: Callable[[str], Iterable[str] | None]
) -> tuple[str, ...]:
    """A subsystem's own owners as people: aliases expanded, `gerrit:` groups by their
    members (a group that cannot be read stays itself)."""
    found: dict[str, None] = {}
    for entry in ownership.own_owners(name):
        people = list(members(entry.split(":", 1)[1]) or ()) if is_group(entry) else []
        found.update(dict.fromkeys(people or [entry]))
    return tuple(found)


def health(
    ownership: Ownership,
    report: ReviewReport,
    away: Mapping[str, str],
    members: Callable[[str], Iterable[str] | None],
) -> Health:
    """The health of every subsystem: `away` says why an owner cannot review (absent or
    empty: they can)."""
    reviews = {s.name: s for s in report.subsystems}
    found = []
    for sub in ownership.config.all_subsystems:
        people = own_people(ownership, sub.name, members)
        unavailable = {p: away[p] for p in people if away.get(p)}
        available = tuple(p for p in people if p not in unavailable)
        status, why = maintainers_status(len(available), reviews.get(sub.name))
        found.append(
            SubsystemHealth(
                sub.name,
                tuple(rule.pattern for rule in sub.paths),
                available,
                unavailable,
                status,
                why,
            )
        )
    return Health(tuple(found), tuple(s.owner for s in report.stale_owners))


def maintainers_status(available: int, review: SubsystemReview | None) -> tuple[str, str]:
    """The Linux MAINTAINERS status the data suggests, and why.

    - Orphan: no owner of its own can review now (all inactive or away).
    - Odd Fixes: fewer than half its changes in the window got a first owner review, or the
      median first review took longer than its target (its `review_sla`, else 7 days).
    - Supported: at least two owners can review, the 90th percentile of the first review is
      within the target, and at most 10% of the changes passed their SLA.
    - Maintained: everything else (one owner, slower tails, or no changes in the window).
    """
    if available == 0:
        return ORPHAN, "no owner of its own can review now"
    if review is None or not review.changes:
        return MAINTAINED, "no change in the window"
    target = review.sla.shortest.total_seconds() if review.sla else DEFAULT_TARGET_SECONDS
    shown = str(review.sla) if review.sla else "7d"
    first = review.first_review
    if first.count * 2 < review.changes:
        return ODD_FIXES, f"{first.count} of {review.changes} changes got an owner review"
    if first.median is not None and first.median > target:
        return ODD_FIXES, f"median first review over {shown}"
    if available < 2:
        return MAINTAINED, "one owner can review"
    if first.p90 is not None and first.p90 > target:
        return MAINTAINED, f"90th percentile of the first review over {shown}"
    if (review.escalated_share or 0) > ESCALATED_AT_MOST:
        return MAINTAINED, f"{review.escalated} of {review.changes} changes passed the SLA"
    return SUPPORTED, f"{available} owners, first reviews within {shown}"
