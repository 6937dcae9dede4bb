"""How a tree divides among subsystems: the figures behind "who reviews what"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from owners.engine.model import ROOT
from owners.engine.resolution import Ownership


@dataclass(frozen=True)
class Coverage:
    total_files: int
    files_by_subsystem: dict[str, int]  # files each subsystem must approve, root first
    root_only: tuple[str, ...]  # files no subsystem claims


def coverage(ownership: Ownership, tree: Iterable[str]) -> Coverage:
    counts = dict.fromkeys((s.name for s in ownership.config.all_subsystems), 0)
    root_only = []
    total = 0
    for path in tree:
        total += 1
        requirements = ownership.requirements(path)
        for name in requirements:
            counts[name] += 1
        if requirements == (ROOT,):
            root_only.append(path)
    return Coverage(total, counts, tuple(root_only))
