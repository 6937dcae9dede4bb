"""Cross-site request forgery: every state-changing request of the pages must come from them.

The pages authenticate with HTTP Basic credentials, which a browser sends to the service with
any request, including one a hostile site makes it send; so a POST is accepted only when

1. its `Origin` header (or, without one, its `Referer`) is the service's own origin, and
2. it carries, as the form field `csrf`, the value of the `owners_csrf` cookie (a double
   submit: another site can neither read that cookie nor set the form field to it), and
3. that value is signed by the service for this viewer (`itsdangerous`, with a key derived
   from the bot's password, so that every process of the service agrees without a stored
   secret of its own), so that a cookie planted through a sibling domain does not pass.

Nothing about the credentials is stored: the cookie holds a random nonce and the username.
The cookie is `HttpOnly`, `SameSite=Strict`, and `Secure` when the page was served over HTTPS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import Request, Response, g
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "owners_csrf"
FIELD = "csrf"
_SALT = "owners-web-csrf"
_EXPIRED = "this form has expired or did not come from this site: reload the page and retry"


def _serializer(secret: str) -> URLSafeSerializer:
    key = hmac.new(secret.encode(), b"gerrit-owners web csrf v1", hashlib.sha256).digest()
    return URLSafeSerializer(key, salt=_SALT)


def token(request: Request, secret: str, username: str | None) -> str:
    """The token the page's forms carry: the request's cookie if it is valid for this
    viewer, else a new one (set as the cookie by `remember`)."""
    if "csrf_token" not in g:
        current = request.cookies.get(COOKIE, "")
        if not _valid(current, secret, username):
            current = _serializer(secret).dumps({"n": secrets.token_urlsafe(16), "u": username})
            g.csrf_new = True
        g.csrf_token = current
    return str(g.csrf_token)


def remember(request: Request, response: Response) -> None:
    """Set the cookie of a token made for this response's forms."""
    if g.get("csrf_new"):
        response.set_cookie(COOKIE, g.csrf_token, httponly=True, samesite="Strict",
                            secure=request.is_secure, path="/")  # fmt: skip


def refusal(
    request: Request, secret: str, username: str | None, public_url: str | None = None
) -> str | None:
    """Why the state-changing request must be refused, or None to accept it."""
    if not same_origin(request, public_url):
        return "this request did not come from this site's pages"
    sent = request.form.get(FIELD, "")
    cookie = request.cookies.get(COOKIE, "")
    if not sent or not hmac.compare_digest(sent.encode(), cookie.encode()):
        return _EXPIRED
    if not _valid(cookie, secret, username):
        return _EXPIRED
    return None


def same_origin(request: Request, public_url: str | None = None) -> bool:
    """Whether `Origin`, else `Referer`, names this service: the host and scheme the request
    was sent to, or those of its public address behind a proxy; neither header: refused."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    ours = {(request.scheme, request.host)}
    if public_url:
        public = urlsplit(public_url)
        ours.add((public.scheme, public.netloc))
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) in ours


def _valid(value: str, secret: str, username: str | None) -> bool:
    if not value:
        return False
    try:
        found = _serializer(secret).loads(value)
    except BadSignature:
        return False
    return isinstance(found, dict) and found.get("u") == username
