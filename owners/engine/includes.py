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
from owners.engine.safeyaml import NodeReader

MAX_INCLUDES = 256
Read = Callable[[str], bytes | None]
"""Reads a file of the branch (or checkout) by its repository path; None when absent."""


@dataclass
class Included:
    """What one file contributed, with where each part was written: an included file (or,
    to check them against each other, the root file)."""

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


def included_files(reader: NodeReader, node: Node, read: Read | None) -> list[tuple[str, bytes]]:
    """Each file the `include:` list `node` names, with its bytes; an entry that cannot be
    included, or read with `read`, is reported where it is written."""
    entries = reader.strings(node, "include")
    if len(entries) > MAX_INCLUDES:
        reader.error(node, f"more than {MAX_INCLUDES} included files")
        return []
    found: list[tuple[str, bytes]] = []
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
        if read is None:
            reader.error(
                item,
                f"cannot read the included file '{path}' here",
                "validate in a checkout, or give the branch's files",
            )
            continue
        data = read(path)
        if data is None:
            reader.error(
                item, f"included file '{path}' does not exist", "add it, or remove the line"
            )
            continue
        found.append((path, data))
    return found


def confine(included: Included) -> list[Diagnostic]:
    """Every pattern of an included file must lie inside its directory."""
    return [
        _error(
            rule.location,
            f"pattern '{rule.pattern}' of '{sub.name}' is outside "
            f"{included.directory}, the directory of {included.path}",
            f"an included file owns only paths under {included.directory}",
        )
        for sub in included.subsystems
        for rule in sub.paths
        if not inside(rule.glob, included.directory)
    ]


def check_isolation(root: Included, included: list[Included]) -> list[Diagnostic]:
    """An included file's groups serve only that file, and its subsystems are parents only
    to subsystems of that file; names may not repeat across files.  `root` is what the root
    file itself defines."""
    found: list[Diagnostic] = []
    home: dict[str, str] = {}  # group -> the included file defining it
    for inc in included:
        for name, (_, key) in inc.groups.items():
            if name in root.groups or name in home:
                first = root.path if name in root.groups else home[name]
                found.append(
                    _error(
                        Location(inc.path, key.start_mark.line + 1, key.start_mark.column + 1),
                        f"duplicate group '{name}' (also defined in {first})",
                        "an included file defines its own group names",
                    )
                )
            else:
                home[name] = inc.path
    for file in (root, *included):
        for name, where in file.owner_entries:
            if name.startswith((USER_PREFIX, GERRIT_PREFIX)) or "@" in name:
                continue
            if name in home and home[name] != file.path:
                found.append(
                    _error(
                        where,
                        f"group '{name}' of {home[name]} is used outside that file",
                        f"define it in {file.path}, or write 'user:{name}' for a username",
                    )
                )
    owner_file = {s.name: file.path for file in (root, *included) for s in file.subsystems}
    for file in (root, *included):
        for sub in file.subsystems:
            parent_file = owner_file.get(sub.parent or "")
            if parent_file is not None and parent_file not in (root.path, file.path):
                found.append(
                    _error(
                        sub.location,
                        f"subsystem '{sub.name}' has parent '{sub.parent}' of {parent_file}",
                        "a subsystem may name as parent only one of the root file or its own",
                    )
                )
    return found


def _error(location: Location | None, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(location or Location(CONFIG_PATH, 1, 1), Severity.ERROR, message, hint)


def include_paths(data: bytes | None) -> tuple[str, ...]:
    """The files a root OWNERS.yaml includes, for a caller that must fetch them first (the
    service reads them at the branch head).  Costs nothing for a file without `include`."""
    if data is None or b"include" not in data:
        return ()
    asked: list[str] = []

    def record(path: str) -> bytes | None:
        asked.append(path)
        return None

    reader = NodeReader(CONFIG_PATH)
    node = reader.document(data)
    top = {} if node is None else reader.mapping(node, ("include",), "the top level")
    if "include" in top:
        included_files(reader, top["include"], record)
    return tuple(asked)
