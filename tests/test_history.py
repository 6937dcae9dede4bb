"""`owners stats` over a scripted Nova-shaped history (deploy/novahistory.py).

The contract: a subsystem's count is what `git log --no-merges RANGE -- <its paths>` counts,
root-only work is what `git log -- . ':(exclude)<every subsystem path>'` counts, merges never
count, and a renamed file counts under both its paths.
"""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import novahistory
import pytest

from owners.engine import load_config
from owners.engine.resolution import Ownership
from owners.gitrepo import commit_paths
from owners.insight.history import PathClassifier, tally
from tests.conftest import git, one_line_error

RANGES = ["2012.1..2012.2", "2013.1..2013.2", "2014.2..2015.1"]

# Each subsystem of tests/fixtures/nova-OWNERS.yaml as git pathspecs, written by hand.
PATHSPECS = {
    "virt": ["nova/virt/"],
    "driver-api": ["nova/virt/driver.py"],
    "hyperv": [
        "nova/virt/hyperv/",
        "nova/tests/unit/virt/hyperv/",
        ":(exclude)nova/virt/hyperv/README.rst",
    ],
    "vmware": ["nova/virt/vmwareapi/", "nova/tests/unit/virt/vmwareapi/"],
    "libvirt": ["nova/virt/libvirt/", "nova/tests/unit/virt/libvirt/"],
    "xenapi": ["nova/virt/xenapi/"],
}
CLAIMED = [
    "nova/virt/",
    "nova/tests/unit/virt/hyperv/",
    "nova/tests/unit/virt/vmwareapi/",
    "nova/tests/unit/virt/libvirt/",
]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("history") / "nova"
    novahistory.build(repo, commits=2_000, seed=7)
    return repo


@pytest.fixture
def in_history(history: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(history)
    return history


def git_count(repo: Path, revrange: str, *pathspecs: str) -> int:
    out = git(repo, "log", "--no-merges", "--format=%H", revrange, "--", *pathspecs)
    return len(out.split())


@pytest.mark.parametrize("revrange", RANGES)
def test_counts_equal_git_log_with_the_same_paths(in_history: Path, owners, revrange: str):
    result = owners("stats", "--json", revrange).json["ranges"][0]
    assert result["range"] == revrange
    assert result["commits"] == git_count(in_history, revrange) > 100
    assert result["subsystems"] == {
        name: git_count(in_history, revrange, *specs) for name, specs in PATHSPECS.items()
    }
    excluded = [f":(exclude){path}" for path in CLAIMED]
    assert result["root_only"] == git_count(in_history, revrange, ".", *excluded) > 0


def test_json_keeps_the_order_of_the_ranges_and_names_the_map(in_history: Path, owners):
    data = owners("stats", "--json", *reversed(RANGES)).json
    assert [r["range"] for r in data["ranges"]] == list(reversed(RANGES))
    assert data["config"] == "OWNERS.yaml in the working tree"
    assert set(data["ranges"][0]) == {"range", "commits", "subsystems", "root_only", "cross"}


def test_cross_subsystem_commits_are_those_needing_two_requirements(history: Path):
    """Checked against each commit's files, read with git separately."""
    ownership = Ownership(load_config((history / "OWNERS.yaml").read_bytes()))
    log = git(
        history, "log", "--no-merges", "--no-renames", "--name-only", "--format=%x40", RANGES[0]
    )
    commits = [block.split() for block in log.split("@")[1:]]
    expected = sum(
        len({req for path in files for req in ownership.requirements(path)}) >= 2
        for files in commits
    )
    stats = tally(RANGES[0], commits, PathClassifier(ownership))
    assert stats.cross == expected > 0
    assert stats.commits == len(commits)


def test_the_map_at_an_older_revision_lacks_the_later_subsystem(in_history: Path, owners):
    before = owners("stats", "--json", "--config-at", "2013.1", RANGES[1]).json
    now = owners("stats", "--json", RANGES[1]).json
    assert before["config"].startswith("OWNERS.yaml at 2013.1 (")
    assert "hyperv" not in before["ranges"][0]["subsystems"]
    assert now["ranges"][0]["subsystems"]["hyperv"] > 0
    # without a hyperv subsystem its paths under nova/virt/ are virt's, its tests root's
    assert before["ranges"][0]["subsystems"]["virt"] == now["ranges"][0]["subsystems"]["virt"]
    assert before["ranges"][0]["root_only"] > now["ranges"][0]["root_only"]


def test_a_bare_repository_is_judged_by_the_map_at_head(
    history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owners
):
    bare = tmp_path / "nova.git"
    git(tmp_path, "clone", "-q", "--bare", str(history), str(bare))
    monkeypatch.chdir(tmp_path)
    from_bare = owners("stats", "--json", "--repo", str(bare), RANGES[0]).json
    monkeypatch.chdir(history)
    from_checkout = owners("stats", "--json", RANGES[0]).json
    assert from_bare["config"].startswith("OWNERS.yaml at HEAD (")
    assert from_bare["ranges"] == from_checkout["ranges"]


DELEGATING_ROOT = "version: 1\nroot:\n  owners: [carol]\ninclude: [a/OWNERS.yaml]\n"
DELEGATED = "version: 1\nsubsystems:\n  - name: a\n    owners: [alice]\n    paths: [a/]\n"


@pytest.mark.parametrize(
    "where",
    [[], ["--config-at", "HEAD"], ["--config", "OWNERS.yaml"]],
    ids=["working tree", "at a revision", "a named file"],
)
def test_a_map_that_delegates_is_read_with_its_included_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owners, where: list[str]
):
    (tmp_path / "a").mkdir()
    (tmp_path / "OWNERS.yaml").write_text(DELEGATING_ROOT)
    (tmp_path / "a" / "OWNERS.yaml").write_text(DELEGATED)
    (tmp_path / "a" / "x.py").write_text("")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    monkeypatch.chdir(tmp_path)
    result = owners("stats", "--json", *where, "HEAD")
    assert result.code == 0, result.err
    assert result.json["ranges"][0]["subsystems"] == {"a": 1}


