"""The compiled-map cache: OWNERS.yaml parsed, validated and indexed once per content.

Compiling a map of 10,000 subsystems takes most of a second; answering one path from it
takes a millisecond.  So the CLI and the service keep what compiling produced, the validated
config and the pattern index, as plain JSON keyed by the file's content, and reopen it on the
next run instead of compiling again.  Subsystems and patterns are parsed only when a
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
import itertools
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
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

FORMAT = 2
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


SHARD_KEYS = 32  # keys per shard of a large index map
LARGE_MAP = 4 * SHARD_KEYS  # a map of more keys is sharded


def encode(ownership: Ownership) -> bytes:
    """A compiled map as the body of a cache entry: a JSON header line, then JSON lines that
    are parsed only when a lookup reaches them.

    A lookup about one path needs a few subsystems of thousands and a few keys of the pattern
    index's largest maps (one key per pattern), so each subsystem is a line of its own, and
    each large map is split by a stable hash of its keys into lines of about SHARD_KEYS keys.
    The header holds the rest: policy, groups, root, the rule table, the small part of the
    index, where each sharded map belongs in it, and where each line ends.
    """
    config = ownership.config
    lines = [_json(_subsystem(sub)) for sub in config.subsystems]
    sharded: list[list[Any]] = []
    header = {
        "policy": {f.name: getattr(config.policy, f.name) for f in fields(config.policy)},
        "groups": config.groups,
        "root": _subsystem(config.root),
        "names": [sub.name for sub in config.subsystems],
        "rules": [  # each rule's subsystem (its position) and pattern, in file order
            [i for i, sub in enumerate(config.subsystems) for _ in sub.paths],
            [rule.pattern for sub in config.subsystems for rule in sub.paths],
        ],
        "index": _shard_large_maps(ownership.index_data(), [], lines, sharded),
        "sharded": sharded,
        "ends": list(itertools.accumulate(len(line) + 1 for line in lines)),
    }
    return b"\n".join([_json(header), *lines])


def _json(value: Any) -> bytes:
    # ASCII only, so a line break inside a value is always written as the escape "\n"
    return json.dumps(value, separators=(",", ":")).encode()


def _shard_large_maps(
    tree: dict[str, Any], where: list[str], lines: list[bytes], sharded: list[list[Any]]
) -> dict[str, Any]:
    """`tree` with each map of more than LARGE_MAP keys moved into shard lines (appended to
    `lines`) and recorded in `sharded` as [its path in the tree, first line, shards, keys]."""
    kept: dict[str, Any] = {}
    for name, value in tree.items():
        if isinstance(value, dict) and len(value) > LARGE_MAP:
            count = -(-len(value) // SHARD_KEYS)
            shards: list[dict[str, Any]] = [{} for _ in range(count)]
            for map_key, item in value.items():
                shards[_shard_of(map_key, count)][map_key] = item
            sharded.append([[*where, name], len(lines), count, len(value)])
            lines.extend(_json(shard) for shard in shards)
            kept[name] = None
        elif isinstance(value, dict):
            kept[name] = _shard_large_maps(value, [*where, name], lines, sharded)
        else:
            kept[name] = value
    return kept


def _shard_of(map_key: str, count: int) -> int:
    return zlib.crc32(map_key.encode()) % count


class _Lines:
    """The lines after an entry's header, each parsed as JSON when first asked for."""

    def __init__(self, body: bytes, start: int, ends: list[int]):
        self._body = body
        self._start = start
        self._ends = ends

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> Any:
        begin = self._start + (self._ends[i - 1] if i else 0)
        return json.loads(self._body[begin : self._start + self._ends[i] - 1])


class _ShardedMap(Mapping[str, Any]):
    """A large index map reopened from its shard lines: a key's shard is parsed when the
    key is first looked up."""

    def __init__(self, lines: _Lines, first: int, count: int, size: int):
        self._lines = lines
        self._first = first
        self._shards: list[dict[str, Any] | None] = [None] * count
        self._size = size

    def _shard(self, i: int) -> dict[str, Any]:
        shard = self._shards[i]
        if shard is None:
            shard = self._shards[i] = self._lines[self._first + i]
        return shard

    def get(self, map_key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._shard(_shard_of(map_key, len(self._shards))).get(map_key, default)

    def __getitem__(self, map_key: str) -> Any:
        return self._shard(_shard_of(map_key, len(self._shards)))[map_key]

    def __iter__(self) -> Iterator[str]:
        for i in range(len(self._shards)):
            yield from self._shard(i)

    def __len__(self) -> int:
        return self._size


class _Subsystems:
    """The subsystems of an entry, one per line, each parsed and built when first asked for
    (the engine's `SubsystemStore`: a reopened config asks it only for what a lookup names)."""

    def __init__(self, names: list[str], lines: _Lines, filename: str):
        self.names = names
        self._lines = lines
        self._filename = filename

    def build(self, position: int) -> Subsystem:
        return _build(self._lines[position], self._filename)


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
    """The map `encode` wrote, its locations naming `filename`; raises on a malformed body
    (a line is parsed when first needed, so a malformed one raises then: the entry's digest
    makes that a bug, never an accident)."""
    start = body.index(b"\n") + 1
    with gc_paused():
        data = json.loads(body[: start - 1])
    lines = _Lines(body, start, data["ends"])
    names = data["names"]
    if len(lines) < len(names):
        raise ValueError("a subsystem line is missing")
    index = data["index"]
    for (*path, name), first, count, size in data["sharded"]:
        node = index
        for step in path:
            node = node[step]
        node[name] = _ShardedMap(lines, first, count, size)
    config = OwnersConfig.built_on_demand(
        Policy(**{k: tuple(v) if type(v) is list else v for k, v in data["policy"].items()}),
        {name: tuple(members) for name, members in data["groups"].items()},
        _build(data["root"], filename),
        _Subsystems(names, lines, filename),
        filename,
    )
    rule_names, patterns = data["rules"]
    return Ownership(config, index=index, rule_table=([names[i] for i in rule_names], patterns))


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
