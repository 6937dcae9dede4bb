"""Log lines are JSON, name the change, and never carry a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.webhook.conftest import TOKEN
from tests.webhook.test_events import change_event
from webhook import logs
from webhook.app import create_app
from webhook.jobs import Jobs

PASSWORD = "s3cret-password"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def capture(jobs: Jobs) -> tuple[io.StringIO, FlaskClient]:
    stream = io.StringIO()
    handler = logs.configure(jobs.settings.secrets, stream=stream)
    handler.setLevel(logging.DEBUG)
    return stream, create_app(jobs.settings, jobs=jobs).test_client()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_event_is_one_json_line_naming_the_change(jobs: Jobs) -> None:
    stream, client = capture(jobs)
    client.post(f"/gerrit/events/{TOKEN}", json=change_event("comment-added"))
    (line,) = [line for line in lines(stream) if line["logger"] == "webhook.app"]
    assert line["message"] == "comment-added nova~42: queued"
    assert (line["project"], line["change"], line["event"]) == ("nova", 42, "comment-added")


def test_secrets_and_the_token_in_paths_are_scrubbed(jobs: Jobs) -> None:
    stream, _ = capture(jobs)
    log = logging.getLogger("werkzeug")
    log.info('127.0.0.1 - - "POST /gerrit/events/%s HTTP/1.1" 202 -', TOKEN)
    log.info("\x1b[35m%s\x1b[0m", "GET /gerrit/events/anything-else?x=1")
    try:
        raise RuntimeError(f"auth failed for owners-bot:{PASSWORD}")
    except RuntimeError:
        logging.getLogger("webhook").exception("boom %s", PASSWORD)
    text = stream.getvalue()
    assert TOKEN not in text and PASSWORD not in text and "anything-else" not in text
    first, second, third = lines(stream)
    assert first["message"] == '127.0.0.1 - - "POST /gerrit/events/<redacted> HTTP/1.1" 202 -'
    assert second["message"] == "GET /gerrit/events/<redacted>?x=1"
    assert third["message"] == "boom <redacted>" and "<redacted>" in third["error"]
