"""find-owners OWNERS files (Gerrit's find-owners plugin and the code-owners plugin's
find-owners backend): parsed, answered by their rules, converted.

The rules: a file's owners are those of the OWNERS file in its directory and in each
ancestor's, walking up until an OWNERS file with `set noparent` (included).  In each OWNERS
file, `per-file GLOBS=OWNERS` adds owners for the files whose name matches a glob, in that
directory and below; `per-file GLOBS=set noparent` makes the matching files owned by the
per-file owners of that OWNERS file alone, and stops the walk.  `*` means anyone may
approve.  `include PATH` reads another OWNERS file whole; `file: PATH` takes only its
owners.  One approval from any owner is needed.

Conversion: a subsystem per directory with owners, parented to the nearest ancestor
directory's; `set noparent` is `noparent`; each per-file glob is a subsystem under its
directory's (`noparent` with `set noparent`).  Anyone (`*`) has no equivalent: such files
need root, as files without any owner do.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from owners.migrate.common import (
    ROOT_NOTE,
    Answer,
    ConfigWriter,
    Imported,
    Note,
    Requirement,
    SourceError,
)
from owners.migrate.tree import (
    DirectoryTree,
    cut_off,
    directories_up,
    owners_files,
    root_owners,
    under,
)

ANYONE = "*"
_EMAIL = re.compile(r"[^\s@]+@[^\s#]+\Z")
_GLOB = re.compile(r"[A-Za-z0-9_\-*?.]+\Z")
MAX_INCLUDE_DEPTH = 16


@dataclass
class PerFile:
    glob: str
    owners: set[str] = field(default_factory=set)
    noparent: bool = False
    line: int = 0


@dataclass
class OwnersFile:
    path: str
    owners: set[str] = field(default_factory=set)
    noparent: bool = False
    per_file: dict[str, PerFile] = field(default_factory=dict)


class _Reader:
    def __init__(self, read: Callable[[str], str | None]):
        self.read = read
        self.notes: list[Note] = []

    def parse(self, path: str, into: OwnersFile, owners_only: bool = False, depth: int = 0) -> None:
        text = self.read(path)
        if text is None:
            self.notes.append(Note(into.path, 0, f"included file {path} does not exist: skipped"))
            return
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip() if not raw.strip().startswith("#") else ""
            if not line:
                continue
            if re.fullmatch(r"set\s+noparent", line):
                into.noparent = into.noparent or not owners_only
            elif line.startswith("per-file"):
                if not owners_only:
                    self._per_file(path, number, line, into, depth)
            elif (include := re.fullmatch(r"(include\s+|file:\s*)(\S+)", line)) is not None:
                self._include(
                    path,
                    number,
                    include.group(2),
                    into,
                    owners_only or include.group(1).startswith("file:"),
                    depth,
                )
            elif line == ANYONE or _EMAIL.match(line):
                into.owners.add(line)
            else:
                self.notes.append(
                    Note(path, number, f"'{line}' is not an email, '*' or a rule: ignored")
                )

    def _target(self, path: str, number: int, target: str) -> str | None:
        if ":" in target:
            self.notes.append(
                Note(
                    path,
                    number,
                    f"include of another project's file '{target}' has no equivalent: skipped",
                )
            )
            return None
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join(posixpath.dirname(path), target))

    def _include(
        self, path: str, number: int, target: str, into: OwnersFile, owners_only: bool, depth: int
    ) -> None:
        resolved = self._target(path, number, target)
        if resolved is None:
            return
        if depth >= MAX_INCLUDE_DEPTH:
            self.notes.append(
                Note(path, number, f"includes nested deeper than {MAX_INCLUDE_DEPTH}: skipped")
            )
            return
        self.parse(resolved, into, owners_only, depth + 1)

    def _per_file(self, path: str, number: int, line: str, into: OwnersFile, depth: int) -> None:
        match = re.fullmatch(r"per-file\s+([^=]+?)\s*=\s*(.*)", line)
        if match is None:
            self.notes.append(Note(path, number, "malformed per-file line: ignored"))
            return
        globs = [g.strip() for g in match.group(1).split(",") if g.strip()]
        value = match.group(2).strip()
        owners: set[str] = set()
        noparent = False
        if re.fullmatch(r"set\s+noparent", value):
            noparent = True
        elif value.startswith("file:"):
            target = self._target(path, number, value[5:].strip())
            if target is not None and depth < MAX_INCLUDE_DEPTH:
                included = OwnersFile(target)
                self.parse(target, included, owners_only=True, depth=depth + 1)
                owners = included.owners
        else:
            owners = {o.strip() for o in value.split(",") if o.strip()}
        for glob in globs:
            if not _GLOB.match(glob):
                self.notes.append(
                    Note(
                        path,
                        number,
                        f"per-file glob '{glob}' is not supported ([], {{}} or '/'): skipped",
                    )
                )
                continue
            rule = into.per_file.setdefault(glob, PerFile(glob, line=number))
            rule.owners |= owners
            rule.noparent = rule.noparent or noparent


def parse(
    read: Callable[[str], str | None], tree: Sequence[str]
) -> tuple[dict[str, OwnersFile], list[Note]]:
    reader = _Reader(read)
    files: dict[str, OwnersFile] = {}
    for path in owners_files(tree):
        owners_file = OwnersFile(path)
        reader.parse(path, owners_file)
        files[posixpath.dirname(path)] = owners_file
    return files, reader.notes


def source_answer(files: dict[str, OwnersFile]) -> Callable[[str], Answer]:
    def answer(path: str) -> Answer:
        name = posixpath.basename(path)
        owners: set[str] = set()
        for directory in directories_up(path):
            found = files.get(directory)
            if found is None:
                continue
            matched = [r for g, r in found.per_file.items() if fnmatchcase(name, g)]
            if any(r.noparent for r in matched):
                owners.update(o for r in matched for o in r.owners)
                break
            owners |= found.owners
            owners.update(o for r in matched for o in r.owners)
            if found.noparent:
                break
        if not owners or ANYONE in owners:
            return frozenset()
        return frozenset({Requirement.of(owners)})

    return answer


def convert(files: dict[str, OwnersFile], root: tuple[str, ...], notes: list[Note]) -> str:
    top = files.get("")
    top_owners = tuple(sorted(top.owners)) if top and ANYONE not in top.owners else ()
    owners, real = root_owners(top_owners, root)
    writer = ConfigWriter(
        "Imported from find-owners OWNERS files by 'owners import'; each subsystem names\n"
        "its file.  "
        "A directory's subsystem has the nearest ancestor directory's as parent.",
        owners,
        "" if real else "TODO: name the core team; the source has no top-level owners",
    )
    if not real:
        notes.insert(0, Note("OWNERS", 0, ROOT_NOTE))
    dirs = DirectoryTree(writer, real, {})
    stand_ins: set[str] = set()
    stops = {d for d, f in files.items() if d and (f.noparent or ANYONE in f.owners)}
    for directory, found in files.items():
        if ANYONE in found.owners:
            notes.append(
                Note(
                    found.path,
                    0,
                    "'*' (anyone) has no equivalent: these files need root's approval, "
                    "as unowned files do",
                )
            )
        if directory and found.owners and ANYONE not in found.owners:
            dirs.add(directory, tuple(sorted(found.owners)), found.path, found.noparent)
        elif directory and (found.noparent or ANYONE in found.owners):
            # no owner of its own and none inherited: what unowned files need, root's approval
            stand_ins.add(dirs.add(directory, owners, found.path, True))
        for rule in found.per_file.values():
            parent = dirs.names.get(directory)
            anyone = ANYONE in rule.owners
            if anyone:
                notes.append(
                    Note(
                        found.path,
                        rule.line,
                        f"per-file '{rule.glob}' names '*' (anyone): "
                        "these files need root's approval",
                    )
                )
            dirs.add(
                directory,
                owners if anyone else tuple(sorted(rule.owners)) or owners,
                f"{found.path}:{rule.line}",
                rule.noparent
                or anyone
                or parent in stand_ins
                or (parent is None and found.noparent),
                pattern=under(directory, rule.glob),
                hint=f"{directory or 'top'}-{rule.glob}",
                parent=parent,
                exclude=cut_off(directory, stops),
            )
    return writer.text()


def import_find_owners(
    read: Callable[[str], str | None],
    tree: Sequence[str],
    source: str | None,
    root: tuple[str, ...],
) -> Imported:
    files, notes = parse(read, tree)
    if not files:
        raise SourceError("no OWNERS files in the checkout")
    config = convert(files, root, notes)
    return Imported(config, notes, source_answer(files), tuple(f.path for f in files.values()))
