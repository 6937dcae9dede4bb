"""Suggestions: whom the reviewer ranking asks, against code-owners' distance-only ranking.

A review queue replayed from the scripted Nova history (deploy/novahistory.py): each
non-merge commit of its last cycles is a change uploaded at its author date, judged by the
fixture's OWNERS.yaml, and the suggested owners are asked.  An asked owner reviews a few days
later (1 to 5, fixed per change and owner), or that long after returning when away: every
owner is away two weeks in ten, at an offset of their own, with an "away until" status.
Two rankings ask: distance-only (the subsystem's own owners before its ancestors', ties by
the seeded hash, as Gerrit's code-owners plugin ranks) and the engine's ranking, which knows
each owner's status, open reviews and the reviews they did in the change's directories over
the last 180 days.  Figures: reviews asked per owner (maximum over mean, Gini coefficient),
the share of changes routed to an away owner, and the days to the first review (median, p90).

The answer check does not use the suggestion code: for each change it counts, from the
requirements' eligible owners alone, each requirement's shortfall of available owners, and
fails the run when the ranking asks more away owners than those shortfalls add up to, or
covers a requirement with fewer owners than it needs.
"""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.stats import Report, Table
from owners.engine import Change, ChangedFile, Ownership, evaluate, load_config
from owners.engine.change import Evaluation
from owners.engine.model import Mode
from owners.engine.suggestion import Acquaintance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))
import novahistory

TITLE = "12. Suggestions: load spread and away owners, against the distance-only ranking"
DAY = 86_400
AWAY_EVERY, AWAY_FOR = 70 * DAY, 14 * DAY
FAMILIAR_FOR = 180 * DAY


@dataclass(frozen=True)
class Upload:
    number: int
    when: int
    paths: tuple[str, ...]


@dataclass
class Replay:
    """One ranking's run over the queue: who was asked when, and when each answered."""

    asked: Counter[str]
    routed_to_away: int = 0
    first_review_days: list[float] | None = None
    peak_open: Counter[str] | None = None  # the most reviews each owner had waiting at once


