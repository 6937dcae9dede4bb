"""The resolution benchmark checks every resolver's answers against the engine's: on inputs
meant to be equivalent they agree, and a resolver that answers wrong fails the run."""

from __future__ import annotations

import pytest

from benchmarks import __main__ as bench_main
from benchmarks import resolution
from benchmarks.resolution import RESOLVERS, Plan, Resolver, Size
from benchmarks.stats import SECONDS, fmt
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


def test_the_suggestions_check_catches_a_ranking_that_asks_an_away_owner_needlessly() -> None:
    from benchmarks import suggestions
    from benchmarks.stats import Report as BenchReport
    from owners.engine import Change, ChangedFile, Ownership, evaluate, load_config
    from tests.conftest import NOVA_OWNERS

    ownership = Ownership(load_config(NOVA_OWNERS.read_bytes()))
    core = ("carol", "dave", "erin")
    when = next(
        t
        for t in range(0, 400 * suggestions.DAY, suggestions.DAY)
        if [bool(suggestions.away_until(p, t)) for p in core] == [False, True, False]
    )
    for number in range(1, 50):
        change = Change.of([ChangedFile("nova/compute/api.py")], number=number)
        plain = evaluate(ownership, change)  # distance-only: knows nobody is away
        if "dave" in plain.suggested_reviewers:
            break
    upload = suggestions.Upload(number, when, ("nova/compute/api.py",))
    report = BenchReport("suggestions", "t")
    suggestions._check(ownership, plain, upload, report)
    assert report.errors and "away owners" in report.errors[0]


def test_gini_is_zero_for_equal_load_and_grows_with_concentration() -> None:
    from benchmarks.suggestions import gini

    assert gini([3, 3, 3]) == 0
    assert gini([0, 0, 9]) == pytest.approx(2 / 3)
    assert gini([1, 2, 3]) < gini([0, 1, 5])


def test_a_negative_difference_of_seconds_reads_in_the_unit_of_its_size() -> None:
    assert [fmt(s, SECONDS) for s in (-0.048096, -36.596, 0.0002)] == [
        "-48.1 ms",
        "-36.60 s",
        "200 µs",
    ]
