"""Who is looking: the web pages read Gerrit *as the viewer*, so Gerrit decides what they see.

The model (docs/api.md, "Who sees what"): a viewer signs in with their Gerrit username and
HTTP password through HTTP Basic authentication.  The browser sends them with each request;
the service passes them on to Gerrit for that request's REST calls and forgets them when the
request ends: nothing secret is written to a cookie, a session, a cache or a log.  Gerrit
checks them on every call (a wrong password answers 401, which becomes a new sign-in prompt).
A visitor who sends none reads as Gerrit's anonymous user.  Private changes, hidden projects
and invisible groups therefore stay hidden exactly as Gerrit hides them; the bot's own
credentials are never used to read anything a page shows.

Serve the pages over HTTPS (a reverse proxy) wherever the network is not trusted: Basic
credentials are only encoded, as they are for Gerrit's own REST API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Request

from owners.gerrit.connection import GerritConnection
from owners.gerrit.settings import Settings

MAX_CREDENTIAL_LENGTH = 256
REALM = "gerrit-owners (your Gerrit username and HTTP password)"


@dataclass(frozen=True)
class Viewer:
    """The request's viewer and a connection reading Gerrit as them."""

    username: str | None  # None: anonymous
    gerrit: GerritConnection
    auth: tuple[str, str] | None

    @property
    def key(self) -> str:
        """What per-viewer caches are keyed by: only meaningful once Gerrit accepted the
        credentials on this request (every page's first call does that)."""
        return f"user:{self.username}" if self.username else "anonymous"

    @property
    def display(self) -> str:
        return self.username or "anonymous"


def credentials(request: Request) -> tuple[str, str] | None:
    """The Basic credentials of the request, or None; absurd ones count as none."""
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or not auth.password:
        return None
    if len(auth.username) > MAX_CREDENTIAL_LENGTH or len(auth.password) > MAX_CREDENTIAL_LENGTH:
        return None
    if any(c in auth.username for c in "\r\n\0:"):
        return None
    return auth.username, auth.password


ConnectionFactory = Callable[[Settings, "tuple[str, str] | None"], GerritConnection]


def viewer_for(
    request: Request, settings: Settings, factory: ConnectionFactory | None = None
) -> Viewer:
    """The request's viewer; `factory` (tests, benchmarks) makes the connection instead of
    `GerritConnection.as_viewer`."""
    auth = credentials(request)
    gerrit = (factory or GerritConnection.as_viewer)(settings, auth)
    return Viewer(auth[0] if auth else None, gerrit, auth)
