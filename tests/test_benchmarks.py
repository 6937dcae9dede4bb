"""The resolution benchmark checks every resolver's answers against the engine's: on inputs
meant to be equivalent they agree, and a resolver that answers wrong fails the run."""

from __future__ import annotations

import pytest

from benchmarks import __main__ as bench_main
from benchmarks import resolution
from benchmarks.resolution import RESOLVERS, Plan, Resolver, Size
from owners.engine.model import ROOT

TINY = Plan([Size(2_000, 60)], repeats=1, change_sample=5, tree_sample=40, tree_repeats=1)


def _wrong(codeowners: str) -> resolution.Answer:
    """Right except for files under `chrome/`, which it gives to root."""
    right = resolution._codeowners(codeowners)
    return lambda path: ROOT if path.startswith("chrome/") else right(path)


WRONG = Resolver("wrong", lambda rules: rules.codeowners, _wrong, sampled=True)


def test_the_four_resolvers_agree_on_every_measured_path() -> None:
    report = resolution.run(True, plan=TINY)
    assert report.errors == []
    [table] = report.tables
    assert table.columns == ("", "engine", "naive", "pathspec", "codeowners")
    assert [row[0] for row in table.rows] == [
        "compile", "change of 1 file", "change of 100 files", "change of 1,000 files",
        "whole tree",
    ]  # fmt: skip


def test_the_generated_rule_set_needs_one_owner_per_path_and_some_paths_of_root() -> None:
    paths = resolution.tree(2_000)
    answer = resolution._ownership(resolution.IndexedMatcher)(
        resolution._yaml(resolution.rule_set(paths, 60))
    )
    answers = [answer(p) for p in paths]
    assert not [a for a in answers if "+" in a]
    assert ROOT in answers and len(set(answers)) > 30


def test_a_resolver_answering_wrong_is_reported() -> None:
    report = resolution.run(True, plan=TINY, peers=[RESOLVERS[0], WRONG])
    assert report.errors
    assert all(", wrong says root" in error for error in report.errors)
    assert report.errors[0].startswith("2,000 paths x 60 subsystems: chrome/")


@pytest.mark.parametrize(("peers", "status"), [(RESOLVERS, 0), ([RESOLVERS[0], WRONG], 1)])
def test_the_command_fails_on_wrong_answers_only(
    tmp_path, monkeypatch: pytest.MonkeyPatch, peers: list[Resolver], status: int
) -> None:
    monkeypatch.setattr(
        bench_main,
        "BENCHMARKS",
        {"resolution": lambda q: resolution.run(q, plan=TINY, peers=peers)},
    )
    output = tmp_path / "BENCH.md"
    assert bench_main.main(["--quick", "--output", str(output)]) == status
    text = output.read_text()
    assert "python -m benchmarks --quick --output" in text
    assert ("wrong answer" in text) == bool(status)
