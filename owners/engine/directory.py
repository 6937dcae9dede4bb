"""Checking OWNERS.yaml's names against the accounts and groups that really exist.

Offline, a bare name that is no alias is taken to be a username, so `hyperv-team` (meant as
an alias, never defined) passes: nothing but Gerrit can say that no such account exists.
The checks here take a lookup function instead of talking to Gerrit, so that `owners
validate --gerrit` and the service judging a proposed OWNERS.yaml run the same pure code
(`owners.gerrit.accounts.Accounts.directory` is the lookup both use).

Identities are exact, as the engine compares them (docs/security.md, rule 2): an entry with
`@` names the account whose email is exactly that string, case included; a bare name names
the account whose username is exactly that string.  A name Gerrit would resolve loosely
(`Alice` for `alice`) is unknown here, because the engine would never match it to a voter.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from owners.engine.model import (
    GERRIT_PREFIX,
    USER_PREFIX,
    Diagnostic,
    Location,
    OwnersConfig,
    Policy,
    Severity,
    Subsystem,
)
from owners.engine.resolution import Ownership


class Standing(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Found:
    """What the directory (Gerrit) says about one identity.

    `accounts` are the IDs of the active accounts it names: one for a person, the active
    members of a group (recursively).  `spelling` is how Gerrit spells a group whose name
    it resolved without regard to case; `near` names accounts that almost match an unknown
    identity (an email differing only in case), for the hint.
    """

    standing: Standing
    accounts: frozenset[int] = frozenset()
    spelling: str | None = None
    near: tuple[str, ...] = ()


Lookup = Callable[[str], Found]
"""Looks up a username (`alice`), an email (`bob@example.org`) or a group
(`gerrit:Nova Core`), exactly as written; the caller caches."""


def identity_of(entry: str, aliases: Iterable[str]) -> str | None:
    """The identity an owners entry names directly, or None for an alias."""
    if entry.startswith(USER_PREFIX):
        return entry[len(USER_PREFIX) :]
    return None if entry in aliases else entry


def remembered(lookup: Lookup) -> Lookup:
    """`lookup` asked once per distinct identity: a file names the same people many times."""
    found: dict[str, Found] = {}

    def look(identity: str) -> Found:
        if identity not in found:
            found[identity] = lookup(identity)
        return found[identity]

    return look


def check_entries(
    config: OwnersConfig, entries: Iterable[tuple[str, Location]], lookup: Lookup
) -> list[Diagnostic]:
    """Unknown and inactive names, at each place they are written."""
    diagnostics: list[Diagnostic] = []
    for entry, where in entries:
        identity = identity_of(entry, config.groups)
        if identity is None or not identity.strip():
            continue
        problem = _problem(identity, lookup(identity))
        if problem is not None:
            message, hint, severity = problem
            diagnostics.append(Diagnostic(where, severity, message, hint))
    return diagnostics


def check_feasibility(config: OwnersConfig, lookup: Lookup) -> list[Diagnostic]:
    """The requirements that the accounts and group members that exist cannot meet.

    Counts distinct active accounts (so `alice` and alice's email are one approver); a group
    that cannot be seen counts as nobody, so a requirement it alone would staff is reported:
    failing closed.  Replaces the offline count, which stops at the first `gerrit:` group.
    """
    ownership = Ownership(config)
    diagnostics = []
    for sub in config.all_subsystems:
        people: set[int] = set()
        for identity, _, _ in ownership.walk_approvers(sub.name):
            people |= lookup(identity).accounts
            if len(people) > sub.approvals:
                break
        else:
            diagnostics += _count(config, sub, len(people))
    return diagnostics


def _problem(identity: str, found: Found) -> tuple[str, str, Severity] | None:
    if identity.startswith(GERRIT_PREFIX):
        name = identity[len(GERRIT_PREFIX) :]
        if found.standing is Standing.UNKNOWN:
            return (
                f"Gerrit group '{name}' does not exist or is not visible",
                "check the name; the bot's account must be able to see the group",
                Severity.ERROR,
            )
        if found.spelling and found.spelling != name:
            return (
                f"Gerrit spells the group '{found.spelling}'",
                f"write gerrit:{found.spelling}",
                Severity.WARNING,
            )
        return None
    email = "@" in identity
    what = f"email '{identity}'" if email else f"username '{identity}'"
    if found.standing is Standing.INACTIVE:
        return (
            f"the account with {what} is inactive in Gerrit",
            "an inactive account cannot vote; remove the entry or reactivate the account",
            Severity.ERROR,
        )
    if found.standing is Standing.ACTIVE:
        return None
    if found.near:
        hint = "identities are exact, case included; Gerrit has " + ", ".join(found.near)
    elif email:
        hint = "no account has exactly this email as its preferred email"
    else:
        hint = "define it under 'groups' if it is an alias, or check the username"
    if email:
        return f"no Gerrit account has the {what}", hint, Severity.ERROR
    return f"'{identity}' is neither an alias nor a Gerrit username", hint, Severity.ERROR


def needs_everyone(approvals: int, eligible: int, policy: Policy) -> bool:
    """Whether a requirement needs every one of its eligible approvers, so that a change by
    one of them can never be approved (their own vote does not count): a team of two or more
    whose every member must approve.  Not said of a lone approver needing one approval: that
    is a one-person project by design (every single-maintainer repository, every fresh
    `owners import` of one), where a warning would fail `--strict` for no mistake; that
    person's own changes need `self_approval` or a second owner, as docs/format.md says."""
    return approvals == eligible > 1 and not policy.self_approval


def _count(config: OwnersConfig, sub: Subsystem, eligible: int) -> list[Diagnostic]:
    where = sub.location or Location(config.source, 1, 1)
    if eligible < sub.approvals:
        return [
            Diagnostic(
                where,
                Severity.ERROR,
                f"requirement of '{sub.name}' can never be met: it needs {sub.approvals} "
                f"approvals but has {eligible} eligible active accounts in Gerrit",
                "add owners or lower 'approvals'",
            )
        ]
    if needs_everyone(sub.approvals, eligible, config.policy):
        return [
            Diagnostic(
                where,
                Severity.WARNING,
                f"'{sub.name}' needs every one of its {eligible} eligible active accounts in "
                "Gerrit, so a change by one of them can never be approved",
                "add another owner",
            )
        ]
    return []
