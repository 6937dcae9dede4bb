"""When Gerrit cannot be used, the error names the URL, the reason and the setting to check,
and never the password: against real sockets and HTTP servers standing in for a Gerrit that
is down, slow, not TLS, refusing the bot, or not a Gerrit at all (the service itself)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import owners.gerrit.rest
from owners.gerrit.connection import GerritConnection
from owners.gerrit.model import GerritError
from tests.webhook.conftest import settings

PASSWORD = "s3cret-password"  # settings()'s


@pytest.fixture
def serve() -> Iterator[Callable[[Callable], str]]:
    """Serve a WSGI app on a loopback port; its base URL."""
    servers = []

    def start(app: Callable) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def failure(url: str, **overrides: object) -> str:
    with pytest.raises(GerritError) as raised:
        GerritConnection(settings(gerrit_url=url, **overrides)).whoami()
    message = str(raised.value)
    assert PASSWORD not in message
    return message


def test_nothing_listening_names_the_url_and_the_setting():
    url = f"http://127.0.0.1:{closed_port()}"
    assert failure(url) == (
        f"GET accounts/self: cannot connect to {url}: connection refused; check OWNERS_GERRIT_URL"
    )


def test_an_unknown_host_says_so():
    assert failure("http://gerrit.invalid") == (
        "GET accounts/self: cannot connect to http://gerrit.invalid: host name not found; "
        "check OWNERS_GERRIT_URL"
    )


def test_a_gerrit_that_does_not_answer_in_time(serve, monkeypatch):
    monkeypatch.setattr(owners.gerrit.rest, "TIMEOUT_SECONDS", 0.3)

    @Request.application
    def slow(_: Request) -> Response:
        time.sleep(2)
        return Response("{}")

    url = serve(slow)
    assert failure(url) == (
        f"GET accounts/self: no answer from {url} within 0.3 s (timeout); check OWNERS_GERRIT_URL"
    )


def test_https_to_a_server_without_tls(serve):
    url = serve(Response(")]}'\n{}", mimetype="application/json")).replace("http:", "https:")
    assert failure(url) == (
        f"GET accounts/self: TLS with {url} failed: the server does not speak TLS there: an "
        "http:// URL?; check OWNERS_GERRIT_URL"
    )


def test_refused_credentials_name_the_user_and_the_password_settings(serve):
    url = serve(Response("Unauthorized", status=401))
    assert failure(url) == (
        f"GET accounts/self: HTTP 401 from {url}: Gerrit refused user 'owners-bot' and its "
        "password; check OWNERS_GERRIT_USER and OWNERS_GERRIT_PASSWORD_FILE (or "
        "OWNERS_GERRIT_PASSWORD): the HTTP password Gerrit generated for the user"
    )


def test_a_viewers_refused_credentials_are_not_the_bots(serve):
    url = serve(Response("Unauthorized", status=401))
    with pytest.raises(GerritError) as raised:
        GerritConnection.as_viewer(settings(gerrit_url=url), ("zed", "zeds-pw")).whoami()
    assert str(raised.value) == (
        f"GET accounts/self: HTTP 401 from {url}: Gerrit refused the viewer's credentials"
    )


@pytest.mark.parametrize(
    "app",
    [
        NotFound(),  # what a Flask or werkzeug application answers for a path it lacks
        Response('{"error": "not found"}', status=404, mimetype="application/json"),
    ],
    ids=["an HTML page", "a JSON error"],
)
def test_another_web_application_instead_of_gerrit_asks_whether_this_is_a_gerrit(serve, app):
    url = serve(app)
    assert failure(url) == (
        f"GET accounts/self: HTTP 404 from {url}, not in Gerrit's form: is this a Gerrit? "
        "check OWNERS_GERRIT_URL (Gerrit's base URL, not the service's)"
    )


def test_the_owners_service_itself_instead_of_gerrit(serve, jobs):
    from webhook.app import create_app

    url = serve(create_app(jobs.settings, jobs=jobs))
    assert "is this a Gerrit?" in failure(url)


def test_gerrits_own_not_found_keeps_its_reason(serve):
    url = serve(Response("Not found: 3", status=404))
    with pytest.raises(GerritError) as raised:
        GerritConnection(settings(gerrit_url=url)).changes.change(3)
    assert str(raised.value).startswith(f"GET changes/3: HTTP 404 from {url}: Not found: 3")


def test_the_cli_prints_it_in_one_line():
    """What the user runs: `owners check --change 3` with Gerrit down."""
    url = f"http://127.0.0.1:{closed_port()}"
    env = {
        **os.environ,
        "OWNERS_GERRIT_URL": url,
        "OWNERS_GERRIT_USER": "owners-bot",
        "OWNERS_GERRIT_PASSWORD": PASSWORD,
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "owners"), "check", "--change", "3"],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"owners: GET changes/3: cannot connect to {url}: connection refused; "
        "check OWNERS_GERRIT_URL\n"
    )
