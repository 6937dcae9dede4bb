"""The HTTP layer: authentication, limits, validation, status codes, and what gets queued."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from owners.gerrit.connection import GerritConnection
from owners.gerrit.settings import SettingsError
from tests.webhook.conftest import (
    BOT,
    TOKEN,
    FakeGerrit,
    HTTPStatus,
    change_info,
    drain,
    queued_jobs,
    settings,
)
from tests.webhook.test_events import CHANGE, REF_UPDATED, change_event
from webhook.app import create_app
from webhook.jobs import Jobs
from webhook.service import OwnersService

URL = f"/gerrit/events/{TOKEN}"


@pytest.fixture
def client(jobs: Jobs) -> FlaskClient:
    return create_app(jobs.settings, jobs=jobs).test_client()


def post(client: FlaskClient, body: Any, url: str = URL) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=data, content_type="application/json")


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_an_event_is_queued_and_processed_later(
    client: FlaskClient, gerrit: FakeGerrit, jobs: Jobs
) -> None:
    response = post(client, change_event("comment-added"))
    assert response.status_code == 202
    assert response.json == {"status": "queued", "job": "nova~42"}
    assert gerrit.log == []  # the web process does not talk to Gerrit
    assert jobs.depth() == 1
    assert drain(jobs) == 1
    (review,) = gerrit.reviews()
    assert review["labels"] == {"Owner-Approval": 1}
    assert post(client, change_event("comment-added")).status_code == 202  # a replay
    drain(jobs)
    assert len(gerrit.reviews()) == 1


def test_a_burst_on_one_change_is_one_job(
    client: FlaskClient, gerrit: FakeGerrit, jobs: Jobs
) -> None:
    statuses = [post(client, change_event("comment-added")).json["status"] for _ in range(50)]
    assert statuses == ["queued"] + ["coalesced"] * 49
    assert drain(jobs) == 1
    assert [path for _, path in gerrit.log].count("changes/nova~42") == 1


def test_without_a_queue_events_are_processed_at_once(
    gerrit: FakeGerrit, nova_config: bytes
) -> None:
    """Settings built in code without OWNERS_QUEUE (tests, an embedded use) run jobs in the
    request: nothing to drain."""
    gerrit.set_branch("nova", "master", "a" * 40, nova_config)
    gerrit.add_change(change_info(42, {"nova/virt/hyperv/vmops.py": {}}, {"bob": 2}, owner="uma"))
    config = settings()
    app = create_app(config, OwnersService(config, GerritConnection(config, rest=gerrit)))
    assert post(app.test_client(), change_event("comment-added")).status_code == 202
    assert len(gerrit.reviews()) == 1


@pytest.mark.parametrize("token", ["wrong-token-0123456789", TOKEN[:-1], TOKEN + "x", "é" * 20])
def test_a_wrong_token_is_unauthorized(client: FlaskClient, jobs: Jobs, token: str) -> None:
    response = post(client, change_event("comment-added"), f"/gerrit/events/{token}")
    assert response.status_code == 401
    assert jobs.depth() == 0


def test_malformed_json_is_a_one_line_400(client: FlaskClient) -> None:
    response = post(client, b"{not json")
    assert response.status_code == 400
    assert response.json == {
        "error": "malformed JSON: Expecting property name enclosed in double quotes"
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[" * 200_000, "malformed JSON: nested too deeply"),
        (b'{"a": "\xff"}', "malformed JSON: not UTF-8"),
        (b"", "malformed JSON: Expecting value"),
        (b'{"type": "comment-added", "change": {"project": "\\ud800"}}', None),
        (b"[]", "malformed event: event must be a JSON object"),
    ],
)
def test_hostile_bodies_are_400s(client: FlaskClient, jobs: Jobs, body: bytes, error: Any) -> None:
    response = post(client, body)
    assert response.status_code == 400
    if error:
        assert response.json == {"error": error}
    assert jobs.depth() == 0


def test_a_malformed_event_is_a_400_with_its_reason(client: FlaskClient) -> None:
    payload = change_event("patchset-created")
    payload["change"]["number"] = "42"
    response = post(client, payload)
    assert response.status_code == 400
    assert response.json == {"error": "malformed event: change.number must be a positive integer"}


def test_bodies_over_one_mebibyte_are_refused(client: FlaskClient, jobs: Jobs) -> None:
    payload = change_event("comment-added", comment="x" * (1 << 20))
    response = post(client, payload)
    assert response.status_code == 413
    assert jobs.depth() == 0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"type": "topic-changed", "change": {}}, "event type topic-changed is not handled"),
        (
            change_event("comment-added", author={"username": BOT}),
            "the event was caused by the bot itself",
        ),
        (
            change_event("comment-added", change={**CHANGE, "project": "glance"}),
            "project glance is not watched",
        ),
        (
            {**REF_UPDATED, "refUpdate": {**REF_UPDATED["refUpdate"], "newRev": "0" * 40}},
            "the ref update needs no re-evaluation",
        ),
    ],
)
def test_ignored_events_are_accepted_with_a_reason(
    gerrit: FakeGerrit, tmp_path: Path, payload: dict, reason: str
) -> None:
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", projects=frozenset({"nova"}))
    response = post(create_app(jobs.settings, jobs=jobs).test_client(), payload)
    assert response.status_code == 202
    assert response.json == {"status": "ignored", "reason": reason}
    assert jobs.depth() == 0


def test_a_ref_update_without_owners_change_evaluates_nothing(
    client: FlaskClient, gerrit: FakeGerrit, jobs: Jobs, nova_config: bytes
) -> None:
    gerrit.set_branch("nova", "stable/2025", "2" * 40, nova_config)
    gerrit.trees[("nova", "1" * 40)] = {"OWNERS.yaml": nova_config}
    response = post(client, REF_UPDATED)
    assert response.status_code == 202 and response.json["status"] == "queued"
    assert drain(jobs) == 1
    assert gerrit.reviews() == []


def test_the_queue_down_is_a_503_so_the_sender_retries(client: FlaskClient, jobs: Jobs) -> None:
    jobs.huey.storage.filename = "/nonexistent/queue.db"
    jobs.huey.storage.close()
    jobs.pending.storage.filename = "/nonexistent/queue.db"
    jobs.pending.storage.close()
    response = post(client, change_event("comment-added"))
    assert response.status_code == 503
    assert response.json == {"error": "the queue is unavailable"}


def test_readyz_checks_gerrit_and_the_queue(client: FlaskClient, gerrit: FakeGerrit) -> None:
    gerrit.accounts["self"] = {"username": BOT}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "gerrit": "ok", "queue": "ok"}
    gerrit.outage = HTTPStatus(503, "<html><body>Service Unavailable</body></html>")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert (
        response.json["gerrit"]
        == "GET accounts/self: HTTP 503 from http://gerrit.invalid: an HTML page (a proxy or "
        "login page?)"
    )
    assert "s3cret-password" not in response.get_data(as_text=True)


def test_metrics(client: FlaskClient, jobs: Jobs) -> None:
    jobs.metrics.watch_queue(jobs.depth, jobs.running, jobs.dead.count)
    post(client, change_event("comment-added"))
    post(client, change_event("comment-added"))
    post(client, change_event("comment-added"), "/gerrit/events/wrong-token-0123456789")
    post(client, {"type": "x" * 100})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'owners_events_total{outcome="queued",type="comment-added"} 1.0' in text
    assert 'owners_events_total{outcome="coalesced",type="comment-added"} 1.0' in text
    assert 'owners_events_total{outcome="ignored",type="other"} 1.0' in text
    assert 'owners_rejected_requests_total{status="401"} 1.0' in text
    assert "owners_queue_depth 1.0" in text
    assert "owners_dead_letters 0.0" in text
    drain(jobs)
    text = client.get("/metrics").get_data(as_text=True)
    assert "owners_queue_depth 0.0" in text
    assert 'owners_votes_cast_total{value="+1"} 1.0' in text
    assert "owners_evaluation_seconds_count 1.0" in text
    assert TOKEN not in text and "s3cret-password" not in text


def test_get_on_the_event_url_is_not_allowed(client: FlaskClient) -> None:
    assert client.get(URL).status_code == 405


def test_the_app_needs_a_token() -> None:
    with pytest.raises(SettingsError, match="OWNERS_WEBHOOK_TOKEN is required"):
        create_app(settings(webhook_token=None))
