"""Ownership where people work: web pages and the JSON API behind them.

A blueprint of its own, registered by `webhook.app.create_app`.  Every page has its JSON at
the same address under `/api/v1` (docs/api.md): both come from one builder in
`webhook.web.data`, so a page never shows what the API would not say, and neither shows what
the viewer could not see in Gerrit (`webhook.web.viewer`).  Templates autoescape, every asset
is served from `static/`, and a Content-Security-Policy forbids anything from elsewhere.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup, escape

from owners.gerrit.model import GerritError
from owners.insight.health import MAINTAINERS_STATUSES
from owners.views.review import duration
from webhook.settings import ServiceSettings
from webhook.web import csrf, data, svg
from webhook.web.cache import Cache
from webhook.web.viewer import REALM, Viewer, credentials, viewer_for

log = logging.getLogger(__name__)

API = "/api/v1"
CONNECTION_FACTORY = "OWNERS_WEB_CONNECTION"  # app.config key: tests and benchmarks set it
MAX_DAYS = 3650
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/owners")  # fmt: skip


def _settings() -> ServiceSettings:
    return current_app.extensions["owners"].settings


def _viewer() -> Viewer:
    return viewer_for(request, _settings(), current_app.config.get(CONNECTION_FACTORY))


def _wants_json() -> bool:
    """JSON under /api/, and for any client that does not prefer HTML to it (curl, scripts,
    Gerrit's plugins); a page for browsers, which ask for text/html first."""
    if request.path.startswith("/api/"):
        return True
    accept = request.accept_mimetypes
    return accept.quality("text/html") <= accept.quality("application/json")


def _challenge(message: str) -> Response:
    response = error_response(401, message)
    response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response


def error_response(code: int, message: str) -> Response:
    """`{"error": message}` or an error page, as the client prefers (`_wants_json`); also
    the app's answer to unmatched addresses and unexpected errors (`webhook.app`).  The page
    names the signed-in user as the browser sends them (never on a 401: Gerrit refused)."""
    if _wants_json():
        response = jsonify(error=message)
    else:
        auth = credentials(request) if code != 401 else None
        viewer = {"username": auth[0]} if auth else None
        response = Response(render_template("error.html", code=code, message=message,
                                            viewer=viewer))  # fmt: skip
    response.status_code = code
    return response


def page(template: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., Response]]:
    """A view that builds the data as the viewer, then answers JSON under /api/v1 and the
    rendered template elsewhere; the errors of the data layer become 400, 401, 404 or 502."""

    def wrap(build: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
        @wraps(build)
        def view(**kw: Any) -> Response:
            viewer = _viewer()
            try:
                found = build(viewer, **kw)
            except data.BadRequest as exc:
                return error_response(400, str(exc))
            except data.NotFound as exc:
                return error_response(404, str(exc))
            except GerritError as exc:
                if exc.status == 401:
                    return _challenge("Gerrit did not accept these credentials")
                if exc.status in (403, 404):
                    return error_response(404, "not found, or not visible to you")
                log.warning("web: %s: %s", request.path, exc)
                return error_response(502, "Gerrit did not answer as expected; try again later")
            if request.path.startswith(API + "/"):
                return jsonify(found)
            return Response(render_template(template, d=found, viewer=viewer))

        return view

    return wrap


def route(
    rule: str, **options: Any
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Register a view at `rule` (the page) and at /api/v1 + `rule` (its JSON)."""

    def register(view: Callable[..., Response]) -> Callable[..., Response]:
        bp.add_url_rule(rule, view.__name__, view, **options)
        bp.add_url_rule(API + rule, "api_" + view.__name__, view, **options)
        return view

    return register


# -- pages -----------------------------------------------------------------------------------


@route("/")
@page("index.html")
def index(viewer: Viewer) -> dict[str, Any]:
    settings = _settings()
    projects = viewer.gerrit.projects.names()
    if settings.projects:
        projects = [p for p in projects if p in settings.projects]
    return {"projects": projects, "viewer": viewer.username}


@bp.get("/p/<path:project>")
def project_head(project: str) -> Response:
    """The project's HEAD branch's tree (what a clone checks out)."""
    viewer = _viewer()
    try:
        branch = viewer.gerrit.projects.head_branch(project)
    except GerritError as exc:
        if exc.status == 401:
            return _challenge("Gerrit did not accept these credentials")
        return error_response(404, "not found, or not visible to you")
    return redirect(url_for("web.tree", project=project, branch=branch, path=""))


@route("/p/<path:project>/+/<path:branch>/tree/", defaults={"path": ""})
@route("/p/<path:project>/+/<path:branch>/tree/<path:path>")
@page("tree.html")
def tree(viewer: Viewer, project: str, branch: str, path: str) -> dict[str, Any]:
    query = request.args.get("q")
    if query is not None:
        found = data.search(viewer, project, branch, query)
        return {**found, "kind": "search", "path": path}
    return data.tree(viewer, project, branch, path, _int_arg("page", 1))


@route("/p/<path:project>/+/<path:branch>/s/<name>")
@page("subsystem.html")
def subsystem(viewer: Viewer, project: str, branch: str, name: str) -> dict[str, Any]:
    return data.subsystem(viewer, _settings(), project, branch, name)


@route("/p/<path:project>/+/<path:branch>/report")
@page("report.html")
def report(viewer: Viewer, project: str, branch: str) -> dict[str, Any]:
    days = min(max(_int_arg("days", 90), 1), MAX_DAYS)
    return data.review_load(viewer, project, branch, days)


@route("/c/<int:number>")
@page("change.html")
def change(viewer: Viewer, number: int) -> dict[str, Any]:
    return data.change(viewer, _settings(), number, request.args.get("explain"))


@bp.get("/reviews")
@bp.get(API + "/reviews", endpoint="api_reviews")
def reviews() -> Response:
    """My reviews: the signed-in viewer's queue (anonymous visitors are asked to sign in)."""
    if _viewer().username is None:
        return _challenge("sign in to see the reviews waiting for you")
    return _reviews()


@page("reviews.html")
def _reviews(viewer: Viewer) -> dict[str, Any]:
    return data.reviews(viewer, _settings())


@bp.post("/c/<int:number>/ask")
def ask(number: int) -> Response:
    """Ask these owners: add the reviewers the engine suggests, as the viewer, from the change
    page's form only (`webhook.web.csrf`)."""
    viewer = _viewer()
    refused = csrf.refusal(request, _settings().password, viewer.username,
                           _settings().public_url)  # fmt: skip
    if refused:
        return error_response(403, refused)
    if viewer.username is None:
        return _challenge("sign in to add reviewers as yourself")
    try:
        asked = data.ask_owners(viewer, _settings(), number)
    except data.NotFound as exc:
        return error_response(404, str(exc))
    except GerritError as exc:
        if exc.status == 401:
            return _challenge("Gerrit did not accept these credentials")
        if exc.status in (400, 403, 404, 409):
            return error_response(exc.status, f"Gerrit refused to add the reviewers: {exc}")
        log.warning("web: %s: %s", request.path, exc)
        return error_response(502, "Gerrit did not answer as expected; try again later")
    # the page then lists the reviewers as Gerrit has them: nothing of the request is echoed
    return redirect(url_for("web.change", number=number, asked=1 if asked else 0), 303)


@bp.app_template_global("csrf_token")
def _csrf_token() -> str:
    viewer = credentials(request)
    return csrf.token(request, _settings().password, viewer[0] if viewer else None)


@bp.get("/signin")
def signin() -> Response:
    """Ask the browser for Gerrit credentials, check them against Gerrit, go back."""
    viewer = _viewer()
    target = request.args.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    if viewer.username is None:
        return _challenge("sign in with your Gerrit username and HTTP password")
    try:
        viewer.gerrit.whoami()
    except GerritError as exc:
        if exc.status in (401, 403):
            return _challenge("Gerrit did not accept these credentials")
        return error_response(502, "Gerrit did not answer; try again later")
    return redirect(target)


@bp.get("/signout")
def signout() -> Response:
    """A 401 makes most browsers drop the Basic credentials they keep for the site."""
    text = "Signed out. Close the browser to be sure."
    response = Response(render_template("error.html", code=401, viewer=None, message=text))
    response.status_code = 401
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """For clients that ask before reading a page's `<link rel="icon">`."""
    return redirect(url_for("web.static", filename="favicon.svg"))


@bp.after_request
def _headers(response: Response) -> Response:
    csrf.remember(request, response)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint == "web.static":  # the same for everyone
        filename = (request.view_args or {}).get("filename", "")
        fresh = request.args.get("v") == fingerprint(filename)
        response.headers["Cache-Control"] = ASSET_CACHE if fresh else ASSET_CACHE_UNVERSIONED
    else:  # a page or an answer as the viewer sees it (anonymous too)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Vary"] = "Authorization"
    return response


ASSET_CACHE = "public, max-age=31536000, immutable"  # its address changes with its content
ASSET_CACHE_UNVERSIONED = "public, max-age=300"
STATIC = Path(__file__).parent / "static"


def fingerprint(filename: str) -> str | None:
    """The first 12 hex digits of a static file's SHA-256 (None: no such file), read again
    when the file changes."""
    try:
        path = (STATIC / filename).resolve()
        if STATIC not in path.parents:
            return None
        stat = path.stat()
    except (OSError, ValueError):
        return None
    return _digest(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@bp.app_template_global("asset")
def _asset(filename: str) -> str:
    """A static file's address with its fingerprint, so that it may be cached for a year."""
    return url_for("web.static", filename=filename, v=fingerprint(filename))


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 7 else default


# -- template helpers ------------------------------------------------------------------------


@bp.app_template_filter("age")
def _age(seconds: float | None) -> str:
    return duration(seconds)


@bp.app_template_filter("path")
def _path(text: str) -> Markup:
    """A path that wraps after a `/`, never inside a name that fits on a line: each name (and
    its `/`) is a box of its own (`.seg` in style.css); each escaped."""
    names = text.split("/")
    parts = [escape(name + "/") for name in names[:-1]] + [escape(names[-1])]
    return Markup("").join(Markup('<span class="seg">%s</span>') % part for part in parts if part)


@bp.app_template_filter("verdict_class")
def _verdict_class(verdict: str | None) -> str:
    return data.verdict_class(verdict or "")


@bp.app_template_global("tree_url")
def _tree_url(project: str, branch: str, path: str = "") -> str:
    return url_for("web.tree", project=project, branch=branch, path=path)


@bp.app_template_global("gerrit_url")
def _gerrit_url() -> str:
    return _settings().gerrit_url


@bp.app_template_global("quote")
def _quote(text: str) -> str:
    return quote(text, safe="")


@bp.app_template_global("chart")
def _chart(d: dict[str, Any], which: str) -> Markup:
    """The review-load page's charts, drawn once per computed report (it is cached)."""
    key = (d["project"], d["branch"], d["since"], d["computed"], which, id(d))
    return CHARTS.get(key, lambda: _draw(d, which))


CHARTS: Cache[tuple[str, ...] | tuple[Any, ...], Markup] = Cache(size=256)


def _draw(d: dict[str, Any], which: str) -> Markup:
    """The review-load page's charts from `owners report`'s JSON figures."""
    if which == "waits":
        waits = [
            (
                s["subsystem"],
                s["lieutenant_wait"]["median_seconds"],
                s["root_wait"]["median_seconds"],
            )
            for s in d["subsystems"]
            if s["changes"]
        ]
        size, unit = svg.time_unit([w for _, *pair in waits for w in pair])
        rows = [(name, (svg.scaled(a, size), svg.scaled(b, size))) for name, a, b in waits]
        return svg.bars(f"Median wait for a first approval per subsystem ({unit.strip()})",
                        rows, ("lieutenants", "core (root)"), unit)  # fmt: skip
    if which == "enough":
        rows = [
            (s["subsystem"], (round(100 * (s["enough_share"] or 0)),))
            for s in d["subsystems"]
            if s["changes"]
        ]
        return svg.bars("Changes the lieutenants alone could have approved (%)", rows,
                        ("share",), "%")  # fmt: skip
    if which == "first_review":
        reviewed = [s for s in d["subsystems"] if s["first_review"]["count"]]
        waits = [s["first_review"][f"{q}_seconds"] for s in reviewed for q in ("median", "p90")]
        size, unit = svg.time_unit(waits)
        rows = [
            (
                f"{s['subsystem']} (SLA {s['review_sla']})" if s["review_sla"] else s["subsystem"],
                (
                    svg.scaled(s["first_review"]["median_seconds"], size),
                    svg.scaled(s["first_review"]["p90_seconds"], size),
                ),
            )
            for s in reviewed
        ]
        return svg.bars(f"Time to the first owner review per subsystem ({unit.strip()})",
                        rows, ("median", "p90"), unit)  # fmt: skip
    if which == "status":
        statuses = Counter(s["status"] for s in d["health"]["subsystems"])
        rows = [(status, (statuses[status],)) for status in MAINTAINERS_STATUSES]
        return svg.bars("Suggested MAINTAINERS status: subsystems", rows, ("subsystems",))
    rows = [(p["person"], (p["approvals"],)) for p in d["load"]]
    return svg.bars("Load: changes approved per person", rows, ("approvals",))
