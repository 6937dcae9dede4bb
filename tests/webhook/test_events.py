from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from owners.gerrit.events import (
    CHANGE_EVENTS,
    AccountChanged,
    Actor,
    ChangeEvent,
    GroupChanged,
    MalformedEvent,
    RefUpdated,
    parse_event,
)

RECORDED = sorted((Path(__file__).parent.parent / "fixtures" / "events").glob("*.json"))

ALICE = {"name": "Alice", "email": "alice@example.org", "username": "alice"}
CHANGE = {
    "project": "nova",
    "branch": "master",
    "id": "I8473b95934b5732ac55d26311a706c9c2bde9940",
    "number": 42,
    "subject": "hyperv: move helpers",
    "owner": ALICE,
    "url": "http://gerrit.invalid/c/nova/+/42",
    "status": "NEW",
}


def change_event(kind: str, **extra: Any) -> dict[str, Any]:
    """A payload shaped like Gerrit's stream-events JSON (what the webhooks plugin posts)."""
    payload = {
        "type": kind,
        "change": dict(CHANGE),
        "patchSet": {"number": 3, "revision": "5a8f" * 10, "ref": "refs/changes/42/42/3"},
        "project": "nova",
        "refName": "refs/heads/master",
        "changeKey": {"key": CHANGE["id"]},
        "eventCreatedOn": 1736500000,
        CHANGE_EVENTS[kind]: ALICE,
    }
    payload.update(extra)
    return payload


REF_UPDATED = {
    "type": "ref-updated",
    "submitter": ALICE,
    "refUpdate": {
        "oldRev": "1" * 40,
        "newRev": "2" * 40,
        "refName": "refs/heads/stable/2025",
        "project": "nova",
    },
    "eventCreatedOn": 1736500000,
}


@pytest.mark.parametrize("kind", sorted(CHANGE_EVENTS))
def test_every_handled_change_event_names_its_change_and_actor(kind: str) -> None:
    event = parse_event(change_event(kind))
    assert event == ChangeEvent(
        type=kind,
        project="nova",
        branch="master",
        change_number=42,
        change_id=CHANGE["id"],
        actor=Actor("alice", "alice@example.org"),
    )


def test_ref_updated_names_branch_and_revisions() -> None:
    event = parse_event(REF_UPDATED)
    assert event == RefUpdated(
        "nova", "refs/heads/stable/2025", "1" * 40, "2" * 40, Actor("alice", "alice@example.org")
    )
    assert isinstance(event, RefUpdated)
    assert event.branch == "stable/2025"
    assert not event.deleted


def test_ref_updated_short_branch_names_of_old_gerrits_are_normalized() -> None:
    payload = copy.deepcopy(REF_UPDATED)
    payload["refUpdate"]["refName"] = "master"
    event = parse_event(payload)
    assert isinstance(event, RefUpdated)
    assert event.ref == "refs/heads/master"


def test_ref_updated_on_meta_config_and_deletion() -> None:
    payload = copy.deepcopy(REF_UPDATED)
    payload["refUpdate"].update(refName="refs/meta/config", newRev="0" * 40)
    event = parse_event(payload)
    assert isinstance(event, RefUpdated)
    assert event.branch is None
    assert event.deleted


@pytest.mark.parametrize("kind", ["topic-changed", "x"])
def test_other_event_types_are_ignored(kind: str) -> None:
    assert parse_event({"type": kind, "change": "anything"}) is None


def test_an_event_without_actor_has_an_anonymous_actor() -> None:
    payload = change_event("comment-added")
    del payload["author"]
    event = parse_event(payload)
    assert isinstance(event, ChangeEvent)
    assert event.actor == Actor()
    assert not event.actor.is_user("owners-bot")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.clear(), "event.type must be a non-empty string"),
        (lambda p: p.update(type=7), "event.type must be a non-empty string"),
        (lambda p: p.pop("change"), "change must be a JSON object"),
        (lambda p: p["change"].update(number="42"), "change.number must be a positive integer"),
        (lambda p: p["change"].update(number=True), "change.number must be a positive integer"),
        (lambda p: p["change"].update(number=0), "change.number must be a positive integer"),
        (lambda p: p["change"].pop("project"), "change.project must be a non-empty string"),
        (lambda p: p["change"].update(branch=""), "change.branch must be a non-empty string"),
        (lambda p: p["change"].update(branch="a\nb"), "change.branch contains control characters"),
        (lambda p: p.update(author="alice"), "author must be a JSON object"),
        (lambda p: p["author"].update(username=["x"]), "author.username must be a string"),
    ],
)
def test_malformed_change_events_say_why_in_one_line(mutate: Any, reason: str) -> None:
    payload = copy.deepcopy(change_event("comment-added"))
    payload["author"] = dict(ALICE)
    mutate(payload)
    with pytest.raises(MalformedEvent) as error:
        parse_event(payload)
    assert str(error.value) == reason


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_a_payload_that_is_not_an_object_is_malformed(payload: Any) -> None:
    with pytest.raises(MalformedEvent, match="event must be a JSON object"):
        parse_event(payload)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("oldRev", "xyz", "refUpdate.oldRev must be a hex commit id"),
        ("newRev", None, "refUpdate.newRev must be a non-empty string"),
        ("project", "", "refUpdate.project must be a non-empty string"),
    ],
)
def test_malformed_ref_updates(key: str, value: Any, reason: str) -> None:
    payload = copy.deepcopy(REF_UPDATED)
    payload["refUpdate"][key] = value
    with pytest.raises(MalformedEvent) as error:
        parse_event(payload)
    assert str(error.value) == reason


@pytest.mark.skipif(not RECORDED, reason="no recorded Gerrit events in tests/fixtures/events")
@pytest.mark.parametrize("path", RECORDED, ids=[p.name for p in RECORDED])
def test_recorded_gerrit_events_parse(path: Path) -> None:
    payload = json.loads(path.read_text())
    event = parse_event(payload)
    kind = payload.get("type")
    if kind in CHANGE_EVENTS:
        assert isinstance(event, ChangeEvent)
        assert event.project == payload["change"]["project"]
        assert event.change_number == payload["change"]["number"]
        assert not event.branch.startswith("refs/")
    elif kind == "ref-updated":
        assert isinstance(event, RefUpdated | GroupChanged | AccountChanged)
        assert event.ref.startswith("refs/")
    else:
        assert event is None
