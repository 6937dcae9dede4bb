"""GitHub and GitLab CODEOWNERS: parsed, answered by their own rules, converted.

GitHub: the last matching line wins and one approval from any of its owners is needed; a
line without owners leaves its files without a code owner.  Its patterns are gitignore's
without `!`, character ranges or an escaped leading `#` (so `[` and `]` are plain
characters).  GitLab adds sections: each section is judged on its own (last match wins
inside it), their requirements add up, `[Name][N]` needs N approvals, a section is optional
(`^[Name]`) only if every header of that name says so, owners on the header line are the
defaults of entries with nothing after the pattern, headers with the same name
(case-blind) form one section, the same pattern twice in a section keeps the last line's
owners, and a `!pattern` matching a file takes it out of its section.  GitLab's patterns
are fnmatch's on whole paths (see `forgeglob`): `README.md` is `/**/README.md`, and only a
trailing `/` reaches a directory's contents.

The oracle (`source_answer`) matches with `forgeglob`, never with the engine, so `--check`
tests the translation of every pattern rule too.

Conversion: one subsystem per line, `noparent`, whose paths are its pattern followed by
`!` exclusions of the later lines of its section that may overlap it (whatever their
owners), so the engine's "every matching subsystem" is exactly "the last matching line":
one requirement per section, never the same owners twice.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from owners.engine.model import GERRIT_PREFIX
from owners.engine.patterns import Glob
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
from owners.migrate.forgeglob import ClassToken, GitHubRule, GitLabRule, fnmatch_tokens

GITHUB_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
GITLAB_LOCATIONS = ("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
DEFAULT_SECTION = "codeowners"
EXPANSION_LIMIT = 64
"""Most OWNERS.yaml patterns one GitLab pattern with character classes becomes."""
LITERAL_LIMIT = 50
"""Most files listed one by one to exclude a GitLab pattern that also names directories."""

_SPLIT = re.compile(r"(?:\\.|\S)+")
# GitLab's SectionParser: not anchored at the end; default owners only from these characters
_GITLAB_HEADER = re.compile(r"(\^)?\[(.*?)\](?:\[(\d*?)\])?(\s+[@\w_.\-/\s+]*)?")
_GITLAB_ENTRY = re.compile(r"(?<!\\)\s+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\Z")
_USER = re.compile(r"@([A-Za-z0-9][A-Za-z0-9._-]*)\Z")
_TEAM = re.compile(r"@([A-Za-z0-9][A-Za-z0-9._-]*)/(\S+)\Z")
_ENGINE_SPECIAL = "*?[]\\"


@dataclass
class Entry:
    """One pattern line: the source's own matcher (`rule`) and its OWNERS.yaml patterns."""

    line: int
    pattern: str
    rule: Callable[[str], bool]
    owners: tuple[str, ...]
    exclusion: bool = False
    approvals: int = 1
    optional: bool = False
    paths: list[str] = field(default_factory=list)  # OWNERS.yaml patterns, empty: untranslated
    globs: list[Glob] = field(default_factory=list)
    full: list[str] = field(default_factory=list)  # each path's anchored form
    exact: bool = True  # the paths own no directory's contents the source line does not


@dataclass
class CodeSection:
    name: str
    line: int
    entries: list[Entry] = field(default_factory=list)

    @property
    def optional(self) -> bool:
        """GitLab: a section is optional only if all its entries come from `^[...]` headers."""
        return bool(self.entries) and all(e.optional for e in self.entries)


def locate(read: Callable[[str], str | None], locations: Sequence[str]) -> tuple[str, str]:
    """The first CODEOWNERS file that exists, as the forge looks for it."""
    for path in locations:
        text = read(path)
        if text is not None:
            return path, text
    raise SourceError(f"no CODEOWNERS file (looked for {', '.join(locations)})")