def run(quick: bool) -> Report:
    commits, replayed = (3_000, 400) if quick else (30_000, 6_000)
    report = Report("suggestions", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    with tempfile.TemporaryDirectory(prefix="bench-suggestions-") as scratch:
        repo = Path(scratch) / "nova"
        novahistory.build(repo, commits)
        uploads = _uploads(repo)[-replayed:]
    ownership = Ownership(load_config(novahistory.NOVA_OWNERS.read_bytes()))
    owners = sorted({p for name in _subsystems(ownership) for p in ownership.eligible(name)})
    plain = _replay(ownership, uploads, owners, ranked=False, report=report)
    ranked = _replay(ownership, uploads, owners, ranked=True, report=report)
    table = Table(
        f"{len(uploads):,} changes, {len(owners)} owners",
        ("ranking", "asks max/mean", "asks Gini", "Gini within teams", "peak open reviews",
         "routed to an away owner", "days to first review: median / p90"),
    )  # fmt: skip
    teams = [team for name in _subsystems(ownership) if len(team := ownership.own_owners(name)) > 1]
    for name, replay in (("distance-only (code-owners)", plain), ("owners (ranked)", ranked)):
        counts = [replay.asked[p] for p in owners]
        assert replay.peak_open is not None
        table.add(
            name,
            f"{max(counts) / statistics.mean(counts):.2f}",
            f"{gini(counts):.3f}",
            f"{within_teams(replay, teams):.3f}",
            max(replay.peak_open.values()),
            f"{replay.routed_to_away / len(uploads):.1%}",
            _median_p90(replay.first_review_days or [0.0]),
        )
    report.tables.append(table)
    plain_gini, ranked_gini = within_teams(plain, teams), within_teams(ranked, teams)
    report.goal(
        "fewer changes routed to away owners than distance-only",
        f"{ranked.routed_to_away} against {plain.routed_to_away}",
        ranked.routed_to_away < plain.routed_to_away,
        gap="no fewer",
        limit="the away owners are the only eligible ones",
    )
    report.goal(
        "load within each team no less even than distance-only (Gini)",
        f"{ranked_gini:.3f} against {plain_gini:.3f}",
        ranked_gini <= plain_gini,
        gap=f"{ranked_gini - plain_gini:+.3f}",
        limit="familiarity concentrates reviews on who reviewed the directory before",
    )
    return report


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient: the mean absolute difference over all pairs, over twice the mean
    (0: everyone asked as often; towards 1: one owner asked for everything)."""
    mean = statistics.mean(values)
    if mean == 0:
        return 0.0
    pairs = sum(abs(a - b) for a in values for b in values)
    return pairs / (2 * len(values) ** 2 * mean)


def _median_p90(days: list[float]) -> str:
    p90 = statistics.quantiles(days, n=10, method="inclusive")[-1] if len(days) > 1 else days[0]
    return f"{statistics.median(days):.1f} / {p90:.1f}"


def within_teams(replay: Replay, teams: list[tuple[str, ...]]) -> float:
    """The mean Gini coefficient of the asks among each team's own owners: the spread a
    ranking can change (the teams' shares of the changes are the history's)."""
    return statistics.mean(gini([replay.asked[p] for p in team]) for team in teams)


def _uploads(repo: Path) -> list[Upload]:
    """The history's non-merge commits, oldest first, as uploads with their files."""
    log = subprocess.run(
        ["git", "log", "--reverse", "--no-merges", "--format=@%at", "--name-only", "master"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    uploads: list[Upload] = []
    for block in log.split("@")[1:]:
        when, *paths = block.split()
        uploads.append(Upload(len(uploads) + 1, int(when), tuple(paths)))
    return uploads


def _subsystems(ownership: Ownership) -> list[str]:
    return [s.name for s in ownership.config.subsystems] + [ownership.config.root.name]


def away_until(person: str, when: int) -> int:
    """The end of the person's absence covering `when`, or 0 when they are there."""
    offset = int(hashlib.sha256(person.encode()).hexdigest(), 16) % AWAY_EVERY
    phase = (when - offset) % AWAY_EVERY
    return when - phase + AWAY_FOR if phase < AWAY_FOR else 0


def _delay(number: int, person: str) -> int:
    return (1 + int(hashlib.sha256(f"{number}/{person}".encode()).hexdigest(), 16) % 5) * DAY


def _replay(
    ownership: Ownership, uploads: list[Upload], owners: list[str], *, ranked: bool, report: Report
) -> Replay:
    replay = Replay(Counter(), first_review_days=[], peak_open=Counter())
    done_at: dict[str, list[int]] = defaultdict(list)  # person -> when their open reviews end
    # person -> (when, directories) of their reviews, oldest first, within FAMILIAR_FOR
    reviewed: dict[str, list[tuple[int, frozenset[str]]]] = defaultdict(list)
    for upload in uploads:
        now = upload.when
        directories = frozenset(p.rsplit("/", 1)[0] for p in upload.paths)
        for person in list(done_at):
            done_at[person] = [end for end in done_at[person] if end > now]

        def know(
            person: str, now: int = now, directories: frozenset[str] = directories
        ) -> Acquaintance:
            back = away_until(person, now)
            status = f"away until {datetime.fromtimestamp(back, UTC):%d %b}" if back else ""
            recent = reviewed[person]
            while recent and now - recent[0][0] >= FAMILIAR_FOR:
                recent.pop(0)
            familiar = sum(1 for when, dirs in recent if when <= now and dirs & directories)
            return Acquaintance(status, len(done_at[person]), familiar)

        change = Change.of([ChangedFile(p) for p in upload.paths], number=upload.number)
        evaluation = evaluate(ownership, change, acquaintance=know if ranked else None)
        asked = evaluation.suggested_reviewers
        if ranked:
            _check(ownership, evaluation, upload, report)
        replay.routed_to_away += any(away_until(p, now) for p in asked)
        ends = []
        for person in asked:
            replay.asked[person] += 1
            end = max(now, away_until(person, now)) + _delay(upload.number, person)
            done_at[person].append(end)
            assert replay.peak_open is not None
            replay.peak_open[person] = max(replay.peak_open[person], len(done_at[person]))
            reviewed[person].append((end, directories))
            reviewed[person].sort(key=lambda review: review[0])
            ends.append(end)
        if ends:
            assert replay.first_review_days is not None
            replay.first_review_days.append((min(ends) - now) / DAY)
    return replay


def _check(ownership: Ownership, evaluation: Evaluation, upload: Upload, report: Report) -> None:
    """From the eligible owners of each unmet requirement alone: the ranking covers it with as
    many owners as it needs (or all there are), and asks no more away owners than the fewest
    any cover needs, which is at least, for each requirement, its shortfall of available
    owners, and at most their sum."""
    asked = set(evaluation.suggested_reviewers)
    shortfalls = []
    for result in evaluation.requirements:
        if result.met:
            continue
        eligible = set(ownership.eligible(result.subsystem))
        needed = min(result.missing, len(eligible))
        if result.mode is Mode.ENFORCE and len(asked & eligible) < needed:
            report.errors.append(
                f"change {upload.number}: {result.subsystem} needs {needed}, asked "
                f"{sorted(asked & eligible)}"
            )
        present = {p for p in eligible if not away_until(p, upload.when)}
        shortfalls.append(max(0, needed - len(present)))
    away_asked = sum(1 for p in asked if away_until(p, upload.when))
    if away_asked > sum(shortfalls):
        report.errors.append(
            f"change {upload.number}: asked {away_asked} away owners where "
            f"{sum(shortfalls)} would do"
        )
