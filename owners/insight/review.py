"""How review works in practice: from the votes on a project's recent changes, how long each
subsystem waits for its lieutenants and for the core team, whether the lieutenants alone would
have been enough, who carries the load, whose ownership is stale and where one person is all
there is.

Everything is computed with the engine's own rules (requirements, eligibility, self-approval,
verdicts) from typed change histories; fetching them from Gerrit is the caller's business.
The definitions are those of `owners report` in docs/cli.md.
"""

from __future__ import annotations

import functools
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from owners.engine import (
    ROOT,
    Account,
    Change,
    ChangedFile,
    GroupResolver,
    Mode,
    OwnersConfig,
    Ownership,
    Verdict,
    Vote,
    evaluate,
)
from owners.engine.escalation import Reviewed, first_review, waiting_since
from owners.engine.evaluation import Eligibility, counts
from owners.engine.resolution import is_group
from owners.engine.sla import Sla, review_sla
from owners.wording import plural


@dataclass(frozen=True)
class TimedVote:
    """A vote on the policy's label as it was cast: a later vote by the same account replaces
    it (0 takes it back)."""

    account: Account
    value: int
    at: datetime


@dataclass(frozen=True)
class ChangeHistory:
    """One change as the report needs it: when it was uploaded, by whom, what it touches (its
    current patch set) and every vote on the policy's label, oldest first."""

    number: int
    created: datetime
    owner: Account
    uploader: Account
    files: tuple[ChangedFile, ...]
    votes: tuple[TimedVote, ...] = ()
    subject: str = ""
    writers: tuple[Account, ...] = ()  # as `Change.writers`: who else put code into it
    uploaders: tuple[Account, ...] = ()  # as `Change.uploaders`
    readied: tuple[datetime, ...] = ()  # when it was marked ready for review, if ever

    def change(self, before: datetime | None = None) -> Change:
        """The change as the engine sees it, with the votes cast before `before` (all: None)."""
        votes = (Vote(v.account, v.value) for v in self.votes if before is None or v.at < before)
        return Change.of(
            self.files,
            votes,
            self.owner,
            self.uploader,
            self.number,
            self.writers,
            uploaders=self.uploaders,
        )


@dataclass(frozen=True)
class Waits:
    """Seconds from upload to an approval, over the changes that got one."""

    seconds: tuple[float, ...] = ()

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def p90(self) -> float | None:
        """The 90th percentile, interpolated between the closest ranks (numpy's default)."""
        if len(self.seconds) < 2:
            return self.median
        return statistics.quantiles(self.seconds, n=10, method="inclusive")[-1]


@dataclass(frozen=True)
class SubsystemReview:
    name: str
    mode: Mode
    changes: int
    lieutenant_wait: Waits
    root_wait: Waits
    enough: int  # changes whose lieutenants' approvals met everything before the core acted
    approvals: dict[str, int]  # approver -> changes approved for this subsystem
    bus_factor_one: str | None  # why one person is all there is, or None
    # from upload to the first vote of any value by an eligible owner that counts
    first_review: Waits = field(default_factory=Waits)
    sla: Sla | None = None  # its `policy.review_sla`
    # changes whose first owner review came after the SLA, or had not come by then: those
    # the bot escalates (counted when the SLA had passed by the report's `now`)
    escalated: int = 0

    @property
    def enough_share(self) -> float | None:
        return self.enough / self.changes if self.changes else None

    @property
    def escalated_share(self) -> float | None:
        return self.escalated / self.changes if self.changes else None


@dataclass(frozen=True)
class ChangeReview:
    number: int
    subject: str
    created: datetime
    subsystems: tuple[str, ...]
    first_approver: str | None  # the first counted approval of anyone
    first_root_approver: str | None
    enough: bool
    verdict: Verdict


@dataclass(frozen=True)
class PersonLoad:
    person: str
    approvals: int  # changes approved in the window
    owns: tuple[str, ...]  # subsystems naming them (or a gerrit: group they are in) as owner


@dataclass(frozen=True)
class StaleOwner:
    owner: str  # as written in OWNERS.yaml, aliases expanded
    subsystems: tuple[str, ...]


