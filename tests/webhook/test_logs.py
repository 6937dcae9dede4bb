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
        raise RuntimeError(f"auth failed: https://owners-bot:{PASSWORD}@gerrit.example.org/a/")
    except RuntimeError:
        logging.getLogger("webhook").exception("boom, token %s", TOKEN)
    text = stream.getvalue()
    assert TOKEN not in text and PASSWORD not in text and "anything-else" not in text
    first, second, third = lines(stream)
    assert first["message"] == '127.0.0.1 - - "POST /gerrit/events/<redacted> HTTP/1.1" 202 -'
    assert second["message"] == "GET /gerrit/events/<redacted>?x=1"
    assert third["message"] == "boom, token <redacted>"  # long enough to scrub as text
    assert "https://owners-bot:<redacted>@gerrit.example.org/a/" in third["error"]


SHORT = "pw"  # a short password: scrubbing its text would mangle "/home/pwd" and "pwned"
TRAVELLING = [
    # (where a secret travels, the line, the line as logged)
    (
        "an Authorization header",
        "headers: {'Authorization': 'Basic b3duZXJzLWJvdDpwdw==', 'Accept': '*/*'}",
        "headers: {'Authorization': 'Basic <redacted>', 'Accept': '*/*'}",
    ),
    ("a bearer token", "Authorization: Bearer abc.def", "Authorization: Bearer <redacted>"),
    (
        "a URL's userinfo",
        f"GET https://owners-bot:{SHORT}@gerrit/a/changes/1",
        "GET https://owners-bot:<redacted>@gerrit/a/changes/1",
    ),
    (
        "a Redis URL",
        f"queue redis://:{SHORT}@redis:6379/0 is down",
        "queue redis://:<redacted>@redis:6379/0 is down",
    ),
    (
        "a settings field",
        f"Settings(password='{SHORT}', webhook_token='x')",
        "Settings(password='<redacted>', webhook_token='<redacted>')",
    ),
    (
        "a JSON field",
        f'{{"password": "{SHORT}", "user": "bot"}}',
        '{"password": "<redacted>", "user": "bot"}',
    ),
    (
        "an environment variable",
        f"OWNERS_GERRIT_PASSWORD={SHORT} owners serve",
        "OWNERS_GERRIT_PASSWORD=<redacted> owners serve",
    ),
    (
        "paths and URLs that merely contain the password's text stay whole",
        "GET /home/pwd/a.py from https://x.org/pwned (password_file=/etc/owners/pw)",
        "GET /home/pwd/a.py from https://x.org/pwned (password_file=/etc/owners/pw)",
    ),
]


@pytest.mark.parametrize(
    ("line", "logged"), [r[1:] for r in TRAVELLING], ids=[r[0] for r in TRAVELLING]
)
def test_secrets_are_scrubbed_where_they_travel(line: str, logged: str) -> None:
    stream = io.StringIO()
    logs.configure([SHORT, TOKEN], stream=stream)
    logging.getLogger("webhook").warning("%s", line)
    assert lines(stream)[0]["message"] == logged
