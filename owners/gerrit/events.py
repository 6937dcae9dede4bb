"""Gerrit webhooks-plugin payloads turned into small typed events.

The payload is the JSON that `gerrit stream-events` prints.  Only which change or branch it
is about, and who acted, is taken from it: everything that decides a verdict is re-read from
Gerrit's REST API, because a webhook can be late, replayed or forged by whoever has the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ZERO_REV = "0" * 40
MAX_NUMBER = 2**31 - 1  # Gerrit numbers changes with a Java int

# Each handled change event and the attribute that names who caused it.
CHANGE_EVENTS: Mapping[str, str] = {
    "patchset-created": "uploader",
    "comment-added": "author",
    "vote-deleted": "remover",
    "change-restored": "restorer",
    "wip-state-changed": "changer",
    "private-state-changed": "changer",
    "reviewer-added": "adder",
    # Removing a reviewer removes their votes without a vote-deleted event.
    "reviewer-deleted": "remover",
    # A closed change needs no verdict, but the changes built on it do (`MOVES_DEPENDENTS`).
    "change-abandoned": "abandoner",
    "change-merged": "submitter",
    # The bot's `owners-needs-*` hashtags, edited by someone else, are set right again.
    "hashtags-changed": "editor",
}
# The events after which every open change whose current revision has one of this change's
# revisions (any patch set) as a parent is judged again: that parent has just stopped, or
# started, being the current patch set of an open change, or landed.
MOVES_DEPENDENTS = frozenset(
    {"patchset-created", "change-abandoned", "change-restored", "change-merged"}
)
REF_UPDATED = "ref-updated"
HANDLED = (*CHANGE_EVENTS, REF_UPDATED)
GROUP_REFS = "refs/groups/"  # in All-Users: refs/groups/<first two of the UUID>/<UUID>
ACCOUNT_REFS = "refs/users/"  # in All-Users: refs/users/<last two digits of the ID>/<ID>


class MalformedEvent(ValueError):
    """A payload that is not a well-formed Gerrit event; the message is one line."""


@dataclass(frozen=True)
class Actor:
    username: str | None = None
    email: str | None = None

    def is_user(self, username: str) -> bool:
        return self.username is not None and self.username == username


@dataclass(frozen=True)
class ChangeEvent:
    type: str
    project: str
    branch: str
    change_number: int
    change_id: str
    actor: Actor


@dataclass(frozen=True)
class RefUpdated:
    project: str
    ref: str
    old_rev: str
    new_rev: str
    actor: Actor

    @property
    def branch(self) -> str | None:
        """The branch a `refs/heads/` ref names; None for any other ref."""
        return self.ref[len("refs/heads/") :] if self.ref.startswith("refs/heads/") else None

    @property
    def deleted(self) -> bool:
        return self.new_rev == ZERO_REV


@dataclass(frozen=True)
class GroupChanged:
    """A Gerrit group's ref in All-Users moved: its members, included groups, name or owner
    may have changed.  Gerrit sends no other event for a membership change, and votes of
    removed members must stop counting at once, not when the member cache expires."""

    project: str  # the All-Users project (its name is configurable in Gerrit)
    group_uuid: str
    ref: str
    old_rev: str
    new_rev: str
    actor: Actor


@dataclass(frozen=True)
class AccountChanged:
    """A Gerrit account's ref in All-Users moved: it may have been deactivated (or
    reactivated), and a deactivated account's votes must stop counting at once on every open
    change where they counted."""

    project: str  # the All-Users project
    account_id: int
    ref: str
    old_rev: str
    new_rev: str
    actor: Actor


Event = ChangeEvent | RefUpdated | GroupChanged | AccountChanged


def parse_event(payload: object) -> Event | None:
    """The typed event, or None for a well-formed event of a type the service ignores.

    Raises `MalformedEvent` with a one-line reason for anything that is not a Gerrit event.
    """
    body = _mapping(payload, "event")
    kind = _string(body, "type", "event")
    if kind == REF_UPDATED:
        return _ref_updated(body)
    if kind not in CHANGE_EVENTS:
        return None
    change = _mapping(body.get("change"), "change")
    number = change.get("number")
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= MAX_NUMBER:
        raise MalformedEvent("change.number must be a positive integer")
    return ChangeEvent(
        type=kind,
        project=_string(change, "project", "change"),
        branch=_branch(_string(change, "branch", "change")),
        change_number=number,
        change_id=_string(change, "id", "change"),
        actor=_actor(body.get(CHANGE_EVENTS[kind]), CHANGE_EVENTS[kind]),
    )


def _ref_updated(body: Mapping[str, Any]) -> RefUpdated | GroupChanged | AccountChanged:
    update = _mapping(body.get("refUpdate"), "refUpdate")
    ref = _string(update, "refName", "refUpdate")
    if not ref.startswith("refs/"):
        ref = "refs/heads/" + ref  # Gerrit before 2.13 sent short branch names
    event = RefUpdated(
        project=_string(update, "project", "refUpdate"),
        ref=ref,
        old_rev=_revision(update, "oldRev"),
        new_rev=_revision(update, "newRev"),
        actor=_actor(body.get("submitter"), "submitter"),
    )
    uuid = group_uuid(ref)
    if uuid is not None:
        return GroupChanged(event.project, uuid, ref, event.old_rev, event.new_rev, event.actor)
    number = account_id(ref)
    if number is not None:
        return AccountChanged(event.project, number, ref, event.old_rev, event.new_rev, event.actor)
    return event


def group_uuid(ref: str) -> str | None:
    """The group UUID a sharded `refs/groups/ab/abcd...` ref names; None for any other ref.

    Only the exact sharding Gerrit writes counts: a ref that merely starts with
    `refs/groups/` names no group Gerrit knows, so it must not trigger work.
    """
    if not ref.startswith(GROUP_REFS):
        return None
    shard, _, uuid = ref[len(GROUP_REFS) :].partition("/")
    if len(shard) != 2 or not uuid.startswith(shard) or "/" in uuid:
        return None
    return uuid


def account_id(ref: str) -> int | None:
    """The account ID a sharded `refs/users/34/1000034` ref names; None for any other ref
    (`refs/users/default`, a change edit's `refs/users/34/1000034/edit-5/1`)."""
    if not ref.startswith(ACCOUNT_REFS):
        return None
    shard, _, number = ref[len(ACCOUNT_REFS) :].partition("/")
    if len(shard) != 2 or not shard.isdigit() or not number.isdigit() or number[0] == "0":
        return None
    if len(number) > 10 or int(number) > MAX_NUMBER or f"{int(number) % 100:02d}" != shard:
        return None
    return int(number)


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"{what} must be a JSON object")
    return value