@dataclass(frozen=True)
class AdvisoryVerdict:
    subsystem: str
    number: int
    verdict: Verdict  # what the bot cast (the trial is reported, not enforced)
    if_enforced: Verdict  # what it would have cast with the subsystem enforced


@dataclass(frozen=True)
class ReviewReport:
    since: datetime
    changes: tuple[ChangeReview, ...]
    subsystems: tuple[SubsystemReview, ...]
    load: tuple[PersonLoad, ...]
    stale_owners: tuple[StaleOwner, ...]
    advisory: tuple[AdvisoryVerdict, ...]
    unresolved_groups: tuple[str, ...] = ()

    @property
    def bus_factor_one(self) -> tuple[SubsystemReview, ...]:
        return tuple(s for s in self.subsystems if s.bus_factor_one)


@dataclass
class _Tally:
    changes: int = 0
    lieutenant: list[float] = field(default_factory=list)
    root: list[float] = field(default_factory=list)
    enough: int = 0
    approvals: Counter[str] = field(default_factory=Counter)
    first_review: list[float] = field(default_factory=list)
    escalated: int = 0


def review_report(
    ownership: Ownership,
    histories: Iterable[ChangeHistory],
    since: datetime,
    resolver: GroupResolver | None = None,
    now: datetime | None = None,
) -> ReviewReport:
    """The report over `histories`: changes uploaded at or after `since` for the subsystem
    figures, approvals given at or after `since` (on any of the histories) for the load and
    the stale owners.  `now` (default: the last vote or upload seen) decides whether a change
    still waiting for its first owner review has passed its SLA."""
    policy = ownership.config.policy
    # every evaluation asks again for the groups it meets: ask the resolver once per group
    resolver = functools.cache(resolver) if resolver is not None else None
    anyone = Eligibility(ownership, resolver)
    # A lieutenant of a requirement is whoever is eligible for it once root's owners are
    # taken away: its own owners and its ancestors' below root.
    lieutenants = Eligibility(_without_root_owners(ownership), resolver)
    trial = Ownership(_enforced(ownership.config, _advisory(ownership.config)))
    trials = {
        name: Ownership(_enforced(ownership.config, (name,)))
        for name in _advisory(ownership.config)
    }

    tallies: dict[str, _Tally] = defaultdict(_Tally)
    load: dict[str, set[int]] = defaultdict(set)
    accounts: dict[str, Account] = {}
    changes: list[ChangeReview] = []
    advisory: list[AdvisoryVerdict] = []
    histories = sorted(histories, key=lambda h: (h.created, h.number))
    if now is None:
        now = max(
            (t for h in histories for t in (h.created, *(v.at for v in h.votes))), default=since
        )
    for history in histories:
        current = history.change()
        approvals = [
            v
            for v in history.votes
            if v.value >= policy.approve and counts(v.account, current, policy)
        ]
        for vote in approvals:
            if vote.at >= since:
                load[vote.account.display].add(history.number)
                accounts[vote.account.display] = vote.account
        if history.created < since:
            continue

        evaluation = evaluate(ownership, current, resolver)
        reviews = [
            Reviewed(v.account, v.at)
            for v in history.votes
            if v.value and counts(v.account, current, policy)
        ]
        first_root = next((v for v in approvals if anyone.allows(ROOT, v.account)), None)
        before = first_root.at if first_root else None
        enough = evaluate(trial, history.change(before), resolver).verdict is Verdict.APPROVED
        for requirement in evaluation.requirements:
            name = requirement.subsystem
            tally = tallies[name]
            tally.changes += 1
            tally.enough += enough
            own = [v for v in approvals if lieutenants.allows(name, v.account)]
            if own:
                tally.lieutenant.append(_seconds(own[0].at, history.created))
            if first_root:
                tally.root.append(_seconds(first_root.at, history.created))
            review = first_review(name, reviews, anyone.allows)
            if review is not None:
                tally.first_review.append(_seconds(review.when, history.created))
            sla = review_sla(policy.review_sla, name)
            start = waiting_since(history.created, history.readied)
            if sla is not None and (review.when if review else now) > sla.deadline(start):
                tally.escalated += 1
            if name == ROOT:  # root has no lieutenants: its approvers are the core team
                own = [v for v in approvals if anyone.allows(ROOT, v.account)]
            tally.approvals.update({v.account.display: 1 for v in own})
            if requirement.mode is Mode.ADVISORY:
                verdict = evaluate(trials[name], current, resolver).verdict
                advisory.append(AdvisoryVerdict(name, history.number, evaluation.verdict, verdict))
        changes.append(
            ChangeReview(
                number=history.number,
                subject=history.subject,
                created=history.created,
                subsystems=tuple(r.subsystem for r in evaluation.requirements),
                first_approver=approvals[0].account.display if approvals else None,
                first_root_approver=first_root.account.display if first_root else None,
                enough=enough,
                verdict=evaluation.verdict,
            )
        )

    subsystems = tuple(
        SubsystemReview(
            name=sub.name,
            mode=sub.mode,
            changes=tallies[sub.name].changes,
            lieutenant_wait=Waits(tuple(tallies[sub.name].lieutenant)),
            root_wait=Waits(tuple(tallies[sub.name].root)),
            enough=tallies[sub.name].enough,
            approvals=_most_first(tallies[sub.name].approvals),
            bus_factor_one=_bus_factor_one(ownership, sub.name, tallies[sub.name].approvals),
            first_review=Waits(tuple(tallies[sub.name].first_review)),
            sla=review_sla(policy.review_sla, sub.name),
            escalated=tallies[sub.name].escalated,
        )
        for sub in ownership.config.all_subsystems
    )
    owners = _owners(ownership)
    people = tuple(
        PersonLoad(
            person,
            len(numbers),
            tuple(
                name
                for entry, names in owners.items()
                if _names(entry, accounts[person], anyone)
                for name in names
            ),
        )
        for person, numbers in sorted(load.items(), key=lambda item: (-len(item[1]), item[0]))
    )
    stale = tuple(
        StaleOwner(entry, names)
        for entry, names in owners.items()
        if not any(_names(entry, account, anyone) for account in accounts.values())
    )
    return ReviewReport(
        since=since,
        changes=tuple(changes),
        subsystems=subsystems,
        load=people,
        stale_owners=stale,
        advisory=tuple(advisory),
        unresolved_groups=tuple({**anyone.unresolved, **lieutenants.unresolved}),
    )


