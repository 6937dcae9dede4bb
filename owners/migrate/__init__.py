"""Migration between OWNERS.yaml and other ownership formats.

Each source module parses its format (from a checkout, through a `read` function and the
list of tracked files, so nothing here touches the disk), answers "what does this path
need" by that format's own rules, and writes an OWNERS.yaml with a note for every feature
that has no exact equivalent.  `compare` checks the written map against the source with
the real engine.  No printing, no click: the CLI is `owners/cli/migrate.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from owners.migrate.codeowners import import_codeowners
from owners.migrate.common import Difference, Imported, Note, Requirement, SourceError, compare
from owners.migrate.export import export_codeowners
from owners.migrate.findowners import import_find_owners
from owners.migrate.prow import import_prow

Importer = Callable[
    [Callable[[str], str | None], Sequence[str], str | None, tuple[str, ...]], Imported
]

FORMATS: dict[str, Importer] = {
    "codeowners": partial(import_codeowners, gitlab=False),
    "gitlab": partial(import_codeowners, gitlab=True),
    "prow": import_prow,
    "find-owners": import_find_owners,
}

__all__ = [
    "FORMATS",
    "Difference",
    "Imported",
    "Note",
    "Requirement",
    "SourceError",
    "compare",
    "export_codeowners",
]
