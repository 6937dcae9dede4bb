"""A change as ownership sees it, and its verdict: the input and the output of `evaluate`.

Apart from the config's model (`owners.engine.model`) because a command about paths alone,
`owners who`, needs neither, and every class here costs start-up time to define.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from owners.engine.landing import Landing
from owners.engine.model import Mode, identities_of


class Verdict(enum.StrEnum):
    APPROVED = "APPROVED"
    PENDING = "PENDING"
    BLOCKED = "BLOCKED"


@dataclass(frozen=True)
class Account:
    """A Gerrit account as far as ownership cares: any of its names may appear in OWNERS.yaml.

    `active` is False for an account Gerrit reports as inactive (deactivated): its votes
    never count (see `owners.engine.evaluation.counts`).  It is a state of the account, not
    part of its identity, so two descriptions of one account compare equal whatever it says;
    so are `secondary_emails`, which Gerrit shows only in some answers (an account search
    with ALL_EMAILS, to an account allowed to View Secondary Emails).
    """

    username: str | None = None
    email: str | None = None
    account_id: int | None = None
    active: bool = field(default=True, compare=False)
    secondary_emails: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def identities(self) -> frozenset[str]:
        """The owners entries that name this account (see `identities_of`)."""
        return frozenset(identities_of(self.username, self.email))

    @property
    def emails(self) -> frozenset[str]:
        """Every email the account holds as far as known: the commit emails it stands for.
        Not its `identities`: an owners entry names an account by its preferred email only
        (docs/security.md, rule 2)."""
        return frozenset((self.email,) if self.email else ()) | self.secondary_emails

    @property
    def key(self) -> str:
        """A stable identity for counting distinct approvers."""
        if self.account_id is not None:
            return f"#{self.account_id}"
        return self.username or self.email or ""

    @property
    def display(self) -> str:
        return self.username or self.email or f"#{self.account_id}"

    def same_as(self, other: Account | None) -> bool:
        """Whether both describe one account: the same ID, or a name both hold.  Used to
        tell authors from approvers, where a false "same" only withholds a vote."""
        if other is None:
            return False
        if self.account_id is not None and self.account_id == other.account_id:
            return True
        return bool(self.identities & other.identities)


@dataclass(frozen=True)
class Vote:
    account: Account
    value: int


@dataclass(frozen=True)
class StickyVote:
    """A vote cast on an earlier patch set, with what that patch set landed (its diff against
    its own parent).  It counts for a requirement none of whose paths the current patch set
    lands differently (`sticky_approvals`, see `owners.engine.landing`)."""

    vote: Vote
    patchset: int
    landing: Landing


@dataclass(frozen=True)
class ChangedFile:
    """A file of a change; a rename carries its old path so both sides are owned."""

    path: str
    old_path: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        if self.old_path and self.old_path != self.path:
            return (self.path, self.old_path)
        return (self.path,)


@dataclass(frozen=True)
class Change:
    """A change as ownership sees it.  `writers` are the accounts that put code into it
    besides its owner and current uploader: the uploaders of earlier patch sets and the
    author and committer of the current revision."""

    files: tuple[ChangedFile, ...]
    votes: tuple[Vote, ...] = ()
    owner: Account | None = None
    uploader: Account | None = None
    number: int = 0
    writers: tuple[Account, ...] = ()
    # Inputs of the opt-in exceptions; empty values never waive anything.
    uploaders: tuple[Account, ...] = ()  # of every patch set, and who really uploaded each
    pure_revert_of: int = 0  # the merged change this one purely reverts, as Gerrit says
    sticky_votes: tuple[StickyVote, ...] = ()  # approvals cast on earlier patch sets
    # What the current revision lands (None: unknown, or a merge, which has no one diff),
    # and what the change named by `pure_revert_of` landed.
    landing: Landing | None = None
    reverted_landing: Landing | None = None

    @classmethod
    def of(
        cls,
        files: Iterable[str | ChangedFile],
        votes: Iterable[Vote] = (),
        owner: Account | None = None,
        uploader: Account | None = None,
        number: int = 0,
        writers: Iterable[Account] = (),
        *,
        uploaders: Iterable[Account] = (),
        pure_revert_of: int = 0,
        sticky_votes: Iterable[StickyVote] = (),
        landing: Landing | None = None,
        reverted_landing: Landing | None = None,
    ) -> Change:
        changed = tuple(f if isinstance(f, ChangedFile) else ChangedFile(f) for f in files)
        return cls(
            changed,
            tuple(votes),
            owner,
            uploader,
            number,
            tuple(writers),
            tuple(uploaders),
            pure_revert_of,
            tuple(sticky_votes),
            landing,
            reverted_landing,
        )

    @property
    def authors(self) -> tuple[Account, ...]:
        """Everyone whose approval would be their own code's: see `Policy.self_approval`."""
        return tuple(a for a in (self.owner, self.uploader, *self.writers) if a is not None)

    def is_author(self, account: Account) -> bool:
        return any(account.same_as(author) for author in self.authors)


@dataclass(frozen=True)
class RequirementResult:
    """How one subsystem's requirement stands on a change."""

    subsystem: str
    mode: Mode
    approvals: int
    eligible: tuple[str, ...]
    files: tuple[str, ...]
    approved_by: tuple[str, ...] = ()
    vetoed_by: tuple[str, ...] = ()
    waived: str = ""  # why no approval is needed (an exemption); vetoes still count

    @property
    def missing(self) -> int:
        if self.waived:
            return 0
        return max(0, self.approvals - len(self.approved_by))

    @property
    def met(self) -> bool:
        return self.missing == 0


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    requirements: tuple[RequirementResult, ...]
    suggested_reviewers: tuple[str, ...] = ()
    unresolved_groups: tuple[str, ...] = field(default=())
    waived: str = ""  # the exemption that lifted every requirement, if any
    suggestion_why: str = ""  # why the suggested reviewers ranked so ("dave: away until 12 Dec")

    @property
    def vetoed_by(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for req in self.requirements:
            if req.mode is Mode.ENFORCE:
                seen.update(dict.fromkeys(req.vetoed_by))
        return tuple(seen)
