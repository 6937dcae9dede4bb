"""The parsed form of OWNERS.yaml: subsystems, their rules and the policy.

Everything here is immutable and free of I/O so that a verdict is a pure function of a
config and a change (`owners.engine.change`): the CLI, the webhook and the tests all build
the same objects.
"""

from __future__ import annotations

import contextlib
import enum
import gc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Protocol

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


def policy_key(
    default: Any, doc: str, *, exception: bool = False, choices: tuple[str, ...] = ()
) -> Any:
    """A key of OWNERS.yaml's `policy`, declared once: the reader checks it (a boolean, a
    list of owners entries, or one of `choices`), the JSON schema describes it with `doc`, and
    `owners explain` shows an `exception` turned on.  Its rule is the engine's business."""
    return field(default=default, metadata={"doc": doc, "exception": exception, "choices": choices})


@dataclass(frozen=True)
class Policy:
    """How votes count.  Adding a key: declare it here with `policy_key`, write its rule
    (ARCHITECTURE.md, "Adding a policy key")."""

    label: str = policy_key("Code-Review", "The Gerrit label whose votes count.")
    approve: int = policy_key(2, "A vote at or above this approves.")
    veto: int = policy_key(-2, "A vote at or below this from an eligible approver blocks.")
    self_approval: bool = policy_key(
        False, "Whether the change owner's, uploaders' and authors' own votes count."
    )
    root_veto: bool = policy_key(
        True, "Whether root owners may veto anywhere, even under noparent."
    )
    # Opt-in exceptions (docs/format.md, "Exceptions"); each only ever weakens a check where
    # the file says so, and none lifts a veto.
    implicit_approval: bool = policy_key(
        False,
        "true: an owner's own change counts as one approval where the owner, every uploader "
        "and the author may all approve.",
        exception=True,
    )
    exempt: tuple[str, ...] = policy_key(
        (),
        "Accounts (or gerrit: groups) whose changes, every patch set uploaded by them, need "
        "no owner approval; vetoes still block.",
        exception=True,
    )
    pure_reverts: str = policy_key(
        "review",
        "exempt: a change Gerrit reports as a pure revert of a change merged on the same "
        "branch needs no owner approval.",
        exception=True,
        choices=("review", "exempt"),
    )
    sticky_approvals: bool = policy_key(
        False,
        "true: approvals of an earlier patch set still count for a requirement none of whose "
        "files changed since.",
        exception=True,
    )
    merge_commits: str = policy_key(
        "all-changed-files",
        "conflict-resolution: a merge of parents all on the branch needs only the owners of "
        "the files that differ from Gerrit's auto-merge; all-changed-files: every file "
        "differing from any parent.",
        exception=True,
        choices=("all-changed-files", "conflict-resolution"),
    )

    review_sla: str = policy_key(
        "",
        "How long a change may wait for a first review by an eligible owner before the bot "
        "asks the next eligible reviewers: [SUBSYSTEM=]DURATION, ... where DURATION is 12h, "
        "3d (calendar days), 2bd (business days) or, for a named subsystem, none; empty: "
        "never.",
    )

    def exceptions_in_effect(self) -> dict[str, Any]:
        """The opt-in exceptions this policy turns on (set to other than their default), in
        the order `Policy` declares them."""
        return {
            key.name: getattr(self, key.name)
            for key in fields(self)
            if key.metadata["exception"] and getattr(self, key.name) != key.default
        }


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


class ConfigByName(Protocol):
    """What answering about paths and changes may ask of a config: its policy, its groups,
    and a subsystem (or its place in the file) by name, never to go through `subsystems`.

    `Hierarchy` (approvers, parent chains), `Ownership.requirements`, `evaluate` and
    `owners who` ask only this, so a config whose subsystems are built when first named
    (`OwnersConfig.built_on_demand`, as the compiled-map cache reopens one) builds for a
    lookup only the subsystems on its paths' parent chains: a handful of 10,000.  Work on the
    whole map (validation, coverage, dashboards, an explanation's list of matching rules)
    goes through `subsystems` and builds them all.
    """

    @property
    def policy(self) -> Policy: ...

    @property
    def groups(self) -> Mapping[str, tuple[str, ...]]: ...

    @property
    def root(self) -> Subsystem: ...

    def subsystem(self, name: str) -> Subsystem: ...

    def position(self, name: str) -> int:
        """Where the subsystem stands in the file: root 0, then file order."""
        ...


class SubsystemStore(Protocol):
    """Subsystems kept in a compiled form, each built only when asked for: what a config
    `OwnersConfig.built_on_demand` reads them from (`owners.cache` keeps one per line)."""

    @property
    def names(self) -> Sequence[str]:
        """Every subsystem's name but root's, in file order."""
        ...

    def build(self, position: int) -> Subsystem:
        """The subsystem named `names[position]`."""
        ...


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

    @staticmethod
    def built_on_demand(
        policy: Policy,
        groups: dict[str, tuple[str, ...]],
        root: Subsystem,
        store: SubsystemStore,
        source: str = CONFIG_PATH,
    ) -> OwnersConfig:
        """A config whose subsystems are built from `store` when first named, for one
        reopened from a compiled form: a lookup asks only for what `ConfigByName` names.

        It is an `OwnersConfig`, since any caller of `Ownership.config` may go through the
        whole map, but the dataclass's `__init__` wants every subsystem built, which is what
        reopening avoids: so its fields are set here, as that `__init__` sets them on the
        frozen instance.  `dataclasses.replace` on it gives an ordinary, complete config.
        """
        config = object.__new__(_BuiltOnDemand)
        fields = {"policy": policy, "groups": groups, "root": root, "source": source}
        fields.update(_store=store, _built={}, _index={n: i for i, n in enumerate(store.names)})
        for name, value in fields.items():
            object.__setattr__(config, name, value)
        return config


class _BuiltOnDemand(OwnersConfig):
    """See `OwnersConfig.built_on_demand`."""

    _store: SubsystemStore
    _index: dict[str, int]
    _built: dict[str, Subsystem]

    def __new__(cls, *args: Any, **kwargs: Any) -> OwnersConfig:  # type: ignore[misc]
        # Made by fields, as `dataclasses.replace` makes a copy: an ordinary config.
        return OwnersConfig(*args, **kwargs)

    @cached_property
    def subsystems(self) -> tuple[Subsystem, ...]:  # type: ignore[override]
        return tuple(self.subsystem(name) for name in self._index)

    def subsystem(self, name: str) -> Subsystem:
        if name == self.root.name:
            return self.root
        found = self._built.get(name)
        if found is None:
            found = self._built[name] = self._store.build(self._index[name])
        return found

    def position(self, name: str) -> int:
        return 0 if name == self.root.name else self._index[name] + 1


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
