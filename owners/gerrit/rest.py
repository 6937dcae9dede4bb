"""The HTTP transport to Gerrit: every REST call of the service goes through one `Rest`.

It speaks REST with pygerrit2 over HTTP basic auth, retries what is safe to retry, counts
each thread's calls (so that the cost of one evaluation can be logged and tested), and words
every failure for the operator: where, why, and the setting to check.  The roles built on it
(`owners.gerrit.changes`, `.projects`, `.accounts`, `.git`) know Gerrit's endpoints and their
answers; this module knows only how to reach Gerrit and what went wrong.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import quote

import requests
from pygerrit2 import GerritRestAPI
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from urllib3.util.retry import Retry

from owners.gerrit.model import GerritError, UnexpectedResponse
from owners.gerrit.settings import Settings

__all__ = ["Rest", "change_ref", "encode", "json_object", "quoted"]

TIMEOUT_SECONDS = 30
# Retry connecting and idempotent requests briefly; a webhook that still fails answers 502
# and the webhooks plugin retries the whole event later.
RETRY = Retry(total=2, connect=2, read=0, backoff_factor=0.3, status_forcelist=(502, 503, 504))


def encode(name: str) -> str:
    """A project, branch, group or file name as one URL path segment."""
    return quote(name, safe="")


def change_ref(project: str | None, number: int) -> str:
    """`project~number` identifies a change unambiguously; a bare number also works."""
    return f"{encode(project)}~{number}" if project else str(number)


class Rest:
    """The service's only door to Gerrit's REST API; `calls` counts the calling thread's
    requests, whichever role (changes, projects, accounts, git) made them."""

    def __init__(
        self,
        settings: Settings,
        *,
        rest: Any | None = None,
        on_error: Callable[[GerritError], None] | None = None,
    ):
        self.settings = settings
        self._user: str | None = settings.user  # whose credentials; None: a web viewer's
        # pygerrit2's client, or what stands in its place (`rest`: a test's Gerrit in memory)
        self.api = rest or GerritRestAPI(
            url=settings.gerrit_url,
            auth=HTTPBasicAuth(settings.user, settings.password),
            adapter=HTTPAdapter(max_retries=RETRY),
        )
        self._counts = threading.local()
        self.on_error = on_error  # told of every failed call (metrics)
        self._slots: threading.BoundedSemaphore | None = None  # see `bound`

    @classmethod
    def as_viewer(cls, settings: Settings, auth: tuple[str, str] | None, **kw: Any) -> Self:
        """A connection that reads as a web viewer (HTTP credentials they gave on this request,
        None: Gerrit's anonymous user), so Gerrit itself decides what they may see."""
        rest = GerritRestAPI(
            url=settings.gerrit_url,
            auth=HTTPBasicAuth(*auth) if auth else None,
            adapter=HTTPAdapter(max_retries=RETRY),
        )
        connection = cls(settings, rest=rest, **kw)
        connection._user = None  # a 401 is the viewer's, not the bot's settings
        return connection

    def bound(self, limit: int) -> None:
        """Let at most `limit` of this connection's calls be in flight at once, whichever
        threads make them: Gerrit is the fleet's bottleneck, and more parallel calls only
        make each one slower.  0: no bound."""
        self._slots = threading.BoundedSemaphore(limit) if limit > 0 else None

    # -- calls -----------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, body: Any = None, *, missing_ok: bool = False, **kw: Any
    ) -> Any:
        if self._slots is None:
            return self._timed_call(method, path, body, missing_ok=missing_ok, **kw)
        with self._slots:
            return self._timed_call(method, path, body, missing_ok=missing_ok, **kw)

    def _timed_call(
        self, method: str, path: str, body: Any = None, *, missing_ok: bool = False, **kw: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return self._send(method, path, body, missing_ok=missing_ok, **kw)
        except GerritError as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise
        finally:
            self._counts.seconds = self.rest_seconds + time.perf_counter() - started

    @property
    def calls(self) -> int:
        """Requests made so far by the calling thread.  A worker thread evaluates one change
        at a time, so the difference around an evaluation is that evaluation's cost, however
        many threads share this connection."""
        return getattr(self._counts, "value", 0)

    @property
    def rest_seconds(self) -> float:
        """Seconds the calling thread has waited on REST calls so far (as `calls`): the time
        of an evaluation minus this difference is the time spent in the service itself."""
        return getattr(self._counts, "seconds", 0.0)

    def count_call(self) -> None:
        """Count one call made otherwise than through `get`, `put` or `post` (a git fetch or
        push), so that `calls` is the whole cost of what the calling thread did."""
        self._counts.value = self.calls + 1

    def _send(
        self, method: str, path: str, body: Any = None, *, missing_ok: bool = False, **kw: Any
    ) -> Any:
        self.count_call()
        if body is not None:
            kw["json"] = body
        call = f"{method.upper()} {path}"
        try:
            answer = getattr(self.api, method)(path, timeout=TIMEOUT_SECONDS, **kw)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if missing_ok and status == 404:
                return None
            raise self._refused(call, status, exc.response) from None
        except requests.RequestException as exc:
            raise GerritError(f"{call}: {self._unreachable(exc)}") from None
        except ValueError as exc:  # pygerrit2 could not decode what Gerrit called JSON
            raise UnexpectedResponse(f"{call}: invalid JSON ({exc})") from None
        # pygerrit2 hands back the raw text of an answer that is not application/json: on
        # a JSON endpoint that is a proxy's error or login page, never Gerrit's answer.
        if not kw.get("return_response") and isinstance(answer, bytes | str) and answer:
            raise UnexpectedResponse(
                f"{call}: {self._where} answered not JSON but {_first_line(answer)}: {NOT_GERRIT}"
            )
        return answer

    # -- what went wrong, for the operator: where, why, and the setting to check -----------
    # Built from the settings and the answer alone: the URL holds no credentials (Settings
    # refuses them), and no password is ever put in a message.

    @property
    def _where(self) -> str:
        return self.settings.gerrit_url

    def _unreachable(self, exc: requests.RequestException) -> str:
        """No answer: a refused connection, an unknown host, a timeout or a failed TLS
        handshake, with the URL tried."""
        check = "; check OWNERS_GERRIT_URL"
        reason = _innermost(exc)
        # urllib3's retries wrap a read timeout in a ConnectionError: known by its reason
        if isinstance(exc, requests.Timeout) or "timed out" in reason:
            return f"no answer from {self._where} within {TIMEOUT_SECONDS} s (timeout){check}"
        if isinstance(exc, requests.exceptions.SSLError):
            return f"TLS with {self._where} failed: {_tls_reason(reason)}{check}"
        if isinstance(exc, requests.ConnectionError):
            return f"cannot connect to {self._where}: {_connection_reason(reason)}{check}"
        return f"{type(exc).__name__} talking to {self._where}{check}"

    def _refused(
        self, call: str, status: int | None, response: requests.Response | None
    ) -> GerritError:
        """An HTTP error: Gerrit's own reason, and what to check when it is the settings'."""
        text = response.text if response is not None else ""
        detail = _first_line(text)
        # Gerrit's REST errors are plain text; an HTML page or a JSON error is some other web
        # application's (a proxy's, or this service's own when the URL names it)
        kind = response.headers.get("Content-Type", "") if response is not None else ""
        foreign = text.lstrip()[:1] in ("<", "{") or kind.startswith(
            ("text/html", "application/json")
        )
        if status == 401:
            whom = f"user '{self._user}'" if self._user else "the viewer's credentials"
            message = f"{call}: HTTP 401 from {self._where}: Gerrit refused {whom}" + (
                " and its password; check OWNERS_GERRIT_USER and OWNERS_GERRIT_PASSWORD_FILE "
                "(or OWNERS_GERRIT_PASSWORD): the HTTP password Gerrit generated for the user"
                if self._user
                else ""
            )
        elif status == 404 and foreign:
            message = f"{call}: HTTP 404 from {self._where}, not in Gerrit's form: {NOT_GERRIT}"
        else:
            message = f"{call}: HTTP {status} from {self._where}" + (
                f": {detail}" if detail else ""
            )
        return GerritError(message, status)

    # -- requests --------------------------------------------------------------------------

    def get(self, path: str, *, missing_ok: bool = False, **kw: Any) -> Any:
        return self._call("get", path, missing_ok=missing_ok, **kw)

    def put(self, path: str, body: Any = None) -> Any:
        return self._call("put", path, body)

    def post(self, path: str, body: Any = None) -> Any:
        return self._call("post", path, body)

    def whoami(self) -> str:
        """The bot's username as Gerrit knows it: proves Gerrit answers its credentials."""
        return str(json_object(self.get("accounts/self")).get("username") or "")

    def content(self, path: str) -> bytes | None:
        """A file's bytes from a `.../files/{name}/content` endpoint; None when it is absent.

        Gerrit answers base64 text, except to a client accepting JSON (pygerrit2 always sends
        `Accept: application/json`), which gets the file as a JSON string instead: ask for
        text/plain so that the bytes arrive exactly as committed.
        """
        got = self.get(
            f"{path}/content",
            missing_ok=True,
            headers={"Accept": "text/plain"},
            return_response=True,
        )
        if got is None:
            return None
        data, response = got
        kind = response.headers.get("Content-Type", "text/plain").split(";")[0].strip()
        if kind not in ("text/plain", "application/json"):
            # e.g. a proxy's HTML page: decoding it as base64 would invent a file
            raise UnexpectedResponse(f"GET {path}/content: answered {kind}, not the file")
        if response.headers.get("X-FYI-Content-Encoding", "base64") == "json":
            return str(data).encode()
        return _base64(data)


def quoted(value: str) -> str:
    """A value inside double quotes of a Gerrit query."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


NOT_GERRIT = "is this a Gerrit? check OWNERS_GERRIT_URL (Gerrit's base URL, not the service's)"


def _innermost(exc: BaseException) -> str:
    """The deepest reason requests and urllib3 wrapped (`[Errno 111] Connection refused`)."""
    reason: object = exc
    for _ in range(8):  # requests wraps urllib3, which wraps the socket's error: 3 or 4 deep
        inner = getattr(reason, "reason", None) or (
            reason.args[0] if isinstance(reason, BaseException) and reason.args else None
        )
        if inner is None or inner is reason or isinstance(inner, str):
            return str(inner if isinstance(inner, str) else reason)
        reason = inner
    return str(reason)


def _connection_reason(text: str) -> str:
    if "Connection refused" in text:
        return "connection refused"
    if "resolve" in text or "Name or service not known" in text:
        return "host name not found"
    if "Network is unreachable" in text or "No route to host" in text:
        return "network unreachable"
    return _first_line(text.rpartition(": ")[2] or text)


def _tls_reason(text: str) -> str:
    if "CERTIFICATE_VERIFY_FAILED" in text:
        detail = text.partition("certificate verify failed: ")[2].partition(" (")[0]
        return "certificate not trusted" + (f": {detail}" if detail else "")
    if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
        return "the server does not speak TLS there: an http:// URL?"
    return _first_line(text)


def _first_line(text: str | bytes) -> str:
    """The first line of an answer, short, and never a page of HTML."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.strip()
    if text[:1] == "<":
        return "an HTML page (a proxy or login page?)"
    return text.splitlines()[0][:200] if text else ""


def json_object(value: Any) -> dict[str, Any]:
    """A JSON object answered by Gerrit, or the error saying it was something else."""
    if not isinstance(value, dict):
        raise UnexpectedResponse(f"expected a JSON object from Gerrit, got {type(value).__name__}")
    return value


def _base64(data: str | bytes) -> bytes:
    try:
        return base64.b64decode(data, validate=False)
    except (ValueError, TypeError) as exc:
        raise UnexpectedResponse(f"file content is not base64: {exc}") from None
