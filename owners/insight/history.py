"""Which subsystems a range of history touched: the numbers the lieutenant debate is about.

A commit counts once for every subsystem whose `paths` include one of its files, so a
subsystem's count equals `git log --no-merges RANGE -- <its paths>`.  It counts as root-only
work when one of its files is claimed by no subsystem (only the core team may approve it),
and as cross-subsystem work when its files need two or more requirements (several teams).
Pure: the caller streams each commit's paths in; the engine answers each distinct path once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from owners.engine import Ownership


@dataclass(frozen=True, slots=True)
class PathFacts:
    subsystems: frozenset[str]
    requirements: frozenset[str]
    root_only: bool


@dataclass(frozen=True)
class RangeStats:
    revrange: str
    commits: int
    subsystems: dict[str, int]
    root_only: int
    cross: int


class PathClassifier:
    """The engine's answer for each path, remembered: a long history names the same few
    thousand paths over and over, and a range's pass must stay close to git's own speed."""

    def __init__(self, ownership: Ownership):
        self.ownership = ownership
        self._facts: dict[str, PathFacts] = {}

    def __call__(self, path: str) -> PathFacts:
        facts = self._facts.get(path)
        if facts is None:
            matching = self.ownership.matching(path)
            facts = self._facts[path] = PathFacts(
                subsystems=frozenset(matching),
                requirements=frozenset(self.ownership.requirements(path)),
                root_only=not matching,
            )
        return facts


def tally(revrange: str, commits: Iterable[Sequence[str]], classify: PathClassifier) -> RangeStats:
    """Count one range's commits, each given as the paths it touched."""
    touched: Counter[str] = Counter()
    commit_count = root_only = cross = 0
    for paths in commits:
        commit_count += 1
        subsystems: set[str] = set()
        requirements: set[str] = set()
        needs_root = False
        for path in paths:
            facts = classify(path)
            subsystems |= facts.subsystems
            requirements |= facts.requirements
            needs_root = needs_root or facts.root_only
        touched.update(subsystems)
        root_only += needs_root
        cross += len(requirements) >= 2
    names = [sub.name for sub in classify.ownership.config.subsystems]
    return RangeStats(
        revrange=revrange,
        commits=commit_count,
        subsystems={name: touched[name] for name in names},
        root_only=root_only,
        cross=cross,
    )