def test_text_puts_ranges_in_columns(in_history: Path, owners):
    result = owners("stats", *RANGES[:2])
    lines = result.out.splitlines()
    assert lines[0] == "ownership map: OWNERS.yaml in the working tree"
    assert lines[1].split() == RANGES[:2]
    assert lines[2].startswith("commits (no merges)")
    assert any(line.strip().startswith("xenapi (advisory)") for line in lines)
    assert lines[-1].startswith("needing 2+ requirements")


def test_csv_has_a_row_per_figure(in_history: Path, owners):
    data = owners("stats", "--json", *RANGES).json["ranges"]
    rows = list(csv.reader(io.StringIO(owners("stats", "--csv", *RANGES).out)))
    assert rows[0] == ["figure", *RANGES]
    table = {row[0]: [int(n) for n in row[1:]] for row in rows[1:]}
    assert table["commits"] == [r["commits"] for r in data]
    assert table["subsystem:libvirt"] == [r["subsystems"]["libvirt"] for r in data]
    assert table["cross"] == [r["cross"] for r in data]


@pytest.mark.parametrize(("name", "magic"), [("chart.png", b"\x89PNG"), ("chart.svg", b"<?xml")])
def test_plot_writes_the_chart(in_history: Path, owners, tmp_path: Path, name: str, magic: bytes):
    chart = tmp_path / name
    assert owners("stats", "--plot", str(chart), *RANGES).code == 0
    assert chart.read_bytes().startswith(magic)


def test_merges_do_not_count_and_renames_count_under_both_paths(tmp_path: Path, owners):
    repo = tmp_path / "small"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "master")
    (repo / "OWNERS.yaml").write_text(
        "version: 1\nroot: {owners: [core]}\nsubsystems:\n"
        "  - {name: a, paths: [a/], owners: [ann]}\n  - {name: b, paths: [b/], owners: [ben]}\n"
    )
    (repo / "a").mkdir()
    (repo / "a/x.py").write_text("x\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "tag", "base")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "b").mkdir()
    git(repo, "mv", "a/x.py", "b/x.py")
    git(repo, "commit", "-q", "-m", "move to b")
    git(repo, "checkout", "-q", "master")
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
    git(repo, "merge", "-q", "--no-ff", "side", "-m", "merge")
    result = owners("stats", "--json", "--repo", str(repo), "base..master").json["ranges"][0]
    assert result == {
        "range": "base..master",
        "commits": 2,
        "subsystems": {"a": 1, "b": 1},
        "root_only": 0,
        "cross": 1,
    }


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["no-such-tag..HEAD"], "bad revision 'no-such-tag..HEAD'"),
        (["--config-at", "no-such-rev", "HEAD"], "no OWNERS.yaml at no-such-rev"),
        (["--config-at", "2012.1~1000", "HEAD"], "no OWNERS.yaml at 2012.1~1000"),
        (["--repo", "/nonexistent", "HEAD"], "/nonexistent: no such folder"),
        (["--config", "missing.yaml", "HEAD"], "missing.yaml: No such file or directory"),
    ],
)
def test_bad_input_gets_one_line(in_history: Path, owners, args: list[str], text: str):
    one_line_error(owners("stats", *args), 1, text)


def test_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owners):
    monkeypatch.chdir(tmp_path)
    one_line_error(owners("stats", "HEAD"), 1, "not a git repository")


def test_an_invalid_map_at_the_revision_is_named(in_history: Path, owners, tmp_path: Path):
    broken = tmp_path / "OWNERS.yaml"
    broken.write_text("version: 1\nroot: {owners: [core]}\nsubsystems: [{name: x}]\n")
    one_line_error(owners("stats", "--config", str(broken), "HEAD"), 1, "is invalid:")


def test_history_generator_is_reproducible(tmp_path: Path):
    heads = []
    for name in ("one", "two"):
        novahistory.build(tmp_path / name, commits=300, seed=3)
        heads.append(subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=tmp_path / name))
    assert heads[0] == heads[1]


def test_paths_with_newlines_and_spaces_survive_the_log_parser(tmp_path: Path):
    names = ["\nleading newline", "\nanother", "with space", "tail\n", "ünïcode"]
    git(tmp_path, "init", "-q", "-b", "master")
    for name in names:
        (tmp_path / name).write_text("x")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "odd names")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "empty")
    assert [sorted(paths) for paths in commit_paths(tmp_path, "HEAD")] == [[], sorted(names)]


def test_a_chart_is_png_or_svg(in_history: Path, owners):
    result = owners("stats", "--plot", "chart.pdf", "HEAD")
    one_line_error(result, 2, "'chart.pdf' must end in .png or .svg")
