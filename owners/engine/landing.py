"""What a revision lands: the rule behind sticky approvals and pure reverts.

Submitting a revision applies its diff against its own parent to the branch, so that diff, not
the revision's tree, is what an owner approves.  A `Landing` records it path by path: the
content (and mode) each path has before and after.  Two exceptions compare landings:

* **Sticky approvals**: an approval given on an earlier patch set carries to the current one
  only for requirements none of whose paths the two patch sets land differently
  (`differing_paths`).  The same tree on another parent is another landing: it may bring in
  the code of the change it was stacked on, or undo what merged on the branch meanwhile.
* **Pure reverts**: a revert is exempt only when it lands exactly the inverse of what the
  reverted change landed (`is_inverse`): the same paths, each set back from the reverted
  change's "after" to its "before".  A revert that also undoes a later fix is not.

Content is compared by digest; the caller reads it (from Gerrit, or from git in the tests).
A path a landing leaves out is one the revision leaves as its parent had it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Side:
    """A path's content on one side of a diff: its file mode and a digest of its bytes."""

    mode: int
    digest: str


@dataclass(frozen=True)
class PathChange:
    """What a revision does to one path: `before` (in its parent) and `after` (in itself);
    None on a side where the path does not exist.  A rename is two changes: the old path
    removed, the new one added."""

    before: Side | None
    after: Side | None

    @property
    def inverse(self) -> PathChange:
        return PathChange(self.after, self.before)


Landing = Mapping[str, PathChange]
"""Every path a single-parent revision changes against its parent, with how it changes it."""


def landing(changes: Iterable[tuple[str, PathChange]]) -> dict[str, PathChange]:
    """A landing from (path, change) pairs; a path whose sides are equal is left out, since
    the revision leaves it as it was."""
    return {path: change for path, change in changes if change.before != change.after}


def differing_paths(approved: Landing, current: Landing) -> frozenset[str]:
    """The paths that two revisions land differently: changed by one and not the other, or
    changed by both from other content or to other content.  An approval of `approved`
    says nothing about these paths in `current`."""
    return frozenset(
        path for path in approved.keys() | current.keys() if approved.get(path) != current.get(path)
    )


def is_inverse(revert: Landing, original: Landing) -> bool:
    """Whether `revert` lands exactly the inverse of `original`: the same paths, each set
    from the original's "after" back to its "before", and nothing else."""
    return bool(original) and dict(revert) == {p: c.inverse for p, c in original.items()}