class _Owners:
    """Owner tokens to identities, with a note for each one that is dropped or renamed."""

    def __init__(self, filename: str, notes: list[Note], gitlab: bool):
        self.filename, self.notes, self.gitlab = filename, notes, gitlab
        self.seen_teams: set[str] = set()
        self.bare_note = False

    def convert(self, tokens: list[str], number: int) -> tuple[tuple[str, ...], list[str]]:
        """The owners and the tokens that are not owners.  GitHub ends the list at an inline
        `#`; GitLab has no inline comments and keeps any owner written after one."""
        owners: list[str] = []
        ignored: list[str] = []
        for token in tokens:
            if token.startswith("#") and not self.gitlab:
                break
            if self.gitlab and token.startswith("@@"):
                self.notes.append(
                    Note(self.filename, number, f"role '{token}' has no equivalent: dropped")
                )
            elif match := _TEAM.match(token):
                team = match.group(2)
                owners.append(GERRIT_PREFIX + team)
                if token not in self.seen_teams:
                    self.seen_teams.add(token)
                    self.notes.append(
                        Note(
                            self.filename,
                            number,
                            f"team '{token}' becomes the Gerrit group '{team}'",
                        )
                    )
            elif match := _USER.match(token):
                owners.append(match.group(1))
                if self.gitlab and not self.bare_note:
                    self.bare_note = True
                    self.notes.append(
                        Note(
                            self.filename,
                            number,
                            f"'{token}' is imported as a username; GitLab names groups the "
                            "same way, so write gerrit:<group> for any that are groups",
                        )
                    )
            elif _EMAIL.match(token):
                owners.append(token)
            else:
                ignored.append(token)
        return tuple(dict.fromkeys(owners)), ignored


def _no_owner_note(filename: str, number: int, pattern: str) -> Note:
    return Note(
        filename,
        number,
        f"'{pattern}' has no owners: its files get no code owner from it "
        "(here root owns files that nothing else claims)",
    )


def parse_github(text: str, filename: str) -> tuple[list[CodeSection], list[Note]]:
    """GitHub's one section; lines GitHub ignores (`!`, an escaped `#`) are skipped."""
    notes: list[Note] = []
    owners = _Owners(filename, notes, gitlab=False)
    section = CodeSection(DEFAULT_SECTION, 0)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = _SPLIT.findall(line)
        pattern, rest = tokens[0], tokens[1:]
        if pattern.startswith("!"):
            notes.append(
                Note(filename, number, f"'{pattern}': GitHub does not support '!': line skipped")
            )
            continue
        if pattern.startswith("\\#"):
            notes.append(
                Note(
                    filename,
                    number,
                    f"'{pattern}': GitHub does not support escaping '#': line skipped",
                )
            )
            continue
        found, ignored = owners.convert(rest, number)
        notes += [Note(filename, number, f"'{t}' is not an owner: dropped") for t in ignored]
        if not found:
            if rest and not rest[0].startswith("#"):
                notes.append(
                    Note(filename, number, "no owner could be kept: its files get no code owner")
                )
            notes.append(_no_owner_note(filename, number, pattern))
        entry = Entry(number, pattern, GitHubRule.compile(pattern).matches, found)
        translated = _github_pattern(pattern)
        glob = check_glob(translated)
        if isinstance(glob, str):
            notes.append(Note(filename, number, f"'{pattern}': {glob}: not imported"))
        else:
            entry.paths, entry.globs, entry.full = [translated], [glob], [translated]
        section.entries.append(entry)
    return [section] if section.entries else [], notes


