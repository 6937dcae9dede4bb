"""Compiled OWNERS.yaml maps shared by every process of the service.

Compiling a map of 10,000 subsystems takes about half a second; each web and worker
process compiling each new revision for itself would spend that once per process.  The
first process to meet a revision stores the compiled map (`owners.cache`'s JSON format,
keyed by the content, the package and the engine) beside the queue: in Redis for a redis://
queue, in a folder next to the SQLite file otherwise.  The others reopen it, and every
process keeps the maps it uses in memory.  An entry that is missing, corrupt or another
version's is compiled anew; reading one builds only plain data, whoever wrote it.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from owners import cache
from owners.engine import CONFIG_PATH, Diagnostic, Ownership, parse_config

Compiled = tuple[Ownership | None, tuple[Diagnostic, ...]]
IN_MEMORY = 32  # maps kept per process by default: a few branches' revisions
REDIS_TTL_SECONDS = 7 * 24 * 3600  # an entry nobody asked for in a week is dropped


class Entries(Protocol):
    def get(self, entry_key: str) -> bytes | None: ...
    def put(self, entry_key: str, body: bytes) -> None: ...


class RedisEntries:
    """Entries as Redis strings with a TTL, renewed when read."""

    def __init__(self, connection: Any, prefix: str):
        # Imported here: the base install (owners check --change) has no redis package.
        from redis.exceptions import RedisError

        self.connection = connection
        self.prefix = prefix
        self._errors = RedisError

    def get(self, entry_key: str) -> bytes | None:
        name = self.prefix + entry_key
        try:
            raw = self.connection.get(name)
            if raw is not None:
                self.connection.expire(name, REDIS_TTL_SECONDS)
        except self._errors:
            return None  # the queue's own calls report an outage; compiling still works
        return None if raw is None else cache.unwrap(bytes(raw), entry_key)

    def put(self, entry_key: str, body: bytes) -> None:
        with contextlib.suppress(self._errors):
            self.connection.set(
                self.prefix + entry_key, cache.wrap(entry_key, body), ex=REDIS_TTL_SECONDS
            )


def folder_entries(queue_file: str) -> cache.DiskCache:
    """Entries in a folder beside the SQLite queue, which every local process can reach."""
    path = Path(queue_file)
    return cache.DiskCache(path.with_name(path.name + ".compiled"))


class SharedMaps:
    """Compile each OWNERS.yaml content once across the service's processes."""

    def __init__(self, entries: Entries | None, in_memory: int = IN_MEMORY):
        self.entries = entries
        self.in_memory = in_memory  # the maps kept in this process, most recently used
        self.hits = self.misses = 0  # lookups found in memory, and the others
        self._memory: OrderedDict[bytes, Compiled] = OrderedDict()
        self._lock = threading.Lock()  # worker threads share the memory

    def compile(self, content: bytes) -> Compiled:
        """The map of `content` (None and the errors when it is invalid)."""
        with self._lock:
            found = self._memory.get(content)
            if found is not None:
                self.hits += 1
                self._memory.move_to_end(content)
                return found
            self.misses += 1
        found = self._shared(content)
        with self._lock:
            self._memory[content] = found
            while len(self._memory) > self.in_memory:
                self._memory.popitem(last=False)
        return found

    def _shared(self, content: bytes) -> Compiled:
        entry_key = cache.key(content) if self.entries is not None else ""
        if self.entries is not None:
            body = self.entries.get(entry_key)
            if body is not None:
                try:
                    return cache.decode(body, CONFIG_PATH), ()
                except (ValueError, TypeError, KeyError, IndexError):
                    pass  # digest-checked, so only a bug of ours lands here: compile anew
        config, diagnostics = parse_config(content, CONFIG_PATH)
        if config is None:
            return None, tuple(diagnostics)
        ownership = Ownership(config)
        if self.entries is not None:
            self.entries.put(entry_key, cache.encode(ownership))
        return ownership, tuple(diagnostics)
