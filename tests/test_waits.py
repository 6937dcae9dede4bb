"""`owners stats --waits`: the time from authoring to landing, per subsystem and range.

The oracle is a history scripted here with dates chosen by hand: each change's wait is known
before the code runs (the figures in `EXPECTED` were worked out on paper from the schedule),
and the landing rules are checked on small commit graphs written out row by row.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import novahistory
import pytest

from owners.gitrepo import LoggedCommit, logged_commits
from owners.insight.waits import Landing, Spread, landings, quantile, spread
from tests.conftest import OWNERS_SCRIPT

DAY = 86_400
T0 = 1_577_836_800  # 2020-01-01 00:00 UTC


def commit(
    sha: str,
    parents: tuple[str, ...],
    authored: int,
    committed: int,
    reviewed_on: bool = False,
) -> LoggedCommit:
    return LoggedCommit(sha, parents, authored, committed, reviewed_on, [f"{sha}.py"])


# Each row: the range's commits newest first, as git log gives them, and the landings.
LANDING_CASES = {
    "a merge lands its change at the merge's committer date": (
        [commit("m", ("base", "c"), 9, 10), commit("c", ("base",), 3, 3)],
        [Landing("c", 7, "merge")],
    ),
    "a merge lands a whole series together": (
        [
            commit("m", ("base", "c2"), 9, 20),
            commit("c2", ("c1",), 5, 5),
            commit("c1", ("base",), 2, 2),
        ],
        [Landing("c2", 15, "merge"), Landing("c1", 18, "merge")],
    ),
    "a commit on the chain lands at its own date, with Reviewed-on as Gerrit's rewrite": (
        [commit("p", ("base",), 4, 12, reviewed_on=True)],
        [Landing("p", 8, "reviewed_on")],
    ),
    "a commit on the chain without Reviewed-on gives only its own committer date": (
        [commit("f", ("base",), 4, 6)],
        [Landing("f", 2, "committer_date")],
    ),
    "an already landed parent keeps its earlier landing": (
        [
            commit("m2", ("m1", "c2"), 30, 30),
            commit("c2", ("c1",), 20, 20),
            commit("m1", ("base", "c1"), 15, 15),
            commit("c1", ("base",), 10, 10),
        ],
        [Landing("c2", 10, "merge"), Landing("c1", 5, "merge")],
    ),
    "a skewed clock's negative wait counts as 0": (
        [commit("m", ("base", "c"), 9, 10), commit("c", ("base",), 50, 50)],
        [Landing("c", 0, "merge")],
    ),
    "a first commit with no parent lands at its own date": (
        [commit("root", (), 1, 1)],
        [Landing("root", 0, "committer_date")],
    ),
}


@pytest.mark.parametrize(("commits", "expected"), LANDING_CASES.values(), ids=LANDING_CASES)
def test_landings(commits: list[LoggedCommit], expected: list[Landing]):
    assert landings(commits) == expected


SPREAD_CASES = [
    ([], None),
    ([7], Spread(7, 7)),
    ([3, 1, 2], Spread(2, 2.5)),
    ([4, 1, 3, 2], Spread(2.5, 3.25)),
    ([10, 0, 0, 0, 0], Spread(0, 0)),
]


@pytest.mark.parametrize(("waits", "expected"), SPREAD_CASES)
def test_spread_is_the_median_and_the_interpolated_75th_percentile(waits, expected):
    assert spread(waits) == expected


@pytest.mark.parametrize(("q", "expected"), [(0, 10), (0.5, 25), (0.75, 32.5), (1, 40)])
def test_quantile_interpolates_between_ranks(q: float, expected: float):
    assert quantile([10, 20, 30, 40], q) == expected


MAP = """version: 1
root: {owners: [core]}
subsystems:
  - {name: a, paths: [a/], owners: [ann]}
  - {name: b, paths: [b/], owners: [ben]}
  - {name: c, paths: [c/], owners: [cat]}
