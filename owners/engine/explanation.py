"""Why a path has the owners it has: the rules that matched it, the subsystems a nearer one
superseded, and for each requirement the chain of subsystems and how each approver got
there (`owners explain` and the web page's path view).

Built from `Ownership`'s answers, and apart from it because lookups never need it.
"""

from __future__ import annotations

from dataclasses import dataclass

from owners.engine.model import Location, Mode
from owners.engine.resolution import Approver, Ownership


@dataclass(frozen=True)
class RuleMatch:
    subsystem: str
    pattern: str
    location: Location
    decisive: bool  # the last matching rule of its subsystem decides in or out


@dataclass(frozen=True)
class RequirementExplanation:
    subsystem: str
    mode: Mode
    approvals: int
    chain: tuple[str, ...]
    stopped_by_noparent: str | None
    approvers: tuple[Approver, ...]
    enforces_for: str | None  # the advisory subsystem this one stands in for


@dataclass(frozen=True)
class PathExplanation:
    path: str
    matches: tuple[RuleMatch, ...]
    superseded: tuple[tuple[str, str], ...]  # (ancestor dropped, nearer subsystem that won)
    requirements: tuple[RequirementExplanation, ...]


def explain(ownership: Ownership, path: str) -> PathExplanation:
    matches = tuple(
        RuleMatch(sub.name, rule.pattern, rule.location, decisive)
        for sub, rule, decisive in ownership.matched_rules(path)
    )
    owning = ownership.owning(path)
    superseded = tuple(
        (name, nearer)
        for name in ownership.matching(path)
        if name not in owning
        for nearer in owning
        if name in ownership.ancestors(nearer)
    )
    requirements = []
    for name in ownership.requirements(path):
        sub = ownership.config.subsystem(name)
        chain = ownership.chain(name)
        stopper = chain[-1] if ownership.config.subsystem(chain[-1]).noparent else None
        stands_in = next((o for o in owning if o != name and ownership.enforcer(o) == name), None)
        requirements.append(
            RequirementExplanation(
                name, sub.mode, sub.approvals, chain, stopper, ownership.approvers(name), stands_in
            )
        )
    return PathExplanation(path, matches, superseded, tuple(requirements))
