"""Fuzz target: the webhook endpoint answers any request with a 4xx, or 202 for a well-formed
event, never a 5xx, and queues only jobs naming a change, branch or project of a valid event.

The request reaches the real app (Flask's test client) with a SQLite queue; the fake Gerrit
is never called, because the web part does not talk to Gerrit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st

from owners.gerrit.events import CHANGE_EVENTS, HANDLED
from tests.webhook.conftest import TOKEN, FakeGerrit, queued_jobs
from tests.webhook.test_events import REF_UPDATED, change_event
from webhook.app import create_app
from webhook.jobs import Job, Jobs

URL = f"/gerrit/events/{TOKEN}"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)
field_values = json_values | st.sampled_from(
    [
        "nova",
        "master",
        "refs/heads/master",
        "refs/meta/config",
        "0" * 40,
        "a" * 40,
        42,
        -1,
        0,
        "\ud800",
        "x\ny",
        "\x00",
        "é" * 5000,
        True,
        [],
        {},
    ]
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, object]:
    """Payloads shaped like Gerrit's, with any field replaced, removed or added."""
    kind = draw(
        st.sampled_from([*HANDLED, "change-merged", "topic-changed"]) | st.text(max_size=20)
    )
    base = (
        REF_UPDATED
        if kind == "ref-updated"
        else change_event(kind if kind in CHANGE_EVENTS else "comment-added")
    )
    payload = json.loads(json.dumps(base))
    payload["type"] = kind
    for _ in range(draw(st.integers(0, 4))):
        target = payload
        inner = draw(st.sampled_from(["change", "refUpdate", None]))
        if inner and isinstance(payload.get(inner), dict):
            target = payload[inner]
        key = draw(st.sampled_from([*target.keys(), "number", "project", "x"]))
        if draw(st.booleans()):
            target[key] = draw(field_values)
        else:
            target.pop(key, None)
    return payload


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FlaskClient, Jobs]]:
    queue = Path(tmp_path_factory.mktemp("fuzz")) / "queue.db"
    jobs = queued_jobs(FakeGerrit(), queue)
    yield create_app(jobs.settings, jobs=jobs).test_client(), jobs


def check(app: tuple[FlaskClient, Jobs], body: bytes, url: str = URL) -> None:
    client, jobs = app
    response = client.post(url, data=body, content_type="application/json")
    assert response.status_code in (202, 400, 401, 413), response.status_code
    answer = response.json
    if response.status_code == 202:
        assert answer["status"] in ("queued", "coalesced", "ignored"), answer
    else:
        assert "\n" not in answer["error"], answer
    for task in jobs.huey.storage.enqueued_items():
        Job.from_dict(json.loads(task)["message"]["args"][0])  # only well-formed jobs
    jobs.huey.storage.flush_queue()


@given(events())
def test_event_shaped_payloads(app: tuple[FlaskClient, Jobs], payload: dict) -> None:
    check(app, json.dumps(payload).encode())


@given(json_values)
def test_any_json(app: tuple[FlaskClient, Jobs], value: object) -> None:
    check(app, json.dumps(value).encode())


@given(st.binary(max_size=3000))
@example(b"[" * 100_000)
@example(b'{"type": "comment-added", "change": ' * 3000)
@example(b'{"type": "\\ud800"}')
@example(b"\xef\xbb\xbf{}")
@example(b"9" * 5000)
def test_any_bytes(app: tuple[FlaskClient, Jobs], body: bytes) -> None:
    check(app, body)


@given(st.text(max_size=80))
def test_any_token(app: tuple[FlaskClient, Jobs], token: str) -> None:
    client, _ = app
    url = "/gerrit/events/" + token.replace("/", "").replace("?", "").replace("#", "")
    response = client.post(url, data=b"{}", content_type="application/json")
    assert response.status_code in (401, 404, 405) or token == TOKEN
