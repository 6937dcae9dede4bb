"""The parsed form of OWNERS.yaml and the inputs and outputs of an evaluation.

Everything here is immutable and free of I/O so that a verdict is a pure function of a
config and a change: the CLI, the webhook and the tests all build the same objects.
"""

from __future__ import annotations

import contextlib
import enum
import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from owners.engine.patterns import Glob

ROOT = "root"
CONFIG_PATH = "OWNERS.yaml"
GERRIT_PREFIX = "gerrit:"  # an owners entry naming a Gerrit group
USER_PREFIX = "user:"  # an owners entry that is a username even if an alias has that name


def identities_of(username: str | None, email: str | None) -> tuple[str, ...]:
    """The owners entries that name an account with this username and email.

    An entry containing `@` names an email and anything else a username, compared exactly as
    Gerrit stores them: Gerrit keeps `Bob@example.org` and `bob@example.org` apart (two
    accounts may hold them), and a username may itself contain `@`.  So an email is never
    case-folded, and a username with `@` in it names nobody: otherwise the account with the
    username `bob@example.org` would pass for the holder of that email.
    """
    named_by_username = (username,) if username and "@" not in username else ()
    return named_by_username + ((email,) if email and "@" in email else ())


class Mode(enum.StrEnum):
    ENFORCE = "enforce"
    ADVISORY = "advisory"


class Verdict(enum.StrEnum):
    APPROVED = "APPROVED"
    PENDING = "PENDING"
    BLOCKED = "BLOCKED"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based line and column in a named file, for messages an editor can jump to."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    location: Location
    severity: Severity
    message: str
    hint: str = ""

    def __str__(self) -> str:
        prefix = "" if self.severity is Severity.ERROR else "warning: "
        text = f"{self.location}: {prefix}{self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


@dataclass(frozen=True)
class Policy:
    label: str = "Code-Review"
    approve: int = 2
    veto: int = -2
    self_approval: bool = False
    root_veto: bool = True
    # Opt-in exceptions (docs/format.md, "Exceptions"); each only ever weakens a check where
    # the file says so, and none lifts a veto.
    implicit_approval: bool = False
    exempt: tuple[str, ...] = ()
    pure_reverts: str = "review"  # or "exempt"
    sticky_approvals: bool = False
    merge_commits: str = "all-changed-files"  # or "conflict-resolution"


@dataclass(frozen=True)
class PathRule:
    """One entry of a subsystem's `paths`, as written, with where it was written."""

    pattern: str
    location: Location
    # The parsed glob, when the reader already parsed it to validate the pattern: answering
    # then reuses it rather than parsing each pattern a second time.
    compiled: Glob | None = field(default=None, compare=False, repr=False)

    @property
    def negated(self) -> bool:
        return self.pattern.startswith("!")

    @property
    def glob(self) -> str:
        return self.pattern[1:] if self.negated else self.pattern


@dataclass(frozen=True)
class Subsystem:
    """A node of the ownership tree; root is the subsystem named `root` with no paths."""

    name: str
    owners: tuple[str, ...]
    approvals: int = 1
    paths: tuple[PathRule, ...] = ()
    description: str = ""
    parent: str | None = ROOT
    noparent: bool = False
    mode: Mode = Mode.ENFORCE
    location: Location | None = None


@dataclass(frozen=True)
class OwnersConfig:
    policy: Policy
    groups: dict[str, tuple[str, ...]]
    root: Subsystem
    subsystems: tuple[Subsystem, ...]
    source: str = CONFIG_PATH
    includes: tuple[str, ...] = ()  # delegated files `include:` names, merged in

    def subsystem(self, name: str) -> Subsystem:
        return self.by_name[name]

    @property
    def all_subsystems(self) -> tuple[Subsystem, ...]:
        """Root first, then the subsystems in file order."""
        return (self.root, *self.subsystems)

    @cached_property
    def by_name(self) -> dict[str, Subsystem]:
        return {s.name: s for s in self.all_subsystems}


@dataclass(frozen=True)
class Account:
    """A Gerrit account as far as ownership cares: any of its names may appear in OWNERS.yaml."""

    username: str | None = None
    email: str | None = None
    account_id: int | None = None

    @property
    def identities(self) -> frozenset[str]:
        """The owners entries that name this account (see `identities_of`)."""
        return frozenset(identities_of(self.username, self.email))

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
    """A vote cast on an earlier patch set, with every path that differs between that patch
    set and the current one (added, removed, edited or renamed, as Gerrit's
    `files?base=<patch set>` lists them).  It counts for a requirement none of whose files is
    among `changed` (`sticky_approvals`)."""

    vote: Vote
    patchset: int
    changed: frozenset[str]


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

    @property
    def vetoed_by(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for req in self.requirements:
            if req.mode is Mode.ENFORCE:
                seen.update(dict.fromkeys(req.vetoed_by))
        return tuple(seen)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large acyclic structure.

    Reading a map of 10,000 subsystems allocates hundreds of thousands of objects, and each
    allocation burst triggers collections that scan the whole heap: in a process already
    holding a large heap (the service, the benchmarks) that was 80% of the compile time.
    What is built here holds no cycles, so reference counting frees it all the same.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
