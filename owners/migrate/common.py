"""What every migration shares: the common answer, notes, the comparison, and the writer.

A source format and OWNERS.yaml answer the same question differently, so both answers are
brought to one shape before they are compared: for a path, the set of requirements it
imposes, each a set of eligible identities, a number of approvals and whether it blocks.
The source's answer comes from its own rules (implemented in its module); OWNERS.yaml's
comes from the real engine.  A file the source leaves without a code owner still needs
the ordinary review; OWNERS.yaml has no "anyone", so such files belong to root, and the
comparison reads "no code owner" as "root's requirement" (the one declared mapping).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from owners.engine import CONFIG_PATH, ROOT, Mode, Ownership
from owners.engine.patterns import Glob, compile_glob

ROOT_PLACEHOLDER = "TODO-root-owners"
"""Root's owner when the source has no top-level owners and none were given: a username
no one has, so nothing only root owns can be approved until someone names the core team."""


ROOT_NOTE = (
    f"root owns the files the source gives no owner; '{ROOT_PLACEHOLDER}' stands in "
    "until you name the core team (--root)"
)


class SourceError(ValueError):
    """A source that cannot be imported at all (missing, unreadable); one line."""


def _comparable(identity: str) -> str:
    """An identity as the source formats compare it: their hosts match emails case-blind."""
    return identity.lower() if "@" in identity else identity


@dataclass(frozen=True, order=True)
class Requirement:
    """One approval rule on a path: `approvals` of `eligible` (normalized identities)."""

    eligible: tuple[str, ...]
    approvals: int = 1
    blocking: bool = True

    @classmethod
    def of(
        cls, identities: Iterable[str], approvals: int = 1, blocking: bool = True
    ) -> Requirement:
        return cls(tuple(sorted({_comparable(i) for i in identities})), approvals, blocking)

    def __str__(self) -> str:
        text = f"{self.approvals} of {', '.join(self.eligible)}"
        return text if self.blocking else f"{text} (optional)"


Answer = frozenset[Requirement]
SourceAnswer = Callable[[str], Answer]


@dataclass(frozen=True, order=True)
class Note:
    """A source feature with no exact equivalent, where it was written and what was done."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class Imported:
    """The result of reading a source: the OWNERS.yaml text, the notes, and the source's
    own answer function (the oracle `--check` compares the engine's answers with)."""

    config: str
    notes: list[Note]
    answer: SourceAnswer
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Difference:
    path: str
    source: Answer
    ours: Answer

    def __str__(self) -> str:
        theirs, ours = describe(self.source), describe(self.ours)
        return f"{self.path}: source says {theirs}, OWNERS.yaml says {ours}"


def describe(answer: Answer) -> str:
    return "; ".join(str(r) for r in sorted(answer)) or "no requirement"


def engine_answer(ownership: Ownership, path: str, cache: dict[str, Requirement]) -> Answer:
    """OWNERS.yaml's answer for a path, from the engine itself."""
    return frozenset(_requirement(ownership, name, cache) for name in ownership.requirements(path))


def _requirement(ownership: Ownership, name: str, cache: dict[str, Requirement]) -> Requirement:
    """A subsystem's requirement, memoised in `cache`: a tree has many files and few
    subsystems."""
    requirement = cache.get(name)
    if requirement is None:
        sub = ownership.config.subsystem(name)
        requirement = cache[name] = Requirement.of(
            ownership.eligible(name), sub.approvals, sub.mode is Mode.ENFORCE
        )
    return requirement


def compare(
    ownership: Ownership, source: SourceAnswer, paths: Iterable[str]
) -> Iterator[Difference]:
    """Every path whose requirements differ; `CONFIG_PATH` is skipped, since OWNERS.yaml
    belongs to root by the format's rule 7 whatever the source says."""
    cache: dict[str, Requirement] = {}
    # what a file the source leaves without a code owner needs here: root's approval
    unowned = frozenset({_requirement(ownership, ROOT, cache)})
    for path in paths:
        if path == CONFIG_PATH:
            continue
        theirs = source(path)
        if not any(r.blocking for r in theirs):
            theirs = theirs | unowned
        ours = engine_answer(ownership, path, cache)
        if theirs != ours:
            yield Difference(path, theirs, ours)


# -- patterns -----------------------------------------------------------------------------


def literal_prefix(glob: Glob) -> tuple[str, ...] | None:
    """The leading literal segments of an anchored glob (None for an unanchored one): two
    globs whose prefixes diverge can never match the same path."""
    if not glob.anchored:
        return None
    prefix = []
    for seg in glob.segments:
        if seg == "**" or any(c in seg for c in "*?\\"):
            break
        prefix.append(seg)
    return tuple(prefix)


