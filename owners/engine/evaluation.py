"""Deciding a change: which requirements it has, who met them, who blocks (sentences 4-6).

A verdict is a pure function of the compiled config, the change and the group members the
injected resolver reports, so the CLI, the service and the tests always agree on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from owners.engine.model import (
    ROOT,
    Account,
    Change,
    Evaluation,
    Mode,
    RequirementResult,
    Verdict,
    Vote,
)
from owners.engine.resolution import GroupResolver, Ownership, is_group
from owners.engine.suggestion import suggest_reviewers


class Eligibility:
    """Answers "may this account approve for that requirement", resolving groups lazily: the
    one rule for verdicts here and for the service's check that a requirement is staffed."""

    def __init__(self, ownership: Ownership, resolver: GroupResolver | None):
        self.ownership = ownership
        self.resolver = resolver
        self.unresolved: dict[str, None] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._sets: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}

    def members(self, entry: str) -> frozenset[str]:
        """The members of a `gerrit:` entry; empty (and remembered) when it cannot be resolved."""
        if entry not in self._members:
            found = self.resolver(entry.split(":", 1)[1]) if self.resolver else None
            if found is None:
                self.unresolved[entry] = None
            self._members[entry] = frozenset(found or ())
        return self._members[entry]

    def allows(self, requirement: str, account: Account) -> bool:
        if requirement not in self._sets:
            names = self.ownership.eligible(requirement)
            people = frozenset(n for n in names if not is_group(n))
            self._sets[requirement] = (people, tuple(n for n in names if is_group(n)))
        people, groups = self._sets[requirement]
        ids = account.identities
        return bool(ids & people) or any(ids & self.members(g) for g in groups)


def evaluate(
    ownership: Ownership,
    change: Change,
    resolver: GroupResolver | None = None,
    *,
    suggestions: int | None = None,
) -> Evaluation:
    """Evaluate a change against a compiled config.

    `resolver` maps a Gerrit group to its members, or to None when it cannot see the group;
    an unresolved `gerrit:` group matches no voter and is listed in `unresolved_groups`, so a
    check without Gerrit never over-approves.
    `suggestions` caps the suggested reviewers (None: as many as cover every requirement).
    """
    policy = ownership.config.policy
    files: dict[str, dict[str, None]] = {}
    for changed in change.files:
        for path in changed.paths:
            for requirement in ownership.requirements(path):
                files.setdefault(requirement, {})[path] = None
    if not files:
        files[ROOT] = {}  # an empty change still needs someone to say yes

    eligibility = Eligibility(ownership, resolver)
    counted = [
        v
        for v in _latest_votes(change.votes)
        if policy.self_approval or not change.is_author(v.account)
    ]
    root_vetoes = [
        v.account.display
        for v in counted
        if policy.root_veto and v.value <= policy.veto and eligibility.allows(ROOT, v.account)
    ]

    order = {sub.name: i for i, sub in enumerate(ownership.config.all_subsystems)}
    results = []
    for name in sorted(files, key=order.__getitem__):
        sub = ownership.config.subsystem(name)
        eligible = [v for v in counted if eligibility.allows(name, v.account)]
        approved = tuple(
            dict.fromkeys(v.account.display for v in eligible if v.value >= policy.approve)
        )
        vetoed = dict.fromkeys(v.account.display for v in eligible if v.value <= policy.veto)
        if sub.mode is Mode.ENFORCE:
            vetoed.update(dict.fromkeys(root_vetoes))
        results.append(
            RequirementResult(
                subsystem=name,
                mode=sub.mode,
                approvals=sub.approvals,
                eligible=ownership.eligible(name),
                files=tuple(files[name]),
                approved_by=approved,
                vetoed_by=tuple(vetoed),
            )
        )

    enforced = [r for r in results if r.mode is Mode.ENFORCE]
    if any(r.vetoed_by for r in enforced):
        verdict = Verdict.BLOCKED
    elif all(r.met for r in enforced):
        verdict = Verdict.APPROVED
    else:
        verdict = Verdict.PENDING
    suggested = suggest_reviewers(ownership, results, change, eligibility.members, suggestions)
    return Evaluation(verdict, tuple(results), suggested, tuple(eligibility.unresolved))


def _latest_votes(votes: Iterable[Vote]) -> list[Vote]:
    """One vote per account, the last given: a person is counted once, as they stand now."""
    latest: dict[str, Vote] = {}
    for vote in votes:
        latest[vote.account.key] = vote
    return list(latest.values())
