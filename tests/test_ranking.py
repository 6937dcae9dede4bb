"""Whom to ask, knowing people (`owners.engine.suggestion`): availability, then load, then
familiarity, then the seeded hash; the ranking changes who is asked, never who may approve."""

from __future__ import annotations

from owners.engine import evaluate
from owners.engine.suggestion import Acquaintance, explain, rank_key
from tests.test_semantics import NOVA, change

CORE_FILE = ["nova/compute/api.py"]  # root: nova-core (carol, dave, erin), 2 approvals


def knowing(**people: Acquaintance):
    return lambda person: people.get(person, Acquaintance())


def test_an_away_owner_is_not_asked_when_others_can_cover():
    for number in range(1, 40):
        result = evaluate(
            NOVA,
            change(CORE_FILE, number=number),
            acquaintance=knowing(dave=Acquaintance(away="away until 12 Dec")),
        )
        assert set(result.suggested_reviewers) == {"carol", "erin"}


def test_an_away_owner_is_still_asked_when_nobody_else_can_approve():
    away = Acquaintance(away="out of office")
    result = evaluate(
        NOVA,
        change(CORE_FILE, number=7),
        acquaintance=knowing(carol=away, dave=away, erin=Acquaintance(open_reviews=3)),
    )
    assert len(result.suggested_reviewers) == 2
    assert "erin" in result.suggested_reviewers


def test_the_least_loaded_owners_are_asked_first():
    for number in range(1, 40):
        result = evaluate(
            NOVA,
            change(CORE_FILE, number=number),
            acquaintance=knowing(
                carol=Acquaintance(open_reviews=9), erin=Acquaintance(open_reviews=2)
            ),
        )
        assert set(result.suggested_reviewers) == {"dave", "erin"}


def test_familiarity_decides_between_equally_loaded_owners():
    for number in range(1, 40):
        result = evaluate(
            NOVA,
            change(CORE_FILE, number=number),
            suggestions=1,
            acquaintance=knowing(erin=Acquaintance(familiarity=4)),
        )
        assert result.suggested_reviewers == ("erin",)


def test_without_acquaintance_the_ranking_is_the_distance_only_one():
    for number in range(1, 20):
        plain = evaluate(NOVA, change(CORE_FILE, number=number))
        known = evaluate(NOVA, change(CORE_FILE, number=number), acquaintance=knowing())
        assert plain.suggested_reviewers == known.suggested_reviewers
        assert plain.suggestion_why == ""


def test_a_subsystems_own_available_owner_comes_before_its_ancestors():
    # hyperv: alice and bob, then virt (lena, victor), then nova-core: one approval
    result = evaluate(
        NOVA,
        change(["nova/virt/hyperv/driver.py"], number=3),
        acquaintance=knowing(
            alice=Acquaintance(away="away"), **{"bob@example.org": Acquaintance(open_reviews=20)}
        ),
    )
    assert result.suggested_reviewers == ("bob@example.org",)


def test_the_ranking_is_deterministic_for_a_seed_and_spread_across_seeds():
    people = ["carol", "dave", "erin"]
    first = sorted(people, key=lambda p: rank_key(p, Acquaintance(), 42))
    assert first == sorted(people, key=lambda p: rank_key(p, Acquaintance(), 42))
    orders = {
        tuple(sorted(people, key=lambda p: rank_key(p, Acquaintance(), seed))) for seed in range(30)
    }
    assert len(orders) > 1


def test_the_explanation_names_each_candidate_and_why():
    result = evaluate(
        NOVA,
        change(CORE_FILE, number=5),
        acquaintance=knowing(
            dave=Acquaintance(away="away until 12 Dec"),
            erin=Acquaintance(open_reviews=2),
            carol=Acquaintance(open_reviews=9, familiarity=1),
        ),
    )
    assert result.suggestion_why == (
        "erin: 2 open reviews; carol: 9 open reviews, 1 recent change here; dave: away until 12 Dec"
    )
    assert explain(["x"], knowing(x=Acquaintance(open_reviews=1))) == "x: 1 open review"


def test_ranking_never_changes_who_may_approve():
    away = Acquaintance(away="away")
    plain = evaluate(NOVA, change(CORE_FILE, number=1))
    ranked = evaluate(
        NOVA,
        change(CORE_FILE, number=1),
        acquaintance=knowing(carol=away, dave=away, erin=away),
    )
    assert [r.eligible for r in plain.requirements] == [r.eligible for r in ranked.requirements]
    assert plain.verdict is ranked.verdict


def test_when_a_whole_team_is_away_its_parents_owners_are_asked():
    away = Acquaintance(away="on leave")
    result = evaluate(
        NOVA,
        change(["nova/virt/hyperv/driver.py"], number=3),
        acquaintance=knowing(alice=away, **{"bob@example.org": away}),
    )
    assert len(result.suggested_reviewers) == 1
    assert result.suggested_reviewers[0] in {"lena", "victor"}  # virt, hyperv's parent