def _github_pattern(pattern: str) -> str:
    """A GitHub pattern in OWNERS.yaml syntax: `[` and `]` are literal on GitHub, so they
    are escaped; a run of `*` that is not a whole `**` segment is one `*`, as in gitignore."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
        elif ch in "[]":
            out.append("\\" + ch)
            i += 1
        elif ch == "*":
            j = i
            while j < len(pattern) and pattern[j] == "*":
                j += 1
            whole = (i == 0 or pattern[i - 1] == "/") and (j == len(pattern) or pattern[j] == "/")
            out.append("**" if whole and j - i == 2 else "*")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_gitlab(text: str, filename: str) -> tuple[list[CodeSection], list[Note]]:
    """GitLab's sections, by its rules (`Gitlab::CodeOwners::File` and the docs)."""
    notes: list[Note] = []
    owners = _Owners(filename, notes, gitlab=True)
    sections: dict[str, CodeSection] = {DEFAULT_SECTION: CodeSection(DEFAULT_SECTION, 0)}
    keyed: dict[str, dict[str, Entry]] = {DEFAULT_SECTION: {}}
    current = DEFAULT_SECTION
    optional, approvals = False, 1
    defaults: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _GITLAB_HEADER.match(line)
        if header:
            caret, name, count, rest = header.groups()
            current = name.lower()
            if current not in sections:
                sections[current] = CodeSection(name, number)
                keyed[current] = {}
            optional = bool(caret)
            approvals = int(count) if count else 1
            if approvals < 1:
                notes.append(Note(filename, number, "approvals [0] means 1, as in GitLab"))
                approvals = 1
            defaults = owners.convert((rest or "").split(), number)[0]
            continue
        pattern, _, rest = _split_entry(line)
        exclusion = pattern.startswith("!")
        if exclusion:
            pattern = pattern[1:]
        rule = GitLabRule.compile(pattern)
        found: tuple[str, ...] = ()
        if not exclusion:
            if rest.strip():
                found, ignored = owners.convert(rest.split(), number)
                if ignored:
                    notes.append(
                        Note(
                            filename,
                            number,
                            f"not owners, ignored as GitLab does: {' '.join(ignored)}",
                        )
                    )
            else:
                found = defaults
            if not found:
                notes.append(_no_owner_note(filename, number, pattern))
        entry = Entry(number, pattern, rule.matches, found, exclusion, approvals, optional)
        previous = keyed[current].get(rule.normalized)
        if previous is not None:
            notes.append(
                Note(
                    filename,
                    number,
                    f"'{pattern}' repeats line {previous.line} of its section: this line "
                    "replaces it, in that line's place (GitLab keeps the last entry)",
                )
            )
        keyed[current][rule.normalized] = entry
    result = []
    for key, section in sections.items():
        section.entries = list(keyed[key].values())
        if section.entries:
            result.append(section)
    return result, notes


def _split_entry(line: str) -> tuple[str, str, str]:
    """GitLab's `line.partition(/(?<!\\\\)\\s+/)`: the pattern ends at unescaped whitespace."""
    match = _GITLAB_ENTRY.search(line)
    if match is None:
        return line, "", ""
    return line[: match.start()], match.group(), line[match.end() :]


def _engine_char(ch: str) -> str:
    return "\\" + ch if ch in _ENGINE_SPECIAL else ch


def gitlab_patterns(normalized: str) -> tuple[list[tuple[str, str, bool]], str]:
    """A normalised GitLab pattern as OWNERS.yaml patterns: for each, the pattern, its
    anchored form (to build `!form/**`) and whether it is exact (it cannot own a
    directory's contents that GitLab's whole-path match would not).  Character classes
    are expanded into several patterns; a negated or too large one cannot be: then no
    patterns and the reason."""
    variants: list[list[str]] = [[]]
    segments = normalized[1:].split("/")
    for i, seg in enumerate(segments):
        if seg == "**" and i < len(segments) - 1:
            variants = [v if v[-1:] == ["**"] else [*v, "**"] for v in variants]
            continue
        if not seg:
            return [], "empty path segment ('//')"
        choices: list[list[str]] = []
        for token in fnmatch_tokens(seg):
            if isinstance(token, ClassToken):
                members = token.members(EXPANSION_LIMIT)
                if members is None:
                    return [], "a negated or large character class has no equivalent"
                choices.append([_engine_char(c) for c in members])
            else:
                kind, ch = token
                choices.append(["*" if kind == "star" else "?" if kind == "any" else ""])
                if kind == "lit":
                    choices[-1] = [_engine_char(ch)]
        texts = ["".join(parts) for parts in itertools.product(*choices)]
        if len(variants) * len(texts) > EXPANSION_LIMIT:
            return [], f"character classes expand to more than {EXPANSION_LIMIT} patterns"
        variants = [[*v, t] for v in variants for t in texts]
    return [_render(v) for v in variants], ""


