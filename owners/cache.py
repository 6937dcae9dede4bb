"""The compiled-map cache: OWNERS.yaml parsed, validated and indexed once per content.

Compiling a map of 10,000 subsystems takes most of a second; answering one path from it
takes a millisecond.  So the CLI and the service keep what compiling produced, the validated
config and the pattern index, as plain JSON keyed by the file's content, and reopen it on the
next run instead of compiling again.  Patterns are reparsed from their text only when a
lookup reaches them.

The key hashes the file's bytes together with this package's version, the cache format and
the source of the engine that compiled it, so an edited file, an upgrade or a changed engine
never reopens an old answer.  An entry carries its key and a digest of its body: a truncated,
corrupt or mismatched entry is ignored (and rewritten), never trusted.  JSON rather than
pickle: reading an entry can build only strings, numbers, lists and dicts, whoever wrote it.

Only valid files are cached; an invalid one is compiled every time, to report its errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import fields
from functools import cached_property
from pathlib import Path
from typing import Any

import owners
from owners.engine.model import (
    Location,
    Mode,
    OwnersConfig,
    PathRule,
    Policy,
    Subsystem,
    gc_paused,
)
from owners.engine.resolution import Ownership

FORMAT = 1
MAGIC = b"gerrit-owners compiled map\n"
KEEP = 8  # entries per folder: a few branches' files, each up to a couple of megabytes
FOLDER = "owners-cache"  # inside a checkout's git folder


def _engine_digest() -> bytes:
    """The engine's own source, so that a changed engine (an editable install, a patched
    copy with an unchanged version) never reads what another engine compiled."""
    digest = hashlib.sha256()
    engine = Path(sys.modules["owners.engine"].__file__ or "").parent
    for path in [*sorted(engine.glob("*.py")), Path(__file__)]:
        with contextlib.suppress(OSError):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.digest()


_SALT: bytes | None = None


def key(content: bytes) -> str:
    """The cache key of an OWNERS.yaml's bytes under this package and engine."""
    global _SALT
    if _SALT is None:
        _SALT = f"{FORMAT}\0{owners.__version__}\0".encode() + _engine_digest()
    return hashlib.sha256(_SALT + hashlib.sha256(content).digest()).hexdigest()


# -- the format -------------------------------------------------------------------------------


def _location(location: Location | None) -> list[int] | None:
    return None if location is None else [location.line, location.column]


def _subsystem(sub: Subsystem) -> list[Any]:
    return [
        sub.name,
        sub.owners,
        sub.approvals,
        [[rule.pattern, rule.location.line, rule.location.column] for rule in sub.paths],
        sub.description,
        sub.parent,
        sub.noparent,
        sub.mode.value,
        _location(sub.location),
    ]


def encode(ownership: Ownership) -> bytes:
    """A compiled map as the body of a cache entry."""
    config = ownership.config
    body = {
        "policy": {f.name: getattr(config.policy, f.name) for f in fields(config.policy)},
        "groups": config.groups,
        "root": _subsystem(config.root),
        "subsystems": [_subsystem(sub) for sub in config.subsystems],
        "index": ownership.index_data(),
    }
    return json.dumps(body, separators=(",", ":")).encode()


class _ReopenedConfig(OwnersConfig):
    """A config reopened from a cache entry, building each subsystem when first asked for.

    Building 10,000 subsystems with their rules and locations costs more than a lookup
    needs; `subsystem(name)` builds one, and `subsystems` (iteration, equality) all of them.
    Made only by `reopen`; `dataclasses.replace` on one gives an ordinary, complete copy.
    """

    _raw: list[list[Any]]
    _position: dict[str, int]
    _built: dict[str, Subsystem]

    @classmethod
    def reopen(
        cls,
        policy: Policy,
        groups: dict[str, tuple[str, ...]],
        root: Subsystem,
        raw: list[list[Any]],
        source: str,
    ) -> _ReopenedConfig:
        config = cls.__new__(cls)
        fixed = {"policy": policy, "groups": groups, "root": root, "source": source}
        fixed.update(_raw=raw, _built={}, _position={v[0]: i for i, v in enumerate(raw)})
        for name, value in fixed.items():
            object.__setattr__(config, name, value)  # frozen, as the dataclass's own init does
        return config

    @cached_property
    def subsystems(self) -> tuple[Subsystem, ...]:  # type: ignore[override]
        return tuple(self.subsystem(values[0]) for values in self._raw)

    def subsystem(self, name: str) -> Subsystem:
        if name == self.root.name:
            return self.root
        found = self._built.get(name)
        if found is None:
            found = self._built[name] = _build(self._raw[self._position[name]], self.source)
        return found


