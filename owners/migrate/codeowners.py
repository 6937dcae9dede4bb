"""GitHub and GitLab CODEOWNERS: parsed, answered by their own rules, converted.

GitHub: the last matching line wins and one approval from any of its owners is needed; a
line without owners leaves its files without a code owner.  GitLab adds sections: each
section is judged on its own (last match wins inside it), their requirements add up,
`[Name][N]` needs N approvals, `^[Name]` is optional, owners on the header line are the
defaults of entries without any, and a `!pattern` anywhere in a section takes the files it
matches out of that section.  Patterns are GitHub's, which is also OWNERS.yaml's syntax.

Conversion: one subsystem per line, `noparent`, whose paths are its pattern followed by
`!` exclusions of the later patterns of its section that may overlap it, so the engine's
"every matching subsystem" equals "the last matching line".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from owners.engine.model import GERRIT_PREFIX
from owners.engine.patterns import Glob, IndexedMatcher
from owners.migrate.common import (
    ROOT_NOTE,
    ROOT_PLACEHOLDER,
    Answer,
    ConfigWriter,
    Imported,
    Note,
    OverlapIndex,
    Requirement,
    Section,
    SourceError,
    check_glob,
)

GITHUB_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
GITLAB_LOCATIONS = ("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
DEFAULT_SECTION = "codeowners"

_SPLIT = re.compile(r"(?:\\.|\S)+")
_HEADER = re.compile(r"(\^)?\[([^\]]+)\](?:\[(\d+)\])?\s*(.*)\Z")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\Z")
_USER = re.compile(r"@([A-Za-z0-9][A-Za-z0-9._-]*)\Z")
_TEAM = re.compile(r"@([A-Za-z0-9][A-Za-z0-9._-]*)/(\S+)\Z")


@dataclass
class Entry:
    line: int
    pattern: str
    glob: Glob
    owners: tuple[str, ...]
    exclusion: bool = False


@dataclass
class CodeSection:
    name: str
    line: int
    approvals: int = 1
    optional: bool = False
    entries: list[Entry] = field(default_factory=list)


def locate(read: Callable[[str], str | None], locations: Sequence[str]) -> tuple[str, str]:
    """The first CODEOWNERS file that exists, as the forge looks for it."""
    for path in locations:
        text = read(path)
        if text is not None:
            return path, text
    raise SourceError(f"no CODEOWNERS file (looked for {', '.join(locations)})")


def parse(text: str, filename: str, gitlab: bool) -> tuple[list[CodeSection], list[Note]]:
    """Sections of entries (GitHub has one); every line that cannot be kept gets a note."""
    notes: list[Note] = []
    sections: dict[str, CodeSection] = {}
    current = sections.setdefault(DEFAULT_SECTION, CodeSection(DEFAULT_SECTION, 0))
    defaults: tuple[str, ...] = ()
    seen_teams: set[str] = set()
    bare_note = False

    def convert(tokens: list[str], number: int) -> tuple[str, ...]:
        nonlocal bare_note
        owners: list[str] = []
        for token in tokens:
            if token.startswith("#"):
                break  # an inline comment
            if gitlab and token.startswith("@@"):
                notes.append(Note(filename, number, f"role '{token}' has no equivalent: dropped"))
            elif match := _TEAM.match(token):
                team = match.group(2)
                owners.append(GERRIT_PREFIX + team)
                if token not in seen_teams:
                    seen_teams.add(token)
                    notes.append(
                        Note(filename, number, f"team '{token}' becomes the Gerrit group '{team}'")
                    )
            elif match := _USER.match(token):
                owners.append(match.group(1))
                if gitlab and not bare_note:
                    bare_note = True
                    notes.append(
                        Note(
                            filename,
                            number,
                            f"'{token}' is imported as a username; GitLab names groups the "
                            "same way, so write gerrit:<group> for any that are groups",
                        )
                    )
            elif _EMAIL.match(token):
                owners.append(token)
            else:
                notes.append(Note(filename, number, f"'{token}' is not an owner: dropped"))
        return tuple(dict.fromkeys(owners))

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line) if gitlab else None
        if header:
            optional, name, count, rest = header.groups()
            key = name.strip().lower()
            defaults = convert(rest.split(), number)
            if key in sections:
                current = sections[key]
            else:
                current = sections[key] = CodeSection(
                    name.strip(), number, int(count or 1), bool(optional)
                )
            if count is not None and int(count) < 1:
                notes.append(Note(filename, number, "approvals [0] means 1 here"))
                current.approvals = 1
            continue
        tokens = _SPLIT.findall(line)
        pattern, rest = tokens[0], tokens[1:]
        exclusion = gitlab and pattern.startswith("!")
        if exclusion:
            pattern = pattern[1:]
        elif pattern.startswith("!"):
            notes.append(
                Note(filename, number, f"'{pattern}': GitHub does not support '!': line skipped")
            )
            continue
        glob = check_glob(pattern)
        if isinstance(glob, str):
            notes.append(Note(filename, number, f"'{pattern}': {glob}: line skipped"))
            continue
        owners = () if exclusion else convert(rest, number)
        if not owners and not exclusion and rest and not rest[0].startswith("#"):
            notes.append(
                Note(filename, number, "no owner could be kept: its files get no code owner")
            )
        if not owners and not exclusion:
            owners = defaults
        if not owners and not exclusion:
            notes.append(
                Note(
                    filename,
                    number,
                    f"'{pattern}' has no owners: its files get no code owner from it "
                    "(here root owns files that nothing else claims)",
                )
            )
        current.entries.append(Entry(number, pattern, glob, owners, exclusion))
    return [s for s in sections.values() if s.entries], notes


def source_answer(sections: list[CodeSection]) -> Callable[[str], Answer]:
    """The forge's own rule: per section the last matching entry, unless an exclusion of
    the section matches; sections add up."""
    entries = [(s, e) for s in sections for e in s.entries]
    matcher = IndexedMatcher([e.glob for _, e in entries])
    cache: dict[tuple[int, ...], Answer] = {}

    def answer(path: str) -> Answer:
        ids = matcher.match(path)
        found = cache.get(ids)
        if found is None:
            winners: dict[str, Entry | None] = {}
            for i in ids:
                section, entry = entries[i]
                if entry.exclusion:
                    winners[section.name] = None
                elif winners.get(section.name, entry) is not None:
                    winners[section.name] = entry
            found = cache[ids] = frozenset(
                Requirement.of(e.owners, s.approvals, not s.optional)
                for s in sections
                if (e := winners.get(s.name)) is not None and e.owners
            )
        return found

    return answer


def convert(
    sections: list[CodeSection], filename: str, root: tuple[str, ...], notes: list[Note]
) -> str:
    writer = ConfigWriter(
        f"Imported from {filename} by 'owners import'; each subsystem names its source line.\n"
        "Subsystems are noparent: a CODEOWNERS line's owners alone may approve its files.",
        root or (ROOT_PLACEHOLDER,),
        "" if root else "TODO: name the core team; the source has no owner for these files",
    )
    for section in sections:
        later = OverlapIndex()
        excluding = OverlapIndex()
        for i, entry in enumerate(section.entries):
            if entry.exclusion:
                excluding.add(i, entry.glob)
        names = {
            i: writer.name(_hint(section, e), f"line-{e.line}")
            for i, e in enumerate(section.entries)
            if e.owners
        }
        converted: list[Section] = []
        for i in range(len(section.entries) - 1, -1, -1):
            entry = section.entries[i]
            if entry.exclusion:
                continue
            if entry.owners:
                converted.append(
                    _section(names[i], section, entry, later, excluding, notes, filename)
                )
            later.add(i, entry.glob)
        for item in reversed(converted):
            writer.add(item)
    if not root:
        notes.insert(0, Note(filename, 0, ROOT_NOTE))
    return writer.text()


def _hint(section: CodeSection, entry: Entry) -> str:
    if section.name == DEFAULT_SECTION:
        return entry.pattern
    return f"{section.name}-{entry.pattern}"


def _section(
    name: str,
    section: CodeSection,
    entry: Entry,
    later: OverlapIndex,
    excluding: OverlapIndex,
    notes: list[Note],
    filename: str,
) -> Section:
    entries = section.entries
    shadowing = sorted(
        j for j in later.overlapping(entry.glob) if entries[j].owners != entry.owners
    )
    excluded = sorted(excluding.overlapping(entry.glob))
    paths = [entry.pattern, *dict.fromkeys(f"!{entries[j].pattern}" for j in shadowing + excluded)]
    approvals = section.approvals
    people = {o for o in entry.owners if not o.startswith(GERRIT_PREFIX)}
    if approvals > len(people) and len(people) == len(entry.owners):
        notes.append(
            Note(
                filename,
                entry.line,
                f"section '{section.name}' needs {approvals} approvals but this line names "
                f"{len(people)} owners, which can never be met: approvals lowered to {len(people)}",
            )
        )
        approvals = len(people)
    if section.optional:
        notes.append(
            Note(
                filename,
                entry.line,
                f"optional section '{section.name}': an advisory subsystem, whose files also "
                "need root (the engine enforces an advisory subsystem's files through its parent)",
            )
        )
    return Section(
        name,
        paths,
        entry.owners,
        f"{filename}:{entry.line}",
        approvals,
        noparent=True,
        advisory=section.optional,
    )


def import_codeowners(
    read: Callable[[str], str | None],
    tree: Sequence[str],
    source: str | None,
    root: tuple[str, ...],
    gitlab: bool,
) -> Imported:
    """Read the CODEOWNERS file (`source`, or the first the forge would find)."""
    if source is None:
        filename, text = locate(read, GITLAB_LOCATIONS if gitlab else GITHUB_LOCATIONS)
    else:
        filename, found = source, read(source)
        if found is None:
            raise SourceError(f"{source}: no such file in the checkout")
        text = found
    sections, notes = parse(text, filename, gitlab)
    config = convert(sections, filename, root, notes)
    return Imported(config, notes, source_answer(sections), (filename,))
