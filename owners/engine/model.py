"""The parsed form of OWNERS.yaml: subsystems, their rules and the policy.

Everything here is immutable and free of I/O so that a verdict is a pure function of a
config and a change (`owners.engine.change`): the CLI, the webhook and the tests all build
the same objects.
"""

from __future__ import annotations

import contextlib
import enum
import gc
from collections.abc import Iterator
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

    def position(self, name: str) -> int:
        """Where the subsystem stands in `all_subsystems` (root 0, then file order): the
        order in which requirements are listed."""
        return self._positions[name]

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {s.name: i for i, s in enumerate(self.all_subsystems)}


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
