"""The HTTP face of the service: receive a Gerrit webhook, validate it, hand it to the service.

`create_app` is used alike by tests (with a fake Gerrit behind the service) and by gunicorn
(`gunicorn 'webhook.app:create_app()'`, settings from the environment).
"""

from __future__ import annotations

import hmac
import json
import logging

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from webhook.events import MalformedEvent, parse_event
from webhook.gerrit import GerritError
from webhook.service import OwnersService
from webhook.settings import Settings, SettingsError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
EXTENSION = "owners"

bp = Blueprint("owners", __name__)


def create_app(settings: Settings | None = None, service: OwnersService | None = None) -> Flask:
    """The Flask app; settings default to `Settings.from_env()`, the service to a real one."""
    settings = settings if settings is not None else Settings.from_env()
    if not settings.webhook_token:
        raise SettingsError("OWNERS_WEBHOOK_TOKEN is required to serve webhooks")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions[EXTENSION] = service if service is not None else OwnersService(settings)
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _service() -> OwnersService:
    return current_app.extensions[EXTENSION]


def _reply(code: int, **body: object) -> tuple[Response, int]:
    return jsonify(body), code


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    return _reply(200, status="ok")


@bp.post("/gerrit/events/<token>")
def receive(token: str) -> tuple[Response, int]:
    service = _service()
    expected = (service.settings.webhook_token or "").encode()
    if not expected or not hmac.compare_digest(token.encode(), expected):
        log.warning("rejected a webhook with a wrong token from %s", request.remote_addr)
        return _reply(401, error="unauthorized")
    try:
        payload = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        return _reply(400, error=f"malformed JSON: {reason}")
    try:
        event = parse_event(payload)
    except MalformedEvent as exc:
        return _reply(400, error=f"malformed event: {exc}")
    if event is None:
        return _reply(202, status="ignored", reason=f"event type {payload['type']} is not handled")
    reason = service.ignores(event)
    if reason:
        return _reply(202, status="ignored", reason=reason)
    try:
        results = service.handle(event)
    except GerritError as exc:
        log.error("processing %s failed: %s", type(event).__name__, exc)
        return _reply(502, error=f"Gerrit: {exc}")
    return _reply(200, status="processed", results=[str(r) for r in results])


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    return _reply(exc.code or 500, error=exc.description or exc.name)
