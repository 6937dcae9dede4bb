"""What the web pages keep between requests, and why each is safe to share.

- A branch's tree by commit (`TreeIndex`): a commit never changes, and a page uses one only
  after Gerrit told *this* viewer that the branch head is that commit, so whoever gets it
  could have fetched it themselves.
- Per-viewer answers (group members, report figures) under the viewer's username, for a
  short time; the username is used as a key only after Gerrit accepted the credentials on the
  same request.  No password is kept: a request's credentials live as long as the request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from owners.engine import ROOT, Ownership

K = TypeVar("K")
V = TypeVar("V")


class Cache(Generic[K, V]):
    """A small thread-safe LRU with an optional time to live."""

    def __init__(
        self, size: int, ttl: float | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._size, self._ttl, self._clock = size, ttl, clock
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        now = self._clock()
        with self._lock:
            found = self._items.get(key)
            if found is not None and (self._ttl is None or found[0] > now):
                self._items.move_to_end(key)
                return found[1]
        value = make()
        with self._lock:
            self._items[key] = (now + (self._ttl or 0.0), value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class TreeIndex:
    """A commit's file list as folders: each folder's direct subfolders and files, and how
    many files lie beneath it; built once in O(files), then each folder is a lookup."""

    commit: str
    folders: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    paths: tuple[str, ...] = ()
    files: frozenset[str] = frozenset()
    _requirements: dict[int, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, commit: str, paths: Iterable[str]) -> TreeIndex:
        index = cls(commit)
        folders: dict[str, tuple[list[str], list[str]]] = {"": ([], [])}
        counts: dict[str, int] = {}
        ordered = tuple(sorted(paths))
        for path in ordered:
            parent = ""
            parts = path.split("/")
            for part in parts[:-1]:
                folder = f"{parent}/{part}" if parent else part
                if folder not in folders:
                    folders[folder] = ([], [])
                    folders[parent][0].append(folder)
                counts[parent] = counts.get(parent, 0) + 1
                parent = folder
            counts[parent] = counts.get(parent, 0) + 1
            folders[parent][1].append(path)
        index.folders, index.counts, index.paths = folders, counts, ordered
        index.files = frozenset(ordered)
        return index

    def requirements(self, ownership: Ownership) -> dict[str, tuple[str, ...]]:
        """Per folder, every requirement of the files beneath it (root first when some file
        there is root's alone); computed once per ownership map and kept with the tree."""
        key = id(ownership)
        with self._lock:
            found = self._requirements.get(key)
        if found is not None:
            return found
        union: dict[str, dict[str, None]] = {folder: {} for folder in self.folders}
        for path in self.paths:
            names = ownership.requirements(path)
            folder = path.rpartition("/")[0]
            while True:
                union[folder].update(dict.fromkeys(names))
                if not folder:
                    break
                folder = folder.rpartition("/")[0]
        result = {
            folder: tuple(sorted(names, key=lambda n: (n != ROOT, n)))
            for folder, names in union.items()
        }
        with self._lock:
            self._requirements = {key: result}  # one map at a time: the branch's current one
        return result