def _string(body: Mapping[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise MalformedEvent(f"{what}.{key} must be a non-empty string")
    if any(c in value for c in "\x00\r\n"):
        raise MalformedEvent(f"{what}.{key} contains control characters")
    if not _encodable(value):
        raise MalformedEvent(f"{what}.{key} is not valid Unicode")
    return value


def _encodable(value: str) -> bool:
    """False for strings JSON allows but UTF-8 does not (lone surrogates like \\ud800)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _branch(name: str) -> str:
    return name[len("refs/heads/") :] if name.startswith("refs/heads/") else name


def _revision(update: Mapping[str, Any], key: str) -> str:
    value = _string(update, key, "refUpdate")
    if len(value) not in (40, 64) or any(c not in "0123456789abcdef" for c in value):
        raise MalformedEvent(f"refUpdate.{key} must be a hex commit id")
    return value


def _actor(value: object, what: str) -> Actor:
    """Who acted; absent for events Gerrit raises itself (e.g. a submit by the server)."""
    if value is None:
        return Actor()
    account = _mapping(value, what)
    fields = {}
    for key in ("username", "email"):
        item = account.get(key)
        if item is not None and (not isinstance(item, str) or not _encodable(item)):
            raise MalformedEvent(f"{what}.{key} must be a string")
        fields[key] = item or None
    return Actor(**fields)