def _render(segs: list[str]) -> tuple[str, str, bool]:
    contents = len(segs) > 2 and segs[-2:] == ["**", "*"]
    base = segs[:-2] if contents else segs
    if base[0] == "**" and len(base) == 2:
        text, full = base[1], "**/" + base[1]
    elif base[0] == "**":
        text = full = "**/" + "/".join(base[1:])
    else:
        text = full = "/" + "/".join(base)
    if text.startswith("!"):
        text = "\\" + text
    if contents:
        text += "/"
        full += "/**"
    return text, full, contents or base[-1] == "*"


def translate_gitlab(
    sections: list[CodeSection], tree: Sequence[str], filename: str, notes: list[Note]
) -> None:
    """Fill each entry's OWNERS.yaml patterns.  A pattern GitLab matches on whole paths may
    name a directory of the checkout too (`docs`, where GitLab owns only a file called
    docs); the engine would own that directory's contents, so such a line also gets
    `!pattern/**`, and is excluded from earlier lines by its files one by one."""
    directories = sorted({posixpath.dirname(p) for p in tree} - {""})
    directories = sorted({d for p in directories for d in _ancestors(p)})
    for section in sections:
        for entry in section.entries:
            rendered, why = gitlab_patterns(GitLabRule.compile(entry.pattern).normalized)
            if not rendered:
                notes.append(
                    Note(
                        filename,
                        entry.line,
                        f"'{entry.pattern}': {why}: not imported (--check shows its files)",
                    )
                )
                continue
            for text, full, _ in rendered:
                glob = check_glob(text)
                if isinstance(glob, str):
                    notes.append(Note(filename, entry.line, f"'{entry.pattern}': {glob}"))
                    entry.paths, entry.globs, entry.full = [], [], []
                    break
                entry.paths.append(text)
                entry.globs.append(glob)
                entry.full.append(full)
            if entry.paths and not all(exact for _, _, exact in rendered):
                named = [d for d in directories if entry.rule(d)]
                if named:
                    entry.exact = False
                    notes.append(
                        Note(
                            filename,
                            entry.line,
                            f"'{entry.pattern}' owns files only in GitLab (a directory needs "
                            f"a trailing '/'), and names the directory '{named[0]}'"
                            + (f" and {len(named) - 1} more" if len(named) > 1 else "")
                            + ": imported as GitLab reads it",
                        )
                    )


def _ancestors(directory: str) -> list[str]:
    parts = directory.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def source_answer(sections: list[CodeSection], gitlab: bool) -> Callable[[str], Answer]:
    """The forge's own rule, with the forge's own matcher: per section the last matching
    entry, unless (GitLab) an exclusion of the section matches; sections add up."""
    entries = [(s, e) for s in sections for e in s.entries]
    optional = {s.name: s.optional for s in sections}
    # GitHub: a pattern matching a directory owns all below it, so what covers a directory
    # is worked out once per directory; GitLab matches whole paths only.
    rules = [GitHubRule.compile(e.pattern) for _, e in entries] if not gitlab else []
    covering: dict[str, frozenset[int]] = {"": frozenset()}
    cache: dict[tuple[int, ...], Answer] = {}

    def covered(directory: str) -> frozenset[int]:
        found = covering.get(directory)
        if found is None:
            parent = posixpath.dirname(directory)
            own = {i for i, r in enumerate(rules) if r.directories and r.regex.fullmatch(directory)}
            found = covering[directory] = covered(parent) | own
        return found

    def matching(path: str) -> tuple[int, ...]:
        if gitlab:
            return tuple(i for i, (_, e) in enumerate(entries) if e.rule(path))
        own = {i for i, r in enumerate(rules) if r.files and r.regex.fullmatch(path)}
        return tuple(sorted(covered(posixpath.dirname(path)) | own))

    def answer(path: str) -> Answer:
        ids = matching(path)
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
                Requirement.of(e.owners, e.approvals, not optional[s.name])
                for s in sections
                if (e := winners.get(s.name)) is not None and e.owners
            )
        return found

    return answer


