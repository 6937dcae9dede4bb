"""The site's settings, read once from `OWNERS_*` environment variables: where Gerrit is, the
bot's account, its label and scope.  What the bot, the submit check, the pages and the CLI's
Gerrit commands share; the service adds its queue's (`webhook.settings`).

Every problem is reported as one line naming the variable, so a unit that fails to start says
why in its journal.  The password and the webhook token are secrets: they are kept out of
`repr`, logs and every error message.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from owners.engine.config import LABEL_NAME

PREFIX = "OWNERS_"
DEFAULT_LABEL = "Owner-Approval"
DEFAULT_OVERRIDE_LABEL = "Owners-Override"
DEFAULT_MAX_REVIEWERS = 3
MIN_TOKEN_LENGTH = 16
DEFAULT_AWAY_PATTERN = (
    r"(?i)\b(away|out of (the )?office|ooo|on leave|vacation|holidays?|sabbatical)\b"
)

_TOKEN_RE = re.compile(r"[A-Za-z0-9._~-]+\Z")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A missing or invalid setting; the message is one line and never contains a secret."""


@dataclass(frozen=True)
class Settings:
    gerrit_url: str
    user: str
    password: str = field(repr=False)
    # in the URL Gerrit posts events to (`owners gerrit-setup` writes it there)
    webhook_token: str | None = field(default=None, repr=False)
    label: str = DEFAULT_LABEL
    projects: frozenset[str] = frozenset()  # empty: every project
    fallback_owners: tuple[str, ...] = ()
    add_reviewers: bool = True
    max_reviewers: int = DEFAULT_MAX_REVIEWERS
    override_label: str = DEFAULT_OVERRIDE_LABEL  # the break-glass label (owners gerrit-setup)
    # The Gerrit group whose override votes count (and the only one the setup lets vote);
    # None: no override counts, whoever votes the label.
    override_group: str | None = None
    branches: tuple[str, ...] = ()  # globs of the branches voted on; empty: every branch
    # Where people reach the web pages (e.g. https://owners.example.org); the bot's comment
    # links a change's page there.  None: no link.
    public_url: str | None = None
    # the account status texts that mean "away" to the reviewer suggestions (owners.gerrit.people)
    away_pattern: str = DEFAULT_AWAY_PATTERN

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read the settings; raise `SettingsError` naming the first bad variable."""
        return cls(**cls.read_env(os.environ if environ is None else environ))

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """Each field's value from `env`, checked; a subclass adds its own."""

        def get(name: str) -> str:
            return setting(env, name)

        url = get("GERRIT_URL")
        if not url:
            raise SettingsError("OWNERS_GERRIT_URL is required (e.g. https://review.example.org)")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError("OWNERS_GERRIT_URL must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise SettingsError(
                "OWNERS_GERRIT_URL must not contain credentials; use OWNERS_GERRIT_USER and "
                "OWNERS_GERRIT_PASSWORD_FILE"
            )
        user = get("GERRIT_USER")
        if not user:
            raise SettingsError("OWNERS_GERRIT_USER is required (the bot's Gerrit username)")
        token = get("WEBHOOK_TOKEN") or None
        if token is not None and (len(token) < MIN_TOKEN_LENGTH or not _TOKEN_RE.match(token)):
            raise SettingsError(
                f"OWNERS_WEBHOOK_TOKEN must be at least {MIN_TOKEN_LENGTH} characters of "
                "A-Z a-z 0-9 . _ ~ - (e.g. from `openssl rand -hex 32`)"
            )
        label = get("LABEL") or DEFAULT_LABEL
        if not LABEL_NAME.match(label):
            raise SettingsError(f"OWNERS_LABEL '{label}' is not a Gerrit label name")
        override = get("OVERRIDE_LABEL") or DEFAULT_OVERRIDE_LABEL
        if not LABEL_NAME.match(override) or override == label:
            raise SettingsError(
                f"OWNERS_OVERRIDE_LABEL '{override}' must be a Gerrit label name other than "
                "OWNERS_LABEL"
            )
        return dict(
            override_label=override,
            override_group=get("OVERRIDE_GROUP") or None,
            branches=_branches(get("BRANCHES")),
            gerrit_url=url.rstrip("/"),
            user=user,
            password=_password(env),
            webhook_token=token,
            label=label,
            projects=frozenset(_list(get("PROJECTS"))),
            fallback_owners=_fallback_owners(get("FALLBACK_OWNERS")),
            add_reviewers=_boolean("OWNERS_ADD_REVIEWERS", get("ADD_REVIEWERS"), default=True),
            max_reviewers=whole_number(
                "OWNERS_MAX_REVIEWERS", get("MAX_REVIEWERS"), DEFAULT_MAX_REVIEWERS
            ),
            public_url=_public_url(get("PUBLIC_URL")),
            away_pattern=_away_pattern(get("AWAY_PATTERN")),
        )

    def in_scope(self, branch: str) -> bool:
        """Whether the service votes on changes of `branch` (`OWNERS_BRANCHES`): a change
        outside the scope gets no vote, and the submit requirement does not apply to it."""
        return not self.branches or any(fnmatch.fnmatchcase(branch, g) for g in self.branches)

    def watches(self, project: str) -> bool:
        return not self.projects or project in self.projects

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never reach a log line, an error or a metric."""
        return tuple(s for s in (self.password, self.webhook_token) if s)


def _password(env: Mapping[str, str]) -> str:
    inline = env.get(PREFIX + "GERRIT_PASSWORD", "")
    path = env.get(PREFIX + "GERRIT_PASSWORD_FILE", "").strip()
    if inline and path:
        raise SettingsError("set OWNERS_GERRIT_PASSWORD or OWNERS_GERRIT_PASSWORD_FILE, not both")
    if path:
        try:
            inline = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(
                f"cannot read OWNERS_GERRIT_PASSWORD_FILE {path}: {exc.strerror or 'error'}"
            ) from None
        except UnicodeDecodeError:
            raise SettingsError(f"OWNERS_GERRIT_PASSWORD_FILE {path} is not UTF-8") from None
    password = inline.strip()
    if not password:
        raise SettingsError(
            "OWNERS_GERRIT_PASSWORD_FILE (or OWNERS_GERRIT_PASSWORD) is required: the bot's "
            "HTTP password"
        )
    return password


def _branches(value: str) -> tuple[str, ...]:
    """`OWNERS_BRANCHES`: branch-name globs (`master,stable/*`), without `refs/heads/`."""
    globs = _list(value)
    for glob in globs:
        if glob.startswith("refs/") or any(c in glob for c in '"\\ ()[]{}^$'):
            raise SettingsError(
                f"OWNERS_BRANCHES: '{glob}' is not a branch glob (write master or stable/*)"
            )
    return globs


def _list(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))


def _fallback_owners(value: str) -> tuple[str, ...]:
    owners = _list(value)
    for owner in owners:
        if owner.startswith("gerrit:"):
            if not owner[len("gerrit:") :].strip():
                raise SettingsError("OWNERS_FALLBACK_OWNERS: 'gerrit:' needs a group name")
        elif any(c.isspace() for c in owner):
            raise SettingsError(
                f"OWNERS_FALLBACK_OWNERS: '{owner}' is not a username, email or gerrit:<Group>"
            )
    return owners


def _boolean(name: str, value: str, default: bool) -> bool:
    if not value:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, not '{value}'")


def setting(env: Mapping[str, str], name: str) -> str:
    """The value of `OWNERS_<name>`, stripped; empty when unset."""
    return env.get(PREFIX + name, "").strip()


def whole_number(name: str, value: str, default: int) -> int:
    if not value:
        return default
    if not value.isdigit():
        raise SettingsError(f"{name} must be a whole number, not '{value}'")
    return int(value)


def _away_pattern(value: str) -> str:
    """`OWNERS_AWAY_PATTERN`: a Python regular expression searched in account status texts."""
    if not value:
        return DEFAULT_AWAY_PATTERN
    try:
        re.compile(value)
    except re.error as exc:
        raise SettingsError(f"OWNERS_AWAY_PATTERN is not a regular expression: {exc}") from None
    return value


def _public_url(value: str) -> str | None:
    """OWNERS_PUBLIC_URL: an http(s) URL without credentials, query or fragment."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError("OWNERS_PUBLIC_URL must be an http:// or https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SettingsError("OWNERS_PUBLIC_URL must not hold credentials, a query or a fragment")
    return value.rstrip("/")
