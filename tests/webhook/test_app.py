"""The HTTP layer: authentication, limits, validation and status codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.webhook.conftest import BOT, TOKEN, FakeGerrit, change_info, settings
from tests.webhook.test_events import CHANGE, REF_UPDATED, change_event
from webhook.app import create_app
from webhook.gerrit import GerritConnection
from webhook.service import OwnersService
from webhook.settings import SettingsError

URL = f"/gerrit/events/{TOKEN}"


@pytest.fixture
def client(gerrit: FakeGerrit, nova_config: bytes) -> FlaskClient:
    gerrit.set_branch("nova", "master", "a" * 40, nova_config)
    gerrit.add_change(change_info(42, {"nova/virt/hyperv/vmops.py": {}}, {"bob": 2}, owner="uma"))
    service = OwnersService(settings(), GerritConnection(settings(), rest=gerrit))
    return create_app(settings(), service).test_client()


def post(client: FlaskClient, body: Any, url: str = URL) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=data, content_type="application/json")


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_a_change_event_is_processed(client: FlaskClient, gerrit: FakeGerrit) -> None:
    response = post(client, change_event("comment-added"))
    assert response.status_code == 200
    assert response.json["status"] == "processed"
    assert response.json["results"][0].startswith("nova~42: APPROVED; vote +1, comment")
    assert len(gerrit.reviews()) == 1
    assert post(client, change_event("comment-added")).status_code == 200  # a replay
    assert len(gerrit.reviews()) == 1


@pytest.mark.parametrize("token", ["wrong-token-0123456789", TOKEN[:-1], TOKEN + "x", "é" * 20])
def test_a_wrong_token_is_unauthorized(client: FlaskClient, gerrit: FakeGerrit, token: str) -> None:
    response = post(client, change_event("comment-added"), f"/gerrit/events/{token}")
    assert response.status_code == 401
    assert gerrit.log == []


def test_malformed_json_is_a_one_line_400(client: FlaskClient) -> None:
    response = post(client, b"{not json")
    assert response.status_code == 400
    assert response.json == {
        "error": "malformed JSON: Expecting property name enclosed in double quotes"
    }


def test_a_malformed_event_is_a_400_with_its_reason(client: FlaskClient) -> None:
    payload = change_event("patchset-created")
    payload["change"]["number"] = "42"
    response = post(client, payload)
    assert response.status_code == 400
    assert response.json == {"error": "malformed event: change.number must be a positive integer"}


def test_bodies_over_one_mebibyte_are_refused(client: FlaskClient, gerrit: FakeGerrit) -> None:
    payload = change_event("comment-added", comment="x" * (1 << 20))
    response = post(client, payload)
    assert response.status_code == 413
    assert gerrit.log == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"type": "change-merged", "change": {}}, "event type change-merged is not handled"),
        (
            change_event("comment-added", author={"username": BOT}),
            "the event was caused by the bot itself",
        ),
        (
            change_event("comment-added", change={**CHANGE, "project": "glance"}),
            "project glance is not watched",
        ),
    ],
)
def test_ignored_events_are_accepted_with_a_reason(
    gerrit: FakeGerrit, nova_config: bytes, payload: dict, reason: str
) -> None:
    config = settings(projects=frozenset({"nova"}))
    app = create_app(config, OwnersService(config, GerritConnection(config, rest=gerrit)))
    response = post(app.test_client(), payload)
    assert response.status_code == 202
    assert response.json == {"status": "ignored", "reason": reason}
    assert gerrit.log == []


def test_a_ref_update_without_owners_change_processes_nothing(
    client: FlaskClient, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    gerrit.set_branch("nova", "stable/2025", "2" * 40, nova_config)
    gerrit.trees[("nova", "1" * 40)] = {"OWNERS.yaml": nova_config}
    response = post(client, REF_UPDATED)
    assert response.status_code == 200 and response.json["results"] == []


def test_gerrit_failures_are_a_502_so_the_plugin_retries(client: FlaskClient) -> None:
    payload = change_event("comment-added")
    payload["change"]["number"] = 404
    response = post(client, payload)
    assert response.status_code == 502
    assert response.json["error"].startswith("Gerrit: GET changes/nova~404: HTTP 404")


def test_get_on_the_event_url_is_not_allowed(client: FlaskClient) -> None:
    assert client.get(URL).status_code == 405


def test_the_app_needs_a_token() -> None:
    with pytest.raises(SettingsError, match="OWNERS_WEBHOOK_TOKEN is required"):
        create_app(settings(webhook_token=None))
