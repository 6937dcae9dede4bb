"""Hints that ask "did you mean ...?": the known name closest to a mistyped one.

Every message about an unknown key, choice, alias or parent offers the name it was most
likely meant to be, so that the fix is in the message; this module is the one place that
decides what "close" means.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable


def closest(word: str, names: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The name most like `word` (difflib's ratio of at least `cutoff`), or None."""
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=cutoff)
    return close[0] if close else None


class Near:
    """Finds a known name one edit away from a mistyped one, among many names.

    Comparing every unknown name with every known one is quadratic, and a hostile file holds
    tens of thousands of each; instead each known name is indexed under itself with each one
    character deleted, and two names one insertion, deletion, substitution or transposition
    apart always share a key.  `closest` then ranks the few candidates found.
    """

    def __init__(self, names: Iterable[str]):
        self._index: dict[str, list[str]] = {}
        for name in names:
            for key in self._keys(name):
                self._index.setdefault(key, []).append(name)

    @staticmethod
    def _keys(name: str) -> set[str]:
        if len(name) > 64:  # not a typo of a name anyone types
            return {name}
        return {name, *(name[:i] + name[i + 1 :] for i in range(len(name)))}

    def closest(self, word: str, cutoff: float = 0.6) -> str | None:
        found = (self._index.get(key, ()) for key in sorted(self._keys(word)))
        return closest(word, itertools.islice(itertools.chain.from_iterable(found), 32), cutoff)
