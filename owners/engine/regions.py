"""Sets of paths written as expressions over compiled patterns, for matchers other than the
engine's.

`Ownership.region(name)` states, as such an expression, the paths for which `name` is a
requirement: the same answer as `name in Ownership.requirements(path)`, in a form another
matcher can evaluate without the engine (a Gerrit dashboard renders it as one Lucene regex,
each `Matches` through `patterns.path_regex`).  Nothing here matches a path itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from owners.engine.patterns import Glob


@dataclass(frozen=True)
class Matches:
    """The paths a pattern matches (`Glob.matches`)."""

    glob: Glob


@dataclass(frozen=True)
class Exactly:
    """One path."""

    path: str


@dataclass(frozen=True)
class Everything:
    """Every path."""


@dataclass(frozen=True)
class AnyOf:
    """The union; with no parts, no path at all."""

    parts: tuple[Region, ...]


@dataclass(frozen=True)
class Minus:
    """The paths of `base` that are not in `removed`."""

    base: Region
    removed: Region


Region = Matches | Exactly | Everything | AnyOf | Minus
NOTHING = AnyOf(())


def any_of(parts: Iterable[Region]) -> Region:
    """The union, flattened: nested unions and empty parts dropped, one part as itself."""
    flat: list[Region] = []
    for part in parts:
        for item in part.parts if isinstance(part, AnyOf) else (part,):
            if item not in flat:
                flat.append(item)
    if any(isinstance(item, Everything) for item in flat):
        return Everything()
    return flat[0] if len(flat) == 1 else AnyOf(tuple(flat))


def minus(base: Region, removed: Region) -> Region:
    """`base` less `removed`, written only when something is removed from something."""
    if removed == NOTHING or base == NOTHING:
        return base
    if isinstance(removed, Everything):
        return NOTHING
    return Minus(base, removed)
