"""What the reviewer ranking reads of people from Gerrit (`owners.gerrit.people`): an away
status by the site's pattern, inactive accounts, open reviews not yet voted on; bounded and
cached calls, and a failed read that ranks a person as unknown."""

from __future__ import annotations

import pytest

from owners.engine.suggestion import Acquaintance
from owners.gerrit.connection import GerritConnection
from owners.gerrit.settings import Settings, SettingsError
from tests.webhook.conftest import FakeGerrit, HTTPStatus, account, change_info, settings


def people(gerrit: FakeGerrit, **overrides):
    return GerritConnection(settings(**overrides), rest=gerrit).people


@pytest.mark.parametrize(
    ("status", "away"),
    [
        ("away until 12 Dec", True),
        ("Out of office, back Monday", True),
        ("OOO", True),
        ("on leave", True),
        ("Reviewing hyperv daily", False),
        ("", False),
    ],
)
def test_an_away_status_is_read_by_the_default_pattern(status: str, away: bool) -> None:
    gerrit = FakeGerrit()
    gerrit.accounts["dave"] = {**account("dave"), **({"status": status} if status else {})}
    assert people(gerrit).availability("dave") == (status if away else "")


def test_the_pattern_is_the_admins_to_set() -> None:
    gerrit = FakeGerrit()
    gerrit.accounts["dave"] = {**account("dave"), "status": "en congé"}
    assert people(gerrit).availability("dave") == ""
    assert people(gerrit, away_pattern=r"(?i)cong[ée]").availability("dave") == "en congé"
    with pytest.raises(SettingsError, match="OWNERS_AWAY_PATTERN"):
        Settings.from_env({"OWNERS_GERRIT_URL": "http://g.invalid", "OWNERS_GERRIT_USER": "b",
                           "OWNERS_GERRIT_PASSWORD": "p", "OWNERS_AWAY_PATTERN": "("})  # fmt: skip


def test_an_inactive_account_is_unavailable_and_an_unknown_one_is_not() -> None:
    gerrit = FakeGerrit()
    gerrit.accounts["dave"] = {**account("dave"), "inactive": True}
    assert people(gerrit).availability("dave") == "inactive account"
    assert people(gerrit).availability("nobody") == ""


def test_open_reviews_count_only_changes_not_yet_voted_on() -> None:
    gerrit = FakeGerrit()
    waiting = change_info(1, {"nova/compute/api.py": {}}, {}, owner="uma")
    voted = change_info(2, {"nova/compute/api.py": {}}, {"erin": 1}, owner="uma")
    gerrit.add_change(waiting)
    gerrit.add_change(voted)
    assert people(gerrit).open_reviews("erin") == 1


def test_answers_are_cached_and_a_failure_ranks_as_unknown() -> None:
    gerrit = FakeGerrit()
    gerrit.accounts["dave"] = {**account("dave"), "status": "away"}
    reader = people(gerrit)
    know = reader.acquaintance("nova", "master", ["nova/compute/api.py"])
    assert know("dave").away == "away"
    calls = len(gerrit.log)
    assert know("dave").away == "away"
    assert len(gerrit.log) == calls
    gerrit.outage = HTTPStatus(500)
    fresh = people(gerrit).acquaintance("nova", "master", ["nova/compute/api.py"])
    assert fresh("carol") == Acquaintance()


def test_a_status_is_shown_as_one_short_printable_line() -> None:
    gerrit = FakeGerrit()
    gerrit.accounts["dave"] = {**account("dave"), "status": "away\x1b[2J\nuntil " + "x" * 200}
    shown = people(gerrit).availability("dave")
    assert shown.startswith("away [2J until ") and len(shown) <= 80
    assert all(c.isprintable() for c in shown)


def test_the_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from owners.gerrit import people as module

    monkeypatch.setattr(module, "CACHE_ENTRIES", 5)
    gerrit = FakeGerrit()
    reader = people(gerrit)
    for n in range(20):
        reader.availability(f"person{n}")
    assert len(reader._memo._cache) <= 5  # type: ignore[attr-defined]
