"""What the directory-based formats (Prow, find-owners) share: their OWNERS files across the
tree, the walk from a file up through its directories, and the directory subsystems that
mirror that walk as parent chains."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from owners.engine import ROOT
from owners.migrate.common import ROOT_PLACEHOLDER, ConfigWriter, Section


def owners_files(tree: Sequence[str], name: str = "OWNERS") -> list[str]:
    """Tracked files called `name`, shallowest first (a parent before its children)."""
    found = [p for p in tree if posixpath.basename(p) == name]
    return sorted(found, key=lambda p: (p.count("/"), p))


def directories_up(path: str) -> Iterator[str]:
    """A file's directory, its parent, ... up to the repository root ('')."""
    directory = posixpath.dirname(path)
    while True:
        yield directory
        if not directory:
            return
        directory = posixpath.dirname(directory)


def under(directory: str, name_glob: str | None = None) -> str:
    """The OWNERS.yaml pattern for a directory, or for file names at any depth below it."""
    if name_glob is None:
        return f"/{directory}/" if directory else "**"
    return f"/{directory}/**/{name_glob}" if directory else name_glob


def cut_off(directory: str, stops: set[str]) -> list[str]:
    """Exclusions of the directories below `directory` whose OWNERS stop the walk up: a
    rule for file names of `directory` (a per-file glob, a Prow filter) does not reach
    files there in the source, so it must not here."""
    inside = f"{directory}/" if directory else ""
    return [f"!/{d}/" for d in sorted(stops) if d.startswith(inside) and d != directory]


@dataclass
class DirectoryTree:
    """Directory subsystems by directory; each one's parent is the nearest ancestor
    directory that has one, else root.  With no real root owners, a subsystem hanging
    from root is `noparent`, so the placeholder never becomes an approver."""

    writer: ConfigWriter
    real_root: bool
    names: dict[str, str]

    def parent_of(self, directory: str) -> str:
        if not directory:
            return ROOT
        for ancestor in list(directories_up(directory + "/x"))[1:]:
            if ancestor in self.names:
                return self.names[ancestor]
        return ROOT

    def add(
        self,
        directory: str,
        owners: tuple[str, ...],
        origin: str,
        noparent: bool,
        pattern: str | None = None,
        hint: str | None = None,
        parent: str | None = None,
        exclude: Sequence[str] = (),
    ) -> str:
        """A subsystem for `directory` (or, with `pattern`, for some files of it)."""
        parent = self.parent_of(directory) if parent is None else parent
        name = self.writer.name(hint or directory or "top", "dir")
        noparent = noparent or (parent == ROOT and not self.real_root)
        self.writer.add(
            Section(
                name,
                [pattern or under(directory), *exclude],
                owners,
                origin,
                parent=parent,
                noparent=noparent,
            )
        )
        if pattern is None:
            self.names[directory] = name
        return name


def root_owners(found: tuple[str, ...], given: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """Root's owners: the source's top-level owners, else the ones given, else the
    placeholder; and whether they came from the source (only then may they approve below)."""
    if found:
        return found, True
    return given or (ROOT_PLACEHOLDER,), False
