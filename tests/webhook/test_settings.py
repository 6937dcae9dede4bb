from __future__ import annotations

import re
from pathlib import Path

import pytest

from owners.gerrit.settings import SettingsError
from webhook.jobs import Jobs
from webhook.settings import ServiceSettings

SECRET = "hunter2-very-secret"
BASE = {
    "OWNERS_GERRIT_URL": "https://review.example.org/",
    "OWNERS_GERRIT_USER": "owners-bot",
    "OWNERS_GERRIT_PASSWORD": SECRET,
}


def test_defaults() -> None:
    settings = ServiceSettings.from_env(BASE)
    assert settings.gerrit_url == "https://review.example.org"
    assert settings.user == "owners-bot"
    assert settings.password == SECRET
    assert settings.webhook_token is None
    assert settings.label == "Owner-Approval"
    assert settings.projects == frozenset()
    assert settings.watches("anything")
    assert settings.fallback_owners == ()
    assert settings.add_reviewers is True
    assert settings.max_reviewers == 3


def test_every_variable() -> None:
    settings = ServiceSettings.from_env(
        {
            **BASE,
            "OWNERS_WEBHOOK_TOKEN": "abcdefghijklmnop",
            "OWNERS_LABEL": "Path-Owners",
            "OWNERS_PROJECTS": "nova, glance,,nova",
            "OWNERS_FALLBACK_OWNERS": "carol, gerrit:Nova Core ,dave@example.org",
            "OWNERS_ADD_REVIEWERS": "no",
            "OWNERS_MAX_REVIEWERS": "0",
        }
    )
    assert settings.webhook_token == "abcdefghijklmnop"
    assert settings.label == "Path-Owners"
    assert settings.projects == {"nova", "glance"}
    assert settings.watches("glance") and not settings.watches("cinder")
    assert settings.fallback_owners == ("carol", "gerrit:Nova Core", "dave@example.org")
    assert settings.add_reviewers is False
    assert settings.max_reviewers == 0


def test_gerrit_concurrency_and_cache_sizes(tmp_path: Path) -> None:
    defaults = ServiceSettings.from_env(BASE)
    assert (defaults.gerrit_concurrency, defaults.map_cache, defaults.file_cache) == (8, 32, 256)
    sized = ServiceSettings.from_env(
        {
            **BASE,
            "OWNERS_GERRIT_CONCURRENCY": "3",
            "OWNERS_MAP_CACHE": "500",
            "OWNERS_FILE_CACHE": "4000",
            "OWNERS_QUEUE": str(tmp_path / "queue.db"),
        }
    )
    assert (sized.gerrit_concurrency, sized.map_cache, sized.file_cache) == (3, 500, 4000)
    jobs = Jobs(sized)
    assert jobs.service.maps.in_memory == 500
    assert jobs.service.gerrit.projects.cache_size == 4000
    with pytest.raises(SettingsError, match="OWNERS_MAP_CACHE"):
        ServiceSettings.from_env({**BASE, "OWNERS_MAP_CACHE": "many"})


def test_password_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    env = {k: v for k, v in BASE.items() if k != "OWNERS_GERRIT_PASSWORD"}
    settings = ServiceSettings.from_env({**env, "OWNERS_GERRIT_PASSWORD_FILE": str(secret_file)})
    assert settings.password == SECRET


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"OWNERS_GERRIT_URL": ""}, "OWNERS_GERRIT_URL is required"),
        ({"OWNERS_GERRIT_URL": "review.example.org"}, "must be an http:// or https:// URL"),
        ({"OWNERS_GERRIT_URL": f"https://bot:{SECRET}@x.org"}, "must not contain credentials"),
        ({"OWNERS_GERRIT_USER": " "}, "OWNERS_GERRIT_USER is required"),
        ({"OWNERS_GERRIT_PASSWORD": ""}, "OWNERS_GERRIT_PASSWORD_FILE (or OWNERS_GERRIT_PASSWORD)"),
        ({"OWNERS_GERRIT_PASSWORD_FILE": "/x"}, "not both"),
        ({"OWNERS_WEBHOOK_TOKEN": "short"}, "OWNERS_WEBHOOK_TOKEN must be at least 16"),
        ({"OWNERS_WEBHOOK_TOKEN": "a/b" * 8}, "OWNERS_WEBHOOK_TOKEN must be at least 16"),
        ({"OWNERS_LABEL": "Owner Approval"}, "OWNERS_LABEL 'Owner Approval' is not"),
        ({"OWNERS_FALLBACK_OWNERS": "gerrit:"}, "'gerrit:' needs a group name"),
        ({"OWNERS_FALLBACK_OWNERS": "a b"}, "'a b' is not a username"),
        ({"OWNERS_ADD_REVIEWERS": "maybe"}, "OWNERS_ADD_REVIEWERS must be true or false"),
        ({"OWNERS_MAX_REVIEWERS": "-1"}, "OWNERS_MAX_REVIEWERS must be a whole number"),
    ],
)
def test_errors_are_one_line_and_name_the_variable(change: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        ServiceSettings.from_env({**BASE, **change})
    text = str(error.value)
    assert message in text
    assert "\n" not in text
    assert SECRET not in text


def test_unreadable_password_file_does_not_leak_anything(tmp_path: Path) -> None:
    env = {k: v for k, v in BASE.items() if k != "OWNERS_GERRIT_PASSWORD"}
    missing = tmp_path / "nope"
    with pytest.raises(SettingsError, match="cannot read OWNERS_GERRIT_PASSWORD_FILE"):
        ServiceSettings.from_env({**env, "OWNERS_GERRIT_PASSWORD_FILE": str(missing)})


def test_secrets_never_appear_in_repr() -> None:
    settings = ServiceSettings.from_env({**BASE, "OWNERS_WEBHOOK_TOKEN": "tok-abcdefghijklmnop"})
    assert SECRET not in repr(settings)
    assert "tok-abcdefghijklmnop" not in repr(settings)
    assert "owners-bot" in repr(settings)


def test_settings_are_frozen() -> None:
    settings = ServiceSettings.from_env(BASE)
    with pytest.raises(AttributeError):
        settings.password = "x"  # type: ignore[misc]


def test_the_branch_scope_and_the_override_label() -> None:
    found = ServiceSettings.from_env({**BASE, "OWNERS_BRANCHES": "master, stable/*"})
    assert found.branches == ("master", "stable/*")
    assert found.override_label == "Owners-Override"
    assert ServiceSettings.from_env(BASE).branches == ()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("OWNERS_BRANCHES", "refs/heads/master", "OWNERS_BRANCHES: 'refs/heads/master'"),
        ("OWNERS_BRANCHES", "stable/(x)", "is not a branch glob"),
        ("OWNERS_OVERRIDE_LABEL", "Owner-Approval", "other than OWNERS_LABEL"),
        ("OWNERS_OVERRIDE_LABEL", "bad label", "must be a Gerrit label name"),
    ],
)
def test_a_wrong_scope_or_override_label_stops_the_service(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        ServiceSettings.from_env({**BASE, name: value})
