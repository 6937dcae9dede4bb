"""Delegated ownership files: `include:` in the root OWNERS.yaml names files such as
`nova/virt/hyperv/OWNERS.yaml`, which that subsystem's lieutenants keep themselves.

An included file is owned by whoever owns its path (normally the subsystem it defines, whose
lieutenants then approve changes to it; root keeps its veto), so what it may say is confined:
only `version`, `groups` and `subsystems`, every pattern inside its own directory, its groups
usable only inside it, and no subsystem of another file may take one of its subsystems as a
parent.  Without these rules a lieutenant could grant themselves approval outside their
directory, or redefine an alias the root file relies on.  Every violation is an error located
in the file that commits it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from yaml.nodes import Node

from owners.engine.model import (
    CONFIG_PATH,
    GERRIT_PREFIX,
    USER_PREFIX,
    Diagnostic,
    Location,
    Severity,
    Subsystem,
)

MAX_INCLUDES = 256
Read = Callable[[str], bytes | None]
"""Reads a file of the branch (or checkout) by its repository path; None when absent."""


@dataclass
class Included:
    """What one included file contributed, with where each part was written."""

    path: str
    groups: dict[str, tuple[tuple[str, ...], Node]] = field(default_factory=dict)
    subsystems: list[Subsystem] = field(default_factory=list)
    owner_entries: list[tuple[str, Location]] = field(default_factory=list)

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.path) + "/"


def path_problem(path: str) -> str:
    """Why `path` cannot be included, or "" when it can."""
    if (
        path.startswith("/")
        or "\\" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        return f"'{path}' is not a plain repository path"
    if posixpath.basename(path) != CONFIG_PATH or path == CONFIG_PATH:
        return f"'{path}' is not an {CONFIG_PATH} in a subdirectory"
    if any(c in path for c in "*?[]!#"):
        return f"'{path}' contains pattern characters"
    return ""


def inside(glob: str, directory: str) -> bool:
    """Whether a pattern can only match paths under `directory` (anchored there)."""
    anchored = glob[1:] if glob.startswith("/") else glob
    return anchored.startswith(directory) and ".." not in anchored.split("/")


def read_includes(reader: object, node: Node) -> list[Included]:
    """Parse every file `include:` names with the reader's own rules (see `config._Reader`),
    reporting problems at the include entry or inside the included file."""
    from owners.engine.config import _IncludedReader, _Reader

    assert isinstance(reader, _Reader)
    entries = reader.strings(node, "include")
    if len(entries) > MAX_INCLUDES:
        reader.error(node, f"more than {MAX_INCLUDES} included files")
        return []
    found: list[Included] = []
    seen: set[str] = set()
    for path, item in entries:
        problem = path_problem(path)
        if problem:
            reader.error(item, problem, "write e.g. nova/virt/hyperv/OWNERS.yaml")
            continue
        if path in seen:
            reader.error(item, f"'{path}' is included twice")
            continue
        seen.add(path)
        if reader.read_file is None:
            reader.error(
                item,
                f"cannot read the included file '{path}' here",
                "validate in a checkout, or give the branch's files",
            )
            continue
        data = reader.read_file(path)
        if data is None:
            reader.error(
                item, f"included file '{path}' does not exist", "add it, or remove the line"
            )
            continue
        sub = _IncludedReader(path)
        included = sub.read_included(data)
        if included is not None:
            _confine(sub, included)
            found.append(included)
        reader.diagnostics.extend(sub.diagnostics)
    return found


def _confine(reader: object, included: Included) -> None:
    """Every pattern of an included file must lie inside its directory."""
    from owners.engine.config import _Reader

    assert isinstance(reader, _Reader)
    for sub in included.subsystems:
        for rule in sub.paths:
            if not inside(rule.glob, included.directory):
                reader.diagnostics.append(
                    _error(
                        rule.location,
                        f"pattern '{rule.pattern}' of '{sub.name}' is outside "
                        f"{included.directory}, the directory of {included.path}",
                        f"an included file owns only paths under {included.directory}",
                    )
                )


def check_isolation(
    reader: object,
    root_subsystems: list[Subsystem],
    root_groups: dict[str, object],
    included: list[Included],
) -> None:
    """An included file's groups serve only that file, and its subsystems are parents only
    to subsystems of that file; names may not repeat across files."""
    from owners.engine.config import _Reader

    assert isinstance(reader, _Reader)
    home: dict[str, str] = {}  # group -> the included file defining it
    for inc in included:
        for name, (_, key) in inc.groups.items():
            if name in root_groups or name in home:
                where = reader.filename if name in root_groups else home[name]
                reader.diagnostics.append(
                    _error(
                        Location(inc.path, key.start_mark.line + 1, key.start_mark.column + 1),
                        f"duplicate group '{name}' (also defined in {where})",
                        "an included file defines its own group names",
                    )
                )
            else:
                home[name] = inc.path
    root_file = reader.filename
    users = [(root_file, reader.owner_entries)]
    users += [(inc.path, inc.owner_entries) for inc in included]
    for file, entries in users:
        for entry, where in entries:
            name = entry
            if name.startswith((USER_PREFIX, GERRIT_PREFIX)) or "@" in name:
                continue
            if name in home and home[name] != file:
                reader.diagnostics.append(
                    _error(
                        where,
                        f"group '{name}' of {home[name]} is used outside that file",
                        f"define it in {file}, or write 'user:{name}' for a username",
                    )
                )
    owner_file = {s.name: root_file for s in root_subsystems}
    for inc in included:
        owner_file.update((s.name, inc.path) for s in inc.subsystems)
    for file, subsystems in [(root_file, root_subsystems)] + [
        (inc.path, inc.subsystems) for inc in included
    ]:
        for sub in subsystems:
            parent_file = owner_file.get(sub.parent or "")
            if parent_file is not None and parent_file not in (root_file, file):
                reader.diagnostics.append(
                    _error(
                        sub.location,
                        f"subsystem '{sub.name}' has parent '{sub.parent}' of {parent_file}",
                        "a subsystem may name as parent only one of the root file or its own",
                    )
                )


def _error(location: Location | None, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(location or Location(CONFIG_PATH, 1, 1), Severity.ERROR, message, hint)


def include_paths(data: bytes | None) -> tuple[str, ...]:
    """The files a root OWNERS.yaml includes, for a caller that must fetch them first (the
    service reads them at the branch head).  Costs nothing for a file without `include`."""
    if data is None or b"include" not in data:
        return ()
    from owners.engine.config import parse_config

    asked: list[str] = []

    def record(path: str) -> bytes | None:
        asked.append(path)
        return None

    parse_config(data, read=record)
    return tuple(asked)
