"""Deciding a change: which requirements it has, who met them, who blocks (sentences 4-6).

A verdict is a pure function of the compiled config, the change and the group members the
injected resolver reports, so the CLI, the service and the tests always agree on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from owners.engine.change import Account, Change, Evaluation, RequirementResult, Verdict, Vote
from owners.engine.landing import differing_paths, is_inverse
from owners.engine.model import ROOT, Mode, Policy
from owners.engine.resolution import GroupResolver, Ownership, is_group
from owners.engine.suggestion import Acquaintance, suggest_reviewers


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

    def names(self, entries: tuple[str, ...], account: Account) -> bool:
        """Whether owners entries (aliases expanded, `gerrit:` groups resolved) name the
        account: for `policy.exempt`, which lists accounts rather than a requirement's."""
        ids = account.identities
        for identity in self.ownership.expand_entries(entries):
            if is_group(identity) and ids & self.members(identity):
                return True
            if not is_group(identity) and identity in ids:
                return True
        return False


def evaluate(
    ownership: Ownership,
    change: Change,
    resolver: GroupResolver | None = None,
    *,
    suggestions: int | None = None,
    acquaintance: Callable[[str], Acquaintance] | None = None,
) -> Evaluation:
    """Evaluate a change against a compiled config.

    `resolver` maps a Gerrit group to its members, or to None when it cannot see the group;
    an unresolved `gerrit:` group matches no voter and is listed in `unresolved_groups`, so a
    check without Gerrit never over-approves.
    `suggestions` caps the suggested reviewers (None: as many as cover every requirement);
    `acquaintance` ranks them by availability, load and familiarity (`owners.engine.suggestion`).
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
    counted = [v for v in _latest_votes(change.votes) if counts(v.account, change, policy)]
    root_vetoes = [
        v.account.display
        for v in counted
        if policy.root_veto and v.value <= policy.veto and eligibility.allows(ROOT, v.account)
    ]

    waived = exemption(policy, change, eligibility)
    results = []
    for name in sorted(files, key=ownership.config.position):
        sub = ownership.config.subsystem(name)
        eligible = [v for v in counted if eligibility.allows(name, v.account)]
        approved = tuple(
            dict.fromkeys(v.account.display for v in eligible if v.value >= policy.approve)
        )
        if policy.sticky_approvals and change.sticky_votes:
            approved = _with_sticky(approved, name, ownership, change, eligibility)
        if policy.implicit_approval:
            approved = _with_implicit(approved, name, change, eligibility)
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
                waived=waived,
            )
        )

    enforced = [r for r in results if r.mode is Mode.ENFORCE]
    if any(r.vetoed_by for r in enforced):
        verdict = Verdict.BLOCKED
    elif all(r.met for r in enforced):
        verdict = Verdict.APPROVED
    else:
        verdict = Verdict.PENDING
    suggested = suggest_reviewers(
        ownership, results, change, eligibility.members, suggestions, acquaintance
    )
    return Evaluation(
        verdict,
        tuple(results),
        suggested.reviewers,
        tuple(eligibility.unresolved),
        waived,
        suggested.why,
    )


IMPLICIT = " (implicit: change owner)"
"""How an implicit approval reads in `approved_by`: never a display name of its own."""


def _with_implicit(
    approved: tuple[str, ...], name: str, change: Change, eligibility: Eligibility
) -> tuple[str, ...]:
    """`approved` plus the change owner's implicit approval (`implicit_approval`).

    It counts only when every account that put code into the change may approve for the
    requirement: the owner, the uploader of every patch set (and who really uploaded it),
    the current revision's author and committer.  Anyone else's code in it would otherwise be
    approved by its owner's mere ownership of the change.
    """
    owner = change.owner
    if (
        owner is None
        or not owner.active  # an implied vote is a vote: a deactivated owner's never counts
        or owner.display in approved
        or not eligibility.allows(name, owner)
    ):
        return approved
    writers = (*change.authors, *change.uploaders)
    for writer in writers:
        if eligibility.allows(name, writer):
            continue
        # a commit email, preferred or secondary, stands for the account holding it, when
        # Gerrit named that account
        holders = [
            w
            for w in writers
            if w.account_id is not None and writer.email and writer.email in w.emails
        ]
        if (
            writer.account_id is None
            and holders
            and all(eligibility.allows(name, h) for h in holders)
        ):
            continue
        return approved
    return (*approved, owner.display + IMPLICIT)


def _with_sticky(
    approved: tuple[str, ...],
    name: str,
    ownership: Ownership,
    change: Change,
    eligibility: Eligibility,
) -> tuple[str, ...]:
    """`approved` plus approvals cast on earlier patch sets (`sticky_approvals`).

    Invariant: an approval carries to the current patch set only if what it lands on the
    requirement's paths is exactly what the approved patch set landed there (the same paths,
    from the same content to the same content, `owners.engine.landing`).  A merge, or a
    revision whose landing is unknown, carries nothing.  A sticky vote counts only as a vote
    on the current patch set would (`counts`)."""
    if change.landing is None:
        return approved
    policy = ownership.config.policy
    found = dict.fromkeys(approved)
    current = {v.account.key for v in change.votes}  # a vote on this patch set stands instead
    for sticky in change.sticky_votes:
        account = sticky.vote.account
        if (
            sticky.vote.value < policy.approve
            or account.key in current
            or account.display in found
            or any(a.startswith(account.display + " (") for a in found)
            or not counts(sticky.vote.account, change, policy)
            or not eligibility.allows(name, account)
        ):
            continue
        moved = differing_paths(sticky.landing, change.landing)
        if any(name in ownership.requirements(path) for path in moved):
            continue
        found[account.display + f" (patch set {sticky.patchset})"] = None
    return tuple(found)


def exemption(policy: Policy, change: Change, eligibility: Eligibility) -> str:
    """Why the change needs no owner approval, or "" (almost always).

    `exempt`: every patch set was uploaded (and really uploaded) by exempted accounts, and the
    change is owned by one.  `pure_reverts: exempt`, whose invariant is that a revert is
    exempt only if it lands exactly the inverse of what the reverted change landed: Gerrit
    reports the change as a pure revert of a merged change of its branch (the service checks
    that) *and* its own diff inverts that change's diff, path by path and byte for byte.
    """
    if policy.exempt:
        accounts = [a for a in (change.owner, change.uploader, *change.uploaders) if a]
        if accounts and all(eligibility.names(policy.exempt, a) for a in accounts):
            names = ", ".join(dict.fromkeys(a.display for a in accounts))
            return f"every patch set was uploaded by exempted accounts ({names})"
    if (
        policy.pure_reverts == "exempt"
        and change.pure_revert_of > 0
        and change.landing is not None
        and change.reverted_landing is not None
        and is_inverse(change.landing, change.reverted_landing)
    ):
        return f"a pure revert of merged change {change.pure_revert_of}"
    return ""


def _latest_votes(votes: Iterable[Vote]) -> list[Vote]:
    """One vote per account, the last given: a person is counted once, as they stand now."""
    latest: dict[str, Vote] = {}
    for vote in votes:
        latest[vote.account.key] = vote
    return list(latest.values())


def counts(voter: Account, change: Change, policy: Policy) -> bool:
    """Which votes count, the one rule for every surface (label, submit check, pages, CLI,
    report, the reviewers the bot adds): a vote of an active account that did not write the
    change (unless `self_approval`).

    A deactivated account speaks for nobody any more: whatever it voted while active neither
    approves nor vetoes, and counts again only if Gerrit reactivates it.
    """
    return voter.active and (policy.self_approval or not change.is_author(voter))
