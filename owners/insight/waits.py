"""How long each range's commits waited from authoring to landing, per subsystem: the wait
side of the lieutenant debate, from git history alone.

A commit lands when the branch's first-parent chain first reaches it. With Gerrit's
merge-always and merge-if-necessary strategies that is a merge commit whose committer date
is the submit time, and every commit it brings in (a series lands together) lands then. A
commit on the chain itself landed without a merge: its own committer date is the landing
time, which is the submit time when Gerrit wrote the commit at submit (cherry-pick and
rebase-always stamp a `Reviewed-on:` trailer into it) and only the last upload when the
submit fast-forwarded (fast-forward-only, or a rebase that was not necessary): a lower
bound.  `LANDED_BY` names the three, and each range says how many of its commits each
landing came from, so a reader knows which figure they have.

Pure: the caller gives the range's commits from git; nothing here reads git.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from owners.gitrepo import LoggedCommit
from owners.insight.history import PathClassifier

LANDED_BY = ("merge", "reviewed_on", "committer_date")
"""How a commit's landing time is known: the committer date of the merge commit that
brought it in; its own committer date, which Gerrit set at submit (a `Reviewed-on:`
trailer); its own committer date with no sign of a submit (a lower bound)."""


@dataclass(frozen=True, slots=True)
class Landing:
    sha: str
    waited: int
    """Seconds from the author date to landing; a skewed clock's negative wait counts as 0."""
    landed_by: str


@dataclass(frozen=True, slots=True)
class Spread:
    """The median and 75th percentile of some waits, in seconds."""

    median: float
    p75: float


@dataclass(frozen=True)
class RangeWaits:
    revrange: str
    commits: Spread | None
    subsystems: dict[str, Spread | None]
    landed_by: dict[str, int]


def landings(commits: Iterable[LoggedCommit]) -> list[Landing]:
    """When each non-merge commit of a range landed, newest first as git log gives them.

    The range's first-parent chain is walked from its oldest commit; each chain commit
    lands, at its committer date, itself and whatever of the range it brings in through
    its other parents that no older chain commit brought in.
    """
    ordered = list(commits)
    by_sha = {c.sha: c for c in ordered}
    parents_in_range = {p for c in ordered for p in c.parents if p in by_sha}
    landed: dict[str, tuple[int, str]] = {}
    for head in (c for c in ordered if c.sha not in parents_in_range):
        chain = [head]
        while chain[-1].parents and chain[-1].parents[0] in by_sha:
            chain.append(by_sha[chain[-1].parents[0]])
        for tip in reversed(chain):
            if tip.sha in landed:
                continue
            if len(tip.parents) < 2:
                landed[tip.sha] = (tip.committed, _own_landing(tip))
                continue
            landed[tip.sha] = (tip.committed, "merge")
            stack = [p for p in tip.parents[1:] if p in by_sha]
            while stack:
                sha = stack.pop()
                if sha in landed:
                    continue
                landed[sha] = (tip.committed, "merge")
                stack.extend(p for p in by_sha[sha].parents if p in by_sha)
    return [
        Landing(c.sha, max(0, landed[c.sha][0] - c.authored), landed[c.sha][1])
        for c in ordered
        if len(c.parents) < 2
    ]


def _own_landing(commit: LoggedCommit) -> str:
    return "reviewed_on" if commit.reviewed_on else "committer_date"


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated between the two nearest ranks (the
    rule of numpy's default and of `statistics.quantiles(method="inclusive")`)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(waits: Iterable[int]) -> Spread | None:
    """Median and 75th percentile; None for no waits at all."""
    ordered = sorted(waits)
    if not ordered:
        return None
    return Spread(median=quantile(ordered, 0.5), p75=quantile(ordered, 0.75))


def range_waits(
    revrange: str, commits: Sequence[LoggedCommit], classify: PathClassifier
) -> RangeWaits:
    """A range's waits, over all its non-merge commits and per subsystem: a commit counts for
    each subsystem whose paths include one of its files, as `tally` counts it."""
    paths = {c.sha: c.paths for c in commits}
    names = [sub.name for sub in classify.ownership.config.subsystems]
    per_subsystem: dict[str, list[int]] = {name: [] for name in names}
    landed_by = dict.fromkeys(LANDED_BY, 0)
    every: list[int] = []
    for landing in landings(commits):
        every.append(landing.waited)
        landed_by[landing.landed_by] += 1
        touched: set[str] = set()
        for path in paths[landing.sha]:
            touched |= classify(path).subsystems
        for name in touched:
            per_subsystem[name].append(landing.waited)
    return RangeWaits(
        revrange=revrange,
        commits=spread(every),
        subsystems={name: spread(waits) for name, waits in per_subsystem.items()},
        landed_by=landed_by,
    )