def convert(
    sections: list[CodeSection],
    filename: str,
    root: tuple[str, ...],
    notes: list[Note],
    tree: Sequence[str],
) -> str:
    writer = ConfigWriter(
        f"Imported from {filename} by 'owners import'; each subsystem names its source line.\n"
        "Subsystems are noparent: a CODEOWNERS line's owners alone may approve its files.",
        root or (ROOT_PLACEHOLDER,),
        "" if root else "TODO: name the core team; the source has no owner for these files",
    )
    for section in sections:
        entries = section.entries
        parts = _line_paths(entries, tree)
        for i in sorted(parts):
            writer.add(_section(writer, section, entries[i], parts[i], notes, filename))
    if not root:
        notes.insert(0, Note(filename, 0, ROOT_NOTE))
    return writer.text()


def _excluding_paths(entry: Entry, tree: Sequence[str], literal: dict[int, list[str]]) -> list[str]:
    """Paths that take a later line's files out of an earlier line: its patterns, or, when
    they would also take a directory's contents GitLab leaves to the earlier line, its
    files in the checkout one by one (`literal` memoises them by line)."""
    if entry.exact:
        return [f"!{p}" for p in entry.paths]
    if entry.line not in literal:
        files = [p for p in tree if entry.rule(p)]
        literal[entry.line] = (
            [f"!/{_engine_path(p)}" for p in files]
            if len(files) <= LITERAL_LIMIT
            else [f"!{p}" for p in entry.paths]
        )
    return literal[entry.line]


def _engine_path(path: str) -> str:
    return "".join(_engine_char(c) for c in path)


def _inside(entry: Entry, path: str) -> bool:
    """Whether a directory above `path` matches the entry's pattern."""
    parts = path.split("/")
    return any(entry.rule("/".join(parts[:i])) for i in range(1, len(parts)))


def _line_paths(entries: list[Entry], tree: Sequence[str]) -> dict[int, list[str]]:
    """Each owned line's OWNERS.yaml paths: its patterns, then `!` exclusions of the later
    lines and of the section's exclusions that may overlap it."""
    literal: dict[int, list[str]] = {}
    later, excluding = OverlapIndex(), OverlapIndex()
    for i, entry in enumerate(entries):
        if entry.exclusion:
            for glob in entry.globs:
                excluding.add(i, glob)
    parts: dict[int, list[str]] = {}
    for i in range(len(entries) - 1, -1, -1):
        entry = entries[i]
        if entry.exclusion:
            continue
        if entry.owners and entry.paths:
            # every later line, even one with the same owners: otherwise a file both match
            # needs the same owners twice (two subsystems)
            shadowing = {j for g in entry.globs for j in later.overlapping(g)}
            excluded = {j for g in entry.globs for j in excluding.overlapping(g)}
            own: list[str] = []
            for path, full in zip(entry.paths, entry.full, strict=True):
                own.append(path)
                if not entry.exact:
                    own.append(f"!{full}/**")
            if not entry.exact:
                # files GitLab's pattern names that lie in a directory it names too
                own += [f"/{_engine_path(p)}" for p in tree if entry.rule(p) and _inside(entry, p)]
            others = sorted(shadowing | excluded)
            parts[i] = own + list(
                dict.fromkeys(
                    p for j in others for p in _excluding_paths(entries[j], tree, literal)
                )
            )
        for glob in entry.globs:
            later.add(i, glob)
    return parts


def _hint(section: CodeSection, entry: Entry) -> str:
    if section.name == DEFAULT_SECTION:
        return entry.pattern
    return f"{section.name}-{entry.pattern}"


def _section(
    writer: ConfigWriter,
    section: CodeSection,
    entry: Entry,
    paths: list[str],
    notes: list[Note],
    filename: str,
) -> Section:
    name = writer.name(_hint(section, entry), f"line-{entry.line}")
    approvals = entry.approvals
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
    if gitlab:
        sections, notes = parse_gitlab(text, filename)
        translate_gitlab(sections, tree, filename, notes)
    else:
        sections, notes = parse_github(text, filename)
    config = convert(sections, filename, root, notes, tree)
    return Imported(config, notes, source_answer(sections, gitlab), (filename,))