class OverlapIndex:
    """Which of a list of globs may match a path some other glob matches, conservatively
    (prefix test only) and without comparing every pair: anchored globs are filed in a trie
    of their literal prefixes, unanchored ones match anything."""

    def __init__(self) -> None:
        self._trie: dict[str, dict] = {}
        self._anywhere: list[int] = []
        self._here = "\0ids"

    def add(self, key: int, glob: Glob) -> None:
        prefix = literal_prefix(glob)
        if prefix is None:
            self._anywhere.append(key)
            return
        node = self._trie
        for seg in prefix:
            node = node.setdefault(seg, {})
        node.setdefault(self._here, []).append(key)

    def overlapping(self, glob: Glob) -> list[int]:
        """Keys of added globs that may match a path `glob` matches."""
        found = list(self._anywhere)
        prefix = literal_prefix(glob)
        node = self._trie
        if prefix is None:
            stack = [node]
        else:
            for seg in prefix:
                found += node.get(self._here, [])
                if seg not in node:
                    return found
                node = node[seg]
            stack = [node]
        while stack:
            current = stack.pop()
            for seg, child in current.items():
                if seg == self._here:
                    found += child
                else:
                    stack.append(child)
        return found


def check_glob(pattern: str) -> Glob | str:
    """A compiled glob, or why it cannot be one."""
    try:
        return compile_glob(pattern)
    except ValueError as exc:
        return str(exc)


# -- writing OWNERS.yaml --------------------------------------------------------------------

_NAME_CHARS = re.compile(r"[^A-Za-z0-9._+-]+")
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]*\Z")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(text: str) -> str:
    """A YAML scalar for `text`: plain when safe, else double-quoted (JSON is valid YAML)."""
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS and not _numeric(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def flow(items: Sequence[str]) -> str:
    return "[" + ", ".join(scalar(i) for i in items) + "]"


@dataclass
class Section:
    """One subsystem to write, with the source line it came from."""

    name: str
    paths: list[str]
    owners: tuple[str, ...]
    origin: str
    approvals: int = 1
    parent: str = ROOT
    noparent: bool = False
    advisory: bool = False


@dataclass
class ConfigWriter:
    """Builds a readable OWNERS.yaml: a comment naming each subsystem's source line, and
    aliases for owner lists that several subsystems share."""

    header: str
    root_owners: tuple[str, ...]
    root_comment: str = ""
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    _names: set[str] = field(default_factory=lambda: {ROOT})

    def name(self, hint: str, fallback: str) -> str:
        """A unique, valid subsystem name that reads like what it owns."""
        base = _NAME_CHARS.sub("-", hint).strip("-._+") or fallback
        if not base[0].isalnum():
            base = fallback
        name, n = base, 2
        while name in self._names:
            name, n = f"{base}-{n}", n + 1
        self._names.add(name)
        return name

    def add(self, section: Section) -> None:
        self.sections.append(section)

    def text(self) -> str:
        aliases = self._aliases()
        lines = [f"# {line}".rstrip() for line in self.header.splitlines()]
        lines += ["version: 1", "policy:", "  root_veto: false  # no source format has a veto"]
        groups = {**self.groups, **{alias: owners for owners, alias in aliases.items()}}
        if groups:
            lines.append("groups:")
            lines += [f"  {scalar(name)}: {flow(members)}" for name, members in groups.items()]
        lines += ["root:", f"  owners: {flow(self._owners(self.root_owners, aliases))}"]
        if self.root_comment:
            lines[-1] += f"  # {self.root_comment}"
        if self.sections:
            lines.append("subsystems:")
        for s in self.sections:
            lines.append(f"  - name: {scalar(s.name)}  # {s.origin}")
            paths = flow(s.paths)
            if len(paths) <= 80:
                lines.append(f"    paths: {paths}")
            else:
                lines.append("    paths:")
                lines += [f"      - {scalar(p)}" for p in s.paths]
            lines.append(f"    owners: {flow(self._owners(s.owners, aliases))}")
            if s.approvals != 1:
                lines.append(f"    approvals: {s.approvals}")
            if s.parent != ROOT:
                lines.append(f"    parent: {scalar(s.parent)}")
            if s.noparent:
                lines.append("    noparent: true")
            if s.advisory:
                lines.append("    mode: advisory")
        return "\n".join(lines) + "\n"

    def _owners(self, owners: tuple[str, ...], aliases: dict[tuple[str, ...], str]) -> list[str]:
        alias = aliases.get(owners)
        return [alias] if alias is not None else list(owners)

    def _aliases(self) -> dict[tuple[str, ...], str]:
        """Owner lists of two or more people used by two or more subsystems get a name."""
        uses = Counter(s.owners for s in self.sections if len(s.owners) > 1)
        taken = {o for s in self.sections for o in s.owners} | set(self.groups) | {ROOT}
        aliases: dict[tuple[str, ...], str] = {}
        for owners, count in uses.items():
            if count < 2 or any(o in self.groups for o in owners):
                continue
            base = _NAME_CHARS.sub("-", owners[0].split("@")[0].removeprefix("gerrit:"))
            base = f"owners-{base.strip('-._+') or 'list'}"
            name, n = base, 2
            while name in taken:
                name, n = f"{base}-{n}", n + 1
            taken.add(name)
            aliases[owners] = name
        return aliases