"""


class Scripted:
    """A repository whose every date is given in days after T0."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir()
        self.git(0, 0, "init", "-q", "-b", "master")

    def git(self, authored: float, committed: float, *args: str) -> str:
        env = {
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "PATH": os.environ["PATH"],
            "HOME": str(self.path),
            "GIT_AUTHOR_NAME": "A",
            "GIT_AUTHOR_EMAIL": "a@example.org",
            "GIT_COMMITTER_NAME": "Gerrit Code Review",
            "GIT_COMMITTER_EMAIL": "gerrit@example.org",
            "GIT_AUTHOR_DATE": f"@{T0 + int(authored * DAY)} +0000",
            "GIT_COMMITTER_DATE": f"@{T0 + int(committed * DAY)} +0000",
        }
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def change(self, day: float, *files: str, landed: float | None = None, message: str = "x"):
        """A commit of `files` authored on `day`, committed then or at `landed`."""
        for name in files:
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text(f"{name} {day}\n")
        self.git(day, day, "add", *files)
        self.git(day, day if landed is None else landed, "commit", "-q", "-m", message)

    def merge(self, branch: str, day: float) -> None:
        self.git(day, day, "checkout", "-q", "master")
        self.git(day, day, "merge", "-q", "--no-ff", "-m", f'Merge "{branch}"', branch)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven changes with the waits of `WAITS`, landed every way Gerrit lands them."""
    repo = Scripted(tmp_path_factory.mktemp("waits") / "repo")
    (repo.path / "OWNERS.yaml").write_text(MAP)
    repo.git(0, 0, "add", "OWNERS.yaml")
    repo.git(0, 0, "commit", "-q", "-m", "map")
    repo.git(0, 0, "tag", "start")
    repo.git(1, 1, "checkout", "-q", "-b", "a1")  # merge-always: waits 2 days
    repo.change(1, "a/1.py")
    repo.merge("a1", 3)
    repo.git(2, 2, "checkout", "-q", "-b", "series", "a1")  # a series on top of a1, one merge
    repo.change(2, "a/2.py")
    repo.change(4, "a/3.py")
    repo.merge("series", 8)
    repo.git(9, 9, "checkout", "-q", "master")  # cherry-pick: Gerrit rewrites it at day 9
    repo.change(5, "b/1.py", landed=9, message="b1\n\nReviewed-on: https://review.example.org/5")
    repo.change(9, "a/4.py", "b/2.py", landed=10)  # fast-forward: last written on day 10
    repo.git(10, 10, "checkout", "-q", "-b", "readme")
    repo.change(10, "README")
    repo.merge("readme", 10.5)
    repo.git(20, 20, "checkout", "-q", "-b", "skewed")  # authored after its own merge
    repo.change(20, "b/3.py")
    repo.merge("skewed", 19)
    return repo.path


WAITS = {"a": [2, 6, 4, 1], "b": [4, 1, 0], "every": [2, 6, 4, 4, 1, 0.5, 0]}  # in days
EXPECTED = {
    "commits": {"median": 2 * DAY, "p75": 4 * DAY},  # 0 .5 1 [2] 4 4 6; p75 at rank 4.5
    "subsystems": {
        "a": {"median": 3 * DAY, "p75": 4.5 * DAY},  # 1 2 4 6; ranks 1.5 and 2.25
        "b": {"median": 1 * DAY, "p75": 2.5 * DAY},  # 0 1 4; ranks 1 and 1.5
        "c": None,
    },
    "landed_by": {"merge": 5, "reviewed_on": 1, "committer_date": 1},
}


def test_the_scripted_waits_are_what_was_scheduled(scripted: Path):
    """The schedule above, read back from git on its own terms (author date, and the date
    of whatever first put the commit on master's first-parent chain)."""
    chain = subprocess.run(
        ["git", "log", "--first-parent", "--format=%H %ct %P", "start..master"],
        cwd=scripted, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    assert len([line for line in chain if line]) == 6  # 4 merges, the cherry-pick, the ff
    got = sorted(
        landing.waited / DAY for landing in landings(logged_commits(scripted, "start..master"))
    )
    assert got == sorted(WAITS["every"])


def landing_times_by_git(repo: Path, revrange: str) -> dict[str, int]:
    """Each non-merge commit's landing time, asked of git one first-parent commit F at a
    time: what F has that its first parent lacks is what F landed, at F's committer date."""
    base = revrange.split("..")[0]
    out = subprocess.run(
        ["git", "log", "--first-parent", "--format=%H %ct %P", revrange],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    landed = {}
    for line in out.splitlines():
        sha, when, *parents = line.split()
        brought = subprocess.run(
            ["git", "rev-list", "--no-merges", sha, "--not", base, *parents[:1]],
            cwd=repo, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        landed.update(dict.fromkeys(brought, int(when)))
    return landed


@pytest.mark.parametrize("which", ["scripted", "novahistory"])
def test_landings_agree_with_git_asked_merge_by_merge(scripted: Path, tmp_path: Path, which):
    if which == "scripted":
        repo, revrange = scripted, "start..master"
    else:
        repo, revrange = tmp_path / "nova", "2012.1..2013.1"
        novahistory.build(repo, commits=1_000, seed=11)
    commits = {c.sha: c for c in logged_commits(repo, revrange)}
    ours = {
        landing.sha: commits[landing.sha].authored + landing.waited
        for landing in landings(commits.values())
    }
    by_git = landing_times_by_git(repo, revrange)
    # a wait never goes below 0, so a commit authored after it landed shows its author date
    assert ours == {sha: max(when, commits[sha].authored) for sha, when in by_git.items()}
    assert len(ours) > 5


def test_json_gives_each_subsystems_median_and_p75_in_seconds(scripted: Path, owners):
    result = owners("stats", "--waits", "--json", "--repo", str(scripted), "start..master")
    data = result.json["ranges"][0]
    assert data["commits"] == 7
    assert data["subsystems"] == {"a": 4, "b": 3, "c": 0}
    assert data["waits"] == EXPECTED


def test_counts_are_the_same_with_and_without_waits(tmp_path: Path, owners):
    repo = tmp_path / "nova"
    novahistory.build(repo, commits=1_500, seed=5)
    ranges = ["2012.1..2012.2", "2013.1..2013.2"]
    plain = owners("stats", "--json", "--repo", str(repo), *ranges).json["ranges"]
    waited = owners("stats", "--json", "--waits", "--repo", str(repo), *ranges).json["ranges"]
    assert [{k: v for k, v in r.items() if k != "waits"} for r in waited] == plain
    assert all(r["waits"]["landed_by"]["merge"] > 0 for r in waited)


def test_text_puts_median_and_p75_beside_each_count(scripted: Path, owners):
    lines = owners("stats", "--waits", "--repo", str(scripted), "start..master").out.splitlines()
    assert lines[1].startswith("waits: author date to landing")
    assert lines[2].split() == ["start..master"]
    assert lines[3].split() == ["commits", "median", "p75"]
    rows = {line[:27].strip(): line[27:].split() for line in lines[4:]}
    assert rows["commits (no merges)"] == ["7", "2.0d", "4.0d"]
    assert rows["a"] == ["4", "3.0d", "4.5d"]
    assert rows["b"] == ["3", "1.0d", "2.5d"]
    assert rows["c"] == ["0"]
    assert rows["touching root-only paths"] == ["1"]
    assert rows["landed by a merge commit"] == ["5"]
    assert rows["landed with Reviewed-on"] == ["1"]
    assert rows["landed, no sign of submit"] == ["1"]


def test_csv_adds_rows_of_seconds(scripted: Path, owners):
    out = owners("stats", "--waits", "--csv", "--repo", str(scripted), "start..master").out
    table = {row[0]: row[1:] for row in csv.reader(io.StringIO(out))}
    assert table["wait_median:subsystem:a"] == [str(3 * DAY)]
    assert table["wait_p75:subsystem:b"] == [str(int(2.5 * DAY))]
    assert table["wait_median:subsystem:c"] == [""]
    assert table["landed_by:reviewed_on"] == ["1"]


def test_csv_writes_long_waits_as_plain_whole_seconds():
    from owners.insight.history import RangeStats
    from owners.insight.waits import RangeWaits
    from owners.views.render import stats_csv

    counts = RangeStats("r", 3, {"a": 3}, root_only=0, cross=0)
    waits = RangeWaits("r", Spread(1_234_567.5, 9e6), {"a": None}, {"merge": 3})
    rows = list(csv.reader(io.StringIO(stats_csv([counts], [waits]))))
    assert ["wait_median:commits", "1234568"] in rows
    assert ["wait_p75:commits", "9000000"] in rows
    assert ["wait_median:subsystem:a", ""] in rows


def test_the_installed_command_answers_the_same(scripted: Path):
    done = subprocess.run(
        [str(OWNERS_SCRIPT), "stats", "--waits", "--json", "start..master"],
        cwd=scripted, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["ranges"][0]["waits"] == EXPECTED


def test_logged_commits_reads_parents_dates_and_the_trailer(scripted: Path):
    commits = {c.sha: c for c in logged_commits(scripted, "start..master")}
    picked = next(c for c in commits.values() if c.paths == ["b/1.py"])
    assert (picked.authored, picked.committed, picked.reviewed_on) == (
        T0 + 5 * DAY, T0 + 9 * DAY, True,
    )  # fmt: skip
    merges = [c for c in commits.values() if len(c.parents) == 2]
    assert len(merges) == 4
    assert all(c.paths == [] and not c.reviewed_on for c in merges)


def test_the_cli_reference_names_each_landing_and_json_key():
    from owners.insight.waits import LANDED_BY
    from owners.views.render import LANDED_LABELS

    text = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    section = text[text.index("### How long changes waited") :]
    for how in LANDED_BY:
        assert f"`{LANDED_LABELS[how]}`" in section
        assert f'"{how}": N' in section
