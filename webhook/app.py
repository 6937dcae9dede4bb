"""The HTTP face of the service: accept a Gerrit webhook, validate it, queue a job.

Accept, then process: `POST /gerrit/events/<token>` checks the token, the size and the shape
of the event, queues a durable job naming the change (or branch), and answers 202 within
milliseconds; workers (`webhook.jobs`, `webhook.worker`) evaluate later.  Nothing but which
change or branch the payload names is used.  `/healthz` says the process is up, `/readyz` that
Gerrit answers with the bot's credentials and the queue takes writes, `/metrics` is for
Prometheus.

`create_app` is used alike by tests and by gunicorn (`gunicorn 'webhook.app:create_app()'`,
settings from the environment).  It never starts workers: `owners serve` does, or
`owners worker` in processes of their own.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from owners.gerrit.events import MalformedEvent, parse_event
from owners.gerrit.model import GerritError
from owners.gerrit.settings import SettingsError
from webhook.jobs import Jobs, job_for
from webhook.metrics import CONTENT_TYPE, Metrics
from webhook.service import OwnersService
from webhook.settings import ServiceSettings
from webhook.submitcheck import ERROR, BadRequest, CheckAnswer, CheckRequest, timed_check
from webhook.web import bp as web_bp
from webhook.web import error_response

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
EXTENSION = "owners"

bp = Blueprint("owners", __name__)


@dataclass(frozen=True)
class State:
    settings: ServiceSettings
    jobs: Jobs
    metrics: Metrics


def create_app(
    settings: ServiceSettings | None = None,
    service: OwnersService | None = None,
    *,
    jobs: Jobs | None = None,
) -> Flask:
    """The Flask app; settings default to `ServiceSettings.from_env()`, the queue to the one they
    name (with `service` running its jobs, a real one by default)."""
    settings = settings if settings is not None else ServiceSettings.from_env()
    if not settings.webhook_token:
        raise SettingsError("OWNERS_WEBHOOK_TOKEN is required to serve webhooks")
    if jobs is None:
        jobs = Jobs(settings, service)
        jobs.metrics.watch_queue(jobs.depth, jobs.running, jobs.dead.count)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions[EXTENSION] = State(settings, jobs, jobs.metrics)
    app.register_blueprint(bp)
    app.register_blueprint(web_bp)  # the pages and /api/v1 (webhook/web/)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _state() -> State:
    return current_app.extensions[EXTENSION]


def _reply(code: int, **body: object) -> tuple[Response, int]:
    return jsonify(body), code


def _reject(code: int, error: str) -> tuple[Response, int]:
    _state().metrics.rejected.labels(str(code)).inc()
    return _reply(code, error=error)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    return _reply(200, status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready when Gerrit answers the bot's credentials and the queue takes writes."""
    state = _state()
    checks = {"gerrit": "ok", "queue": "ok"}
    try:
        state.jobs.service.gerrit.whoami()
    except GerritError as exc:
        checks["gerrit"] = str(exc)
    queue = state.jobs.writable()
    if queue is not None:
        checks["queue"] = queue
    ready = all(value == "ok" for value in checks.values())
    return _reply(200 if ready else 503, status="ready" if ready else "unready", **checks)


@bp.get("/metrics")
def metrics() -> Response:
    return Response(_state().metrics.exposition(), content_type=CONTENT_TYPE)


@bp.post("/gerrit/events/<token>")
def receive(token: str) -> tuple[Response, int]:
    state = _state()
    expected = (state.settings.webhook_token or "").encode()
    if not expected or not hmac.compare_digest(token.encode(errors="replace"), expected):
        log.warning("rejected a webhook with a wrong token from %s", request.remote_addr)
        return _reject(401, "unauthorized")
    try:
        payload = json.loads(request.get_data(cache=False))
    except UnicodeDecodeError:
        return _reject(400, "malformed JSON: not UTF-8")
    except json.JSONDecodeError as exc:
        return _reject(400, f"malformed JSON: {exc.msg}")
    except ValueError:  # e.g. an integer of more digits than Python converts
        return _reject(400, "malformed JSON: a value out of range")
    except RecursionError:
        return _reject(400, "malformed JSON: nested too deeply")
    try:
        event = parse_event(payload)
    except MalformedEvent as exc:
        return _reject(400, f"malformed event: {exc}")
    kind = payload["type"]
    if event is None:
        state.metrics.event(kind, "ignored")
        return _reply(202, status="ignored", reason=f"event type {kind[:64]} is not handled")
    reason = state.jobs.service.ignores(event)
    job = job_for(event)
    if reason is None and job is None:
        reason = "the ref update needs no re-evaluation"
    if reason or job is None:
        state.metrics.event(kind, "ignored")
        return _reply(202, status="ignored", reason=reason)
    try:
        queued = state.jobs.submit(job)
    except Exception as exc:  # the backend is down: 503, so the sender retries
        log.error("cannot queue %s: %s: %s", job, type(exc).__name__, exc, extra=job.fields)
        return _reject(503, "the queue is unavailable")
    outcome = "queued" if queued else "coalesced"
    state.metrics.event(kind, outcome)
    log.info("%s %s: %s", kind, job, outcome, extra={**job.fields, "event": kind})
    return _reply(202, status=outcome, job=str(job))


@bp.post("/submit-check")
def submit_check() -> tuple[Response, int]:
    """A fresh verdict for Gerrit's submit-check plugin, asked in `onPreMerge`.

    The token is the webhook token, sent as `Authorization: Bearer <token>` (a header, so it
    never appears in an access log).  The answer is always JSON with a `verdict`; the plugin
    merges only on 200 with APPROVED, so every refusal here, including an error, keeps the
    change unmerged.
    """
    state = _state()
    expected = (state.settings.webhook_token or "").encode()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(given.strip().encode(errors="replace"), expected)
    ):
        log.warning("rejected a submit check with a wrong token from %s", request.remote_addr)
        state.metrics.submit_checks.labels("UNAUTHORIZED").inc()
        return _reply(401, verdict=ERROR, reason="the submit check's token is wrong")
    try:
        check = CheckRequest.parse(json.loads(request.get_data(cache=False)))
    except (ValueError, RecursionError, BadRequest) as exc:
        reason = str(exc) if isinstance(exc, BadRequest) else "the body is not valid JSON"
        state.metrics.submit_checks.labels("BAD_REQUEST").inc()
        return _reply(400, verdict=ERROR, reason=reason)
    answer: CheckAnswer
    answer, seconds = timed_check(state.jobs.service, check)
    state.metrics.submit_checks.labels(answer.outcome).inc()
    state.metrics.submit_check_seconds.observe(seconds)
    return _reply(503 if answer.verdict == ERROR else 200, **answer.body())


def _http_error(exc: HTTPException) -> Response:
    """Unmatched addresses and unexpected errors (500) too: JSON, or a page for a browser."""
    code = exc.code or 500
    if request.path.startswith("/gerrit/events/") and EXTENSION in current_app.extensions:
        _state().metrics.rejected.labels(str(code)).inc()
    return error_response(code, exc.description or exc.name)