_MODES = {mode.value: mode for mode in Mode}


def _build(values: list[Any], filename: str) -> Subsystem:
    name, owned, approvals, paths, description, parent, noparent, mode, where = values
    return Subsystem(
        name,
        tuple(owned),
        approvals,
        tuple(PathRule(p, Location(filename, line, col)) for p, line, col in paths),
        description,
        parent,
        noparent,
        _MODES[mode],
        None if where is None else Location(filename, where[0], where[1]),
    )


def decode(body: bytes, filename: str) -> Ownership:
    """The map `encode` wrote, its locations naming `filename`; raises on a malformed body."""
    with gc_paused():
        data = json.loads(body)
    raw = data["subsystems"]
    config = _ReopenedConfig.reopen(
        Policy(**{k: tuple(v) if type(v) is list else v for k, v in data["policy"].items()}),
        {name: tuple(members) for name, members in data["groups"].items()},
        _build(data["root"], filename),
        raw,
        filename,
    )
    names = [values[0] for values in raw for _ in values[3]]
    patterns = [path[0] for values in raw for path in values[3]]
    return Ownership(config, index=data["index"], rule_table=(names, patterns))


# -- where entries live -----------------------------------------------------------------------


def user_cache_folder() -> Path:
    """The platform's per-user cache folder for this package."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "gerrit-owners" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "gerrit-owners"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "gerrit-owners"


class DiskCache:
    """Entries as files in one folder (the user's own, mode 0700; entries 0600).

    An entry is written to a temporary file and renamed over its name, so a concurrent
    reader sees the old entry, the new one or none, never half of one.  Writing is best
    effort: a read-only or full disk only means compiling again next time.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, entry_key: str) -> Path:
        return self.folder / f"{entry_key}.json"

    def get(self, entry_key: str) -> bytes | None:
        """The body stored under `entry_key`, or None when absent, corrupt or another's."""
        try:
            raw = self._path(entry_key).read_bytes()
        except OSError:
            return None
        return unwrap(raw, entry_key)

    def put(self, entry_key: str, body: bytes) -> None:
        import tempfile  # here: only a miss writes, and it is slow to import

        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:  # mkstemp creates it 0600
                    out.write(wrap(entry_key, body))
                os.replace(temporary, self._path(entry_key))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
            self._prune()
        except OSError:
            pass

    def _prune(self) -> None:
        """Keep the newest KEEP entries: old revisions of the file are not asked about."""
        entries = []
        for path in self.folder.glob("*.json"):
            with contextlib.suppress(OSError):
                entries.append((path.stat().st_mtime, path))
        entries.sort(reverse=True)
        for _, path in entries[KEEP:]:
            with contextlib.suppress(OSError):
                path.unlink()


def wrap(entry_key: str, body: bytes) -> bytes:
    """An entry: a magic line, its key, the digest of its body, then the body."""
    digest = hashlib.sha256(body).hexdigest()
    return MAGIC + entry_key.encode() + b"\n" + digest.encode() + b"\n" + body


def unwrap(raw: bytes, entry_key: str) -> bytes | None:
    """The body of an entry written by `wrap` under `entry_key`; None for anything else."""
    if not raw.startswith(MAGIC):
        return None
    header_end = len(MAGIC) + 64 + 1 + 64 + 1
    stored_key, digest = raw[len(MAGIC) : header_end].split(b"\n")[:2]
    body = raw[header_end:]
    if stored_key != entry_key.encode() or hashlib.sha256(body).hexdigest().encode() != digest:
        return None
    return body


def load(
    content: bytes,
    filename: str,
    cache: DiskCache | None,
    compile_map: Callable[[bytes, str], Ownership],
) -> Ownership:
    """The compiled map of `content`: from `cache` when it holds a sound entry, else from
    `compile_map(content, filename)` (which raises on an invalid file), stored for next time."""
    if cache is None:
        return compile_map(content, filename)
    entry_key = key(content)
    body = cache.get(entry_key)
    if body is not None:
        try:
            return decode(body, filename)
        except (ValueError, TypeError, KeyError, IndexError):
            pass  # written by us and digest-checked, so only a bug lands here: compile anew
    ownership = compile_map(content, filename)
    cache.put(entry_key, encode(ownership))
    return ownership