def _most_first(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _seconds(at: datetime, start: datetime) -> float:
    return max(0.0, (at - start).total_seconds())


def _advisory(config: OwnersConfig) -> tuple[str, ...]:
    return tuple(s.name for s in config.subsystems if s.mode is Mode.ADVISORY)


def _enforced(config: OwnersConfig, names: tuple[str, ...]) -> OwnersConfig:
    """The config with the named subsystems' trials turned into enforcement."""
    return replace(
        config,
        subsystems=tuple(
            replace(s, mode=Mode.ENFORCE) if s.name in names else s for s in config.subsystems
        ),
    )


def _without_root_owners(ownership: Ownership) -> Ownership:
    config = ownership.config
    return Ownership(replace(config, root=replace(config.root, owners=())))


def _owners(ownership: Ownership) -> dict[str, tuple[str, ...]]:
    """Each owners entry named in the file (aliases expanded; a `gerrit:` group stays one
    entry) and the subsystems naming it, in file order."""
    found: dict[str, dict[str, None]] = {}
    for sub in ownership.config.all_subsystems:
        for entry in ownership.own_owners(sub.name):
            found.setdefault(entry, {})[sub.name] = None
    return {entry: tuple(names) for entry, names in found.items()}


def _names(entry: str, account: Account, eligibility: Eligibility) -> bool:
    """Whether an owners entry names the account (a `gerrit:` group: it is a member)."""
    if is_group(entry):
        return bool(account.identities & eligibility.members(entry))
    return entry in account.identities


def _bus_factor_one(ownership: Ownership, name: str, approvals: Counter[str]) -> str | None:
    """Why the subsystem hangs on one person: it names one owner, or every approval for it in
    the window came from one person."""
    own = ownership.own_owners(name)
    if len(own) == 1 and not is_group(own[0]):
        return f"one owner: {own[0]}"
    if len(approvals) == 1:
        (person, count), *_ = approvals.items()
        return f"one approver: {person} approved all {count} {plural(count, 'change')}"
    return None
