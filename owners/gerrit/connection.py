"""Every byte the service exchanges with Gerrit goes through `GerritConnection`.

It speaks REST with pygerrit2 over HTTP basic auth, turns responses into the typed values of
`owners.gerrit.model`, caches what is safe to cache (OWNERS.yaml by commit, which never changes;
group members for a short TTL), and counts its calls so that the cost of one evaluation can
be logged and tested.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import logging
import os
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from pygerrit2 import GerritRestAPI
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from urllib3.util.retry import Retry

from owners.engine import CONFIG_PATH, Account, ChangedFile
from owners.engine.directory import Found, Lookup, Standing, remembered
from owners.engine.includes import include_paths
from owners.engine.landing import Landing, PathChange, Side, landing
from owners.engine.model import GERRIT_PREFIX, identities_of
from owners.gerrit.model import (
    BOT_TAG,
    CHANGE_OPTIONS,
    HISTORY_OPTIONS,
    BranchConfig,
    ChangeSnapshot,
    GerritError,
    UnexpectedResponse,
    account,
    change_history,
    file_modes,
    parse_files,
)
from owners.gerrit.settings import Settings
from owners.insight.review import ChangeHistory

__all__ = ["GerritConnection", "GerritError", "MetaConfig", "UnexpectedResponse"]

log = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 300.0
CONFIG_CACHE_SIZE = 256
REACHABLE_CACHE_SIZE = 100_000
LANDING_CACHE_SIZE = 1024
MAX_LANDING_PATHS = 200
PAGE_SIZE = 500
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


class GerritConnection:
    """The service's only door to Gerrit; `calls` counts the calling thread's requests."""

    def __init__(
        self,
        settings: Settings,
        *,
        rest: Any | None = None,
        group_ttl: float = GROUP_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[GerritError], None] | None = None,
    ):
        self.settings = settings
        self._user: str | None = settings.user  # whose credentials; None: a web viewer's
        self.rest = rest or GerritRestAPI(
            url=settings.gerrit_url,
            auth=HTTPBasicAuth(settings.user, settings.password),
            adapter=HTTPAdapter(max_retries=RETRY),
        )
        self._counts = threading.local()
        self.on_error = on_error  # told of every failed call (metrics)
        self._group_ttl = group_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._groups: dict[str, tuple[float, tuple[str, ...] | None]] = {}
        self._groups_generation = 0  # bumped by forget_groups: answers read before are stale
        self._configs: OrderedDict[tuple[str, str], bytes | None] = OrderedDict()
        self._reachable: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._emails: dict[str, tuple[float, tuple[Account, ...]]] = {}
        self._landings: OrderedDict[tuple[str, str], Landing | None] = OrderedDict()

    @classmethod
    def as_viewer(
        cls, settings: Settings, auth: tuple[str, str] | None, **kw: Any
    ) -> GerritConnection:
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

    # -- transport -------------------------------------------------------------------------

    def _call(
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

    def _count_call(self) -> None:
        self._counts.value = self.calls + 1

    def _send(
        self, method: str, path: str, body: Any = None, *, missing_ok: bool = False, **kw: Any
    ) -> Any:
        self._count_call()
        if body is not None:
            kw["json"] = body
        call = f"{method.upper()} {path}"
        try:
            answer = getattr(self.rest, method)(path, timeout=TIMEOUT_SECONDS, **kw)
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

    def get(self, path: str, *, missing_ok: bool = False, **kw: Any) -> Any:
        return self._call("get", path, missing_ok=missing_ok, **kw)

    def put(self, path: str, body: Any = None) -> Any:
        return self._call("put", path, body)

    def post(self, path: str, body: Any = None) -> Any:
        return self._call("post", path, body)

    def whoami(self) -> str:
        """The bot's username as Gerrit knows it: proves Gerrit answers its credentials."""
        return str(_mapping(self.get("accounts/self")).get("username") or "")

    # -- changes ---------------------------------------------------------------------------

    def change(self, number: int, project: str | None = None) -> ChangeSnapshot:
        """One GET for the whole truth of a change; a merge costs one more per parent.

        Gerrit lists a merge's files against the auto-merge (only the conflict resolutions),
        so a merge's files are re-read against each of its parents and united: a file that
        differs from any parent is one the merge brings in or drops, whichever parent the
        target branch turns out to hold.
        """
        return self.change_and_info(number, project)[0]

    def change_and_info(
        self, number: int, project: str | None = None
    ) -> tuple[ChangeSnapshot, dict[str, Any]]:
        """`change`, and the ChangeInfo it was read from (subject, dates and messages, for the
        web pages), at the same cost."""
        ref = change_ref(project, number)
        info = _mapping(self.get(f"changes/{ref}", params={"o": list(CHANGE_OPTIONS)}))
        snapshot = ChangeSnapshot.from_change_info(info)
        if snapshot.merge:
            changed: dict[ChangedFile, None] = {}
            deleted: set[str] = set()
            for parent in range(1, len(snapshot.parents) + 1):
                files = self.get(
                    f"changes/{ref}/revisions/{snapshot.revision}/files",
                    params={"parent": parent},
                )
                these, gone = parse_files(_mapping(files))
                changed.update(dict.fromkeys(these))
                deleted.update(gone)
            snapshot = replace(snapshot, files=tuple(changed), deleted_files=frozenset(deleted))
        return snapshot, info

    def change_summary(self, number: int) -> dict[str, Any] | None:
        """A change's ChangeInfo with its current revision (status, project, branch,
        current_revision); None if the bot cannot see it."""
        info = self.get(f"changes/{number}", missing_ok=True, params={"o": "CURRENT_REVISION"})
        return _mapping(info) if info is not None else None

    def is_pure_revert(self, snapshot: ChangeSnapshot) -> bool:
        """Gerrit's own answer to whether the change's current patch set exactly undoes the
        change it names in `revert_of` (GET /changes/{id}/pure_revert)."""
        ref = change_ref(snapshot.project, snapshot.number)
        info = self.get(f"changes/{ref}/pure_revert", missing_ok=True)
        return info is not None and _mapping(info).get("is_pure_revert") is True

    def landing(self, project: str, number: int, revision: str) -> Landing | None:
        """What a revision of a change lands: each path its diff against its own parent
        changes, with the mode and a digest of the content on both sides (see
        `owners.engine.landing`); None for a merge, which has no one diff, and for a revision
        changing more than `MAX_LANDING_PATHS` paths, which is not worth comparing.

        A revision never changes, so its landing is cached.  The first time it costs a call
        for the commit, one for its files and two per path (the content in the parent and in
        the revision, read by commit: a parent shared by several patch sets is read once).
        """
        key = (project, revision)
        with self._lock:
            if key in self._landings:
                self._landings.move_to_end(key)
                return self._landings[key]
        ref = change_ref(project, number)
        commit = _mapping(self.get(f"changes/{ref}/revisions/{revision}/commit"))
        parents = [p.get("commit") for p in commit.get("parents") or () if isinstance(p, dict)]
        found: Landing | None = None
        if len(parents) == 1 and isinstance(parents[0], str):
            files = _mapping(self.get(f"changes/{ref}/revisions/{revision}/files"))
            modes = file_modes(files)
            if len(modes) <= MAX_LANDING_PATHS:
                found = landing(
                    (
                        path,
                        PathChange(
                            self._side(project, parents[0], path, before),
                            self._side(project, revision, path, after),
                        ),
                    )
                    for path, (before, after) in modes.items()
                )
        with self._lock:
            self._landings[key] = found
            while len(self._landings) > LANDING_CACHE_SIZE:
                self._landings.popitem(last=False)
        return found

    def _side(self, project: str, commit: str, path: str, mode: int) -> Side | None:
        """A path's mode and content digest at a commit; None where it does not exist."""
        content = self._file(f"projects/{encode(project)}/commits/{commit}/files/{encode(path)}")
        return None if content is None else Side(mode, hashlib.sha256(content).hexdigest())

    def foreign_parents(self, snapshot: ChangeSnapshot, head: str) -> tuple[str, ...]:
        """The parents of the change's revision that a submit would bring into its branch
        unreviewed: neither reachable from the branch (`head` is its tip) nor the current
        patch set of another open change for it, which Gerrit submits with this one and
        which is judged on its own.

        Costs no call when the parent is the tip, one per other parent new to the cache (a
        commit on a branch stays there), and one per parent that is another open change.
        """
        return tuple(
            parent
            for parent in snapshot.parents
            if parent != head
            and not self._on_branch(snapshot.project, snapshot.branch, parent)
            and not self._open_change_at(snapshot, parent)
        )

    def _on_branch(self, project: str, branch: str, commit: str) -> bool:
        key = (project, branch, commit)
        with self._lock:
            if key in self._reachable:
                self._reachable.move_to_end(key)
                return True
        info = self.get(f"projects/{encode(project)}/commits/{commit}/in", missing_ok=True)
        branches = _mapping(info).get("branches") if info is not None else None
        if not isinstance(branches, list):
            return False
        if branch not in branches and f"refs/heads/{branch}" not in branches:
            return False
        with self._lock:
            self._reachable[key] = None
            while len(self._reachable) > REACHABLE_CACHE_SIZE:
                self._reachable.popitem(last=False)
        return True

    def _open_change_at(self, snapshot: ChangeSnapshot, commit: str) -> bool:
        query = (
            f'commit:{commit} status:open project:"{quoted(snapshot.project)}" '
            f'branch:"{quoted(snapshot.branch)}"'
        )
        return any(
            info.get("current_revision") == commit and info.get("_number") != snapshot.number
            for info in self.query(query, ("CURRENT_REVISION",), page_size=10)
        )

    def accounts_with_email(self, email: str) -> tuple[Account, ...]:
        """The accounts Gerrit finds for an email, with all their emails (ALL_EMAILS; the
        setup grants the bot View Secondary Emails), to tell whether a commit's author or
        committer is also a voter, or the owner (`implicit_approval`).  Gerrit's search may
        be broader than an exact match, which here only withholds votes (the implicit
        approval compares the emails exactly).  Cached like group members."""
        now = self._clock()
        with self._lock:
            cached = self._emails.get(email)
            if cached and cached[0] > now:
                return cached[1]
        found = self.get(
            "accounts/",
            params={"q": f'email:"{quoted(email)}"', "o": ["DETAILS", "ALL_EMAILS"]},
        )
        if not isinstance(found, list) or not all(isinstance(a, dict) for a in found):
            raise UnexpectedResponse("GET accounts/: an account query did not return a list")
        accounts = tuple(account(a) for a in found)
        with self._lock:
            self._emails[email] = (now + self._group_ttl, accounts)
        return accounts

    def file_in_revision(self, snapshot: ChangeSnapshot, path: str = CONFIG_PATH) -> bytes | None:
        """A file as the change's current patch set has it (None if the patch set lacks it)."""
        ref = change_ref(snapshot.project, snapshot.number)
        return self._file(f"changes/{ref}/revisions/{snapshot.revision}/files/{encode(path)}")

    def open_changes(self, project: str, branch: str | None = None) -> list[int]:
        """Numbers of the open changes of a project, or of one of its branches."""
        query = f'status:open project:"{quoted(project)}"'
        if branch:
            query += f' branch:"{quoted(branch)}"'
        return [_number(info) for info in self.query(query)]

    def dependents(self, project: str, number: int) -> list[int]:
        """The open changes of the change's branch whose current revision has one of the
        change's revisions (any patch set) as a parent: a stack on it, or a merge of it.

        Their verdict depends on whether that parent is the current patch set of an open
        change (`foreign_parents`).  One call for the change's revisions, one query per 500
        open changes of its branch; Gerrit's related changes would be one call, but rest on
        Gerrit's patch set groups rather than on the parents themselves.  A change the bot may
        not read has none it could judge otherwise: to the bot, its revisions are no open
        change's, whatever happens to it."""
        found_info = self.get(
            f"changes/{change_ref(project, number)}",
            missing_ok=True,
            params={"o": "ALL_REVISIONS"},
        )
        if found_info is None:
            return []
        info = _mapping(found_info)
        revisions, branch = info.get("revisions"), info.get("branch")
        if not isinstance(revisions, dict) or not isinstance(branch, str):
            raise UnexpectedResponse("a change answer lacks its revisions or branch")
        query = f'status:open project:"{quoted(project)}" branch:"{quoted(branch)}"'
        found = []
        for other in self.query(query, ("CURRENT_REVISION", "CURRENT_COMMIT")):
            if _number(other) == number:
                continue
            try:
                commit = other["revisions"][other["current_revision"]]["commit"]
                parents = {parent["commit"] for parent in commit["parents"]}
            except (KeyError, TypeError):
                raise UnexpectedResponse("a change in a query answer lacks its parents") from None
            if parents & revisions.keys():
                found.append(_number(other))
        return found

    def changes_reviewed_by(self, account_id: int) -> list[tuple[str, int]]:
        """The open changes of the watched projects (all, when none is set) on which the
        account is a reviewer, as (project, number): every change where its vote may count,
        since voting makes Gerrit add the voter as a reviewer."""
        projects = sorted(self.settings.projects)
        scopes = [f' project:"{quoted(p)}"' for p in projects] or [""]
        found = []
        for scope in scopes:
            for info in self.query(f"status:open reviewer:{account_id}{scope}"):
                project = info.get("project")
                if not isinstance(project, str):
                    raise UnexpectedResponse("a change in a query answer lacks its project")
                if self.settings.watches(project):
                    found.append((project, _number(info)))
        return found

    def query(
        self, query: str, options: Sequence[str] = (), *, page_size: int = PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """ChangeInfos matching a query, page by page (`page_size` per call), following
        `_more_changes` on the last of each page."""
        start = 0
        while True:
            params: dict[str, Any] = {"q": query, "n": page_size, "S": start}
            if options:
                params["o"] = list(options)
            page = self.get("changes/", params=params)
            if not isinstance(page, list) or not all(isinstance(c, dict) for c in page):
                raise UnexpectedResponse("GET changes/: a change query did not return a list")
            yield from page
            start += len(page)
            if not page or not page[-1].get("_more_changes"):
                return

    def change_histories(
        self,
        project: str,
        branch: str,
        since: datetime,
        label: str,
        *,
        page_size: int | None = None,
    ) -> list[ChangeHistory]:
        """Every change of a branch updated at or after `since`, with its votes on `label`
        as they were cast: one query, `page_size` (default `PAGE_SIZE`) changes per call."""
        after = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        query = f'project:"{quoted(project)}" branch:"{quoted(branch)}" after:"{after}"'
        return [
            change_history(info, label)
            for info in self.query(query, HISTORY_OPTIONS, page_size=page_size or PAGE_SIZE)
        ]

    def overrides(
        self, project: str, branch: str, since: datetime, label: str
    ) -> list[tuple[int, str, str]]:
        """Changes of a branch updated since `since` that carry a +1 on the override label,
        as (number, who, what the bot said was unmet), from the bot's own override line:
        the audit trail of break-glass submits, for `owners report`."""
        after = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        query = (
            f'project:"{quoted(project)}" branch:"{quoted(branch)}" after:"{after}" '
            f'label:"{quoted(label)}=1"'
        )
        found = []
        for info in self.query(query, ("MESSAGES", "DETAILED_ACCOUNTS")):
            said = [
                m.get("message") or ""
                for m in info.get("messages") or ()
                if m.get("tag") == BOT_TAG
                and (m.get("author") or {}).get("username") == self.settings.user
            ]
            lines = [
                line
                for text in said
                for line in text.splitlines()
                if line.startswith(f"Overridden with {label}+1 by ")
            ]
            if lines:
                who, _, unmet = lines[-1][len(f"Overridden with {label}+1 by ") :].partition(
                    "; requirements unmet: "
                )
                found.append((_number(info), who, unmet.rstrip(".")))
            else:
                found.append((_number(info), "?", "not reported by the bot"))
        return found

    def open_change_histories(self, project: str, branch: str, label: str) -> list[ChangeHistory]:
        """The open changes of a branch with their votes on `label`, oldest first: one
        query (a call per `PAGE_SIZE` changes), for the web's queue of a subsystem."""
        query = f'status:open project:"{quoted(project)}" branch:"{quoted(branch)}"'
        found = [change_history(info, label) for info in self.query(query, HISTORY_OPTIONS)]
        return sorted(found, key=lambda h: (h.created, h.number))

    def projects(self, limit: int = 500) -> list[str]:
        """Names of the projects the connection's account can see (the web's front page),
        less those holding only permissions (All-Projects, All-Users: no branch to browse)."""
        found = self.get("projects/", params={"n": limit, "type": "CODE"})
        return sorted(_mapping(found)) if found else []

    def branch_files(
        self, project: str, branch: str, auth: tuple[str, str] | None
    ) -> tuple[str, tuple[str, ...]]:
        """The branch head and every file path in its tree, fetched over git as `auth` (None:
        Gerrit's anonymous user), since Gerrit's REST API has no tree listing: a shallow,
        blobless fetch when the server allows filters.  One counted call."""
        with tempfile.TemporaryDirectory(prefix="owners-tree-") as scratch:
            repo = Path(scratch)
            git = functools.partial(self._git_as, auth, repo)
            git("init", "--quiet", "--bare")
            url = f"{self.settings.gerrit_url}{'/a' if auth else ''}/{quote(project)}"
            git("fetch", "--quiet", "--depth=1", "--filter=blob:none", url, f"refs/heads/{branch}")
            head = git("rev-parse", "FETCH_HEAD").decode().strip()
            listing = git("ls-tree", "-r", "-z", "--full-tree", "--name-only", head)
        names = tuple(sorted(n.decode("utf-8", "replace") for n in listing.split(b"\0") if n))
        return head, names

    def _git_as(self, auth: tuple[str, str] | None, repo: Path, *args: str) -> bytes:
        """Run git as `auth` (None: anonymously); a failed fetch is a 404, since Gerrit
        answers a project the viewer may not see exactly as one that does not exist."""
        done = self._run_git(repo, args, auth)
        if done.returncode != 0:
            status = 404 if args[0] == "fetch" else None
            raise GerritError(f"git {args[0]}: {git_error(done.stderr)}", status)
        return done.stdout

    def review(
        self,
        snapshot: ChangeSnapshot,
        *,
        label: str,
        vote: int | None,
        message: str | None,
        reviewers: Sequence[str] = (),
    ) -> None:
        """Post one review on the evaluated patch set (not `current`: a patch set uploaded
        since the evaluation must not receive a vote computed for another one)."""
        body: dict[str, Any] = {
            "tag": BOT_TAG,
            "notify": "OWNER_REVIEWERS" if reviewers else ("OWNER" if message else "NONE"),
            "ignore_automatic_attention_set_rules": True,
        }
        if vote is not None:
            body["labels"] = {label: vote}
        if message:
            body["message"] = message
        if reviewers:
            body["reviewers"] = [{"reviewer": r} for r in reviewers]
        path = (
            f"changes/{change_ref(snapshot.project, snapshot.number)}"
            f"/revisions/{snapshot.revision}/review"
        )
        try:
            self.post(path, body)
        except GerritError as exc:
            if exc.status == 400 and reviewers:
                # One unknown or inactive reviewer fails the whole review: post without them.
                log.warning(
                    "change %s: could not add reviewers %s: %s",
                    snapshot.number,
                    ", ".join(reviewers),
                    exc,
                )
                body.pop("reviewers")
                body["notify"] = "OWNER" if message else "NONE"
                self.post(path, body)
            elif exc.status == 409:
                log.info("change %s closed before the review was posted: %s", snapshot.number, exc)
            else:
                raise

    def set_hashtags(
        self, snapshot: ChangeSnapshot, add: Sequence[str], remove: Sequence[str]
    ) -> None:
        """Add and remove hashtags on a change.  Only the dashboards read them, so a refusal
        (a site whose bot may not edit hashtags: `owners gerrit-setup` grants it) is logged,
        never raised: the vote is already posted."""
        path = f"changes/{change_ref(snapshot.project, snapshot.number)}/hashtags"
        try:
            self.post(path, {"add": list(add), "remove": list(remove)})
        except GerritError as exc:
            if exc.status not in (403, 409):
                raise
            log.warning(
                "change %s: could not set the owners-needs hashtags (%s); run "
                "`owners gerrit-setup --project %s`",
                snapshot.number,
                exc,
                snapshot.project,
            )

    def _file(self, path: str) -> bytes | None:
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

    # -- branches and OWNERS.yaml ----------------------------------------------------------

    def head_branch(self, project: str) -> str:
        """The branch the project's HEAD names (what a clone checks out), e.g. master."""
        # The answer is a JSON string, which only the content type tells from a proxy's text.
        head, response = self.get(f"projects/{encode(project)}/HEAD", return_response=True)
        kind = response.headers.get("Content-Type", "").split(";")[0].strip()
        if kind != "application/json" or not isinstance(head, str):
            raise UnexpectedResponse(f"GET projects/{project}/HEAD: not a JSON string")
        if not head.startswith("refs/heads/"):
            raise UnexpectedResponse(f"project {project} has no HEAD branch")
        return head[len("refs/heads/") :]

    def branch_head(self, project: str, branch: str) -> str | None:
        info = self.get(f"projects/{encode(project)}/branches/{encode(branch)}", missing_ok=True)
        if info is None:
            return None
        revision = _mapping(info).get("revision")
        if not isinstance(revision, str) or not revision:
            raise UnexpectedResponse(f"branch {branch} of {project} has no revision")
        return revision

    def config_at(self, project: str, commit: str, path: str = CONFIG_PATH) -> bytes | None:
        """OWNERS.yaml (or an included file) at a commit, None when absent; cached since
        commits are fixed."""
        key = (project, commit if path == CONFIG_PATH else f"{commit}:{path}")
        with self._lock:
            if key in self._configs:
                self._configs.move_to_end(key)
                return self._configs[key]
        content = self._file(f"projects/{encode(project)}/commits/{commit}/files/{encode(path)}")
        with self._lock:
            self._configs[key] = content
            while len(self._configs) > CONFIG_CACHE_SIZE:
                self._configs.popitem(last=False)
        return content

    def branch_config(self, project: str, branch: str) -> BranchConfig:
        """The branch's OWNERS.yaml at its head: one call, two when the head is new to us."""
        head = self.branch_head(project, branch)
        if head is None:
            return BranchConfig(project, branch, "", None)
        content = self.config_at(project, head)
        return BranchConfig(project, branch, head, content, self.included_at(project, head))

    def included_at(
        self, project: str, commit: str, content: bytes | None = None
    ) -> tuple[tuple[str, bytes | None], ...]:
        """The files the commit's OWNERS.yaml includes, read at that commit: one call per
        file new to the cache, none for a file without `include:`."""
        content = self.config_at(project, commit) if content is None else content
        return tuple((p, self.config_at(project, commit, p)) for p in include_paths(content))

    # -- groups ----------------------------------------------------------------------------

    def forget_groups(self) -> None:
        """Drop cached group members, so the next evaluation reads them afresh (after a group
        change was reported from All-Users, or the reconciler saw one)."""
        with self._lock:
            self._groups.clear()
            self._groups_generation += 1

    def group_members(self, name: str, *, fresh: bool = False) -> tuple[str, ...] | None:
        """Usernames and emails of a group's members, recursively; None if the bot cannot see
        the group.  Cached for `group_ttl` seconds (unless `fresh`), or until `forget_groups`:
        group changes are reported only where All-Users' webhook is set up."""
        now = self._clock()
        with self._lock:
            cached = self._groups.get(name)
            if cached and cached[0] > now and not fresh:
                return cached[1]
            generation = self._groups_generation
        data = self.get(f"groups/{encode(name)}/members/?recursive", missing_ok=True)
        members = None if data is None else tuple(_identities(data))
        if members is None:
            log.warning(
                "Gerrit group '%s' not found or not visible to %s", name, self.settings.user
            )
        with self._lock:
            # Members read before a group change was reported must not be cached after it.
            if generation == self._groups_generation:
                self._groups[name] = (now + self._group_ttl, members)
        return members

    # -- the names OWNERS.yaml uses (owners validate --gerrit, proposed OWNERS.yaml) -------

    def directory(self) -> Lookup:
        """A lookup of usernames, emails and `gerrit:` groups for one run (a validation, or
        one evaluation of a proposed OWNERS.yaml): each name is asked once per run, and a
        new run sees accounts and groups as they are then."""
        return remembered(self.find_identity)

    def find_identity(self, identity: str) -> Found:
        """What Gerrit knows of one owners identity, compared exactly as the engine does.

        One call for a person: an account query with `is:active OR is:inactive`, because
        `GET accounts/{name}` answers an inactive account with the same 404 as a missing one
        and resolves loosely (`Alice` finds `alice`, a number finds an account ID, an email
        any holder); the query's answers are then compared exactly, and near misses kept for
        the hint.  Two calls for a group: `GET groups/{name}` (404 also when the account
        cannot see it) and its members, recursively, of whom the active ones count.
        """
        if identity.startswith(GERRIT_PREFIX):
            name = identity[len(GERRIT_PREFIX) :]
            info = self.get(f"groups/{encode(name)}", missing_ok=True)
            if info is None:
                return Found(Standing.UNKNOWN)
            group = _mapping(info)
            members = self.get(f"groups/{encode(str(group.get('id') or name))}/members/?recursive")
            if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
                raise UnexpectedResponse(f"GET groups/{name}/members/: not a list of accounts")
            active = frozenset(
                m["_account_id"]
                for m in members
                if isinstance(m.get("_account_id"), int) and not m.get("inactive")
            )
            spelling = group.get("name")
            return Found(Standing.ACTIVE, active, spelling if isinstance(spelling, str) else None)
        field = "email" if "@" in identity else "username"
        query = f'{field}:"{quoted(identity)}" (is:active OR is:inactive)'
        found = self.get("accounts/", params={"q": query, "o": "DETAILS"})
        if not isinstance(found, list) or not all(isinstance(a, dict) for a in found):
            raise UnexpectedResponse("GET accounts/: an account query did not return a list")
        exact = [a for a in found if a.get(field) == identity]
        active = frozenset(
            a["_account_id"]
            for a in exact
            if not a.get("inactive") and isinstance(a.get("_account_id"), int)
        )
        if active:
            return Found(Standing.ACTIVE, active)
        if exact:
            return Found(Standing.INACTIVE)
        near = tuple(
            f"{a[field]} ({a.get('username') or a.get('_account_id')})"
            if field == "email"
            else str(a[field])
            for a in found
            if isinstance(a.get(field), str) and a[field].lower() == identity.lower()
        )
        return Found(Standing.UNKNOWN, near=near)

    # -- access rights, labels and submit requirements (owners audit) --------------------

    def access_chain(self, project: str, *, limit: int = 64) -> list[dict[str, Any]]:
        """The project's own access rights, labels and submit requirements, then its
        parent's, up the `inherits_from` chain to All-Projects: 3 calls per project.  The
        answers are kept raw (`owners.gerrit.audit.parse_project` reads them) so that tests replay
        recorded ones."""
        chain: list[dict[str, Any]] = []
        name: str | None = project
        while name:
            if any(entry["project"] == name for entry in chain) or len(chain) >= limit:
                raise UnexpectedResponse(f"projects/{project}/access: inheritance loops")
            path = f"projects/{encode(name)}"
            access = _mapping(self.get(f"{path}/access"))
            if access.get("config_visible") is False:
                raise GerritError(
                    f"GET {path}/access: {self.settings.user} cannot read refs/meta/config of "
                    f"{name}, so the rights shown would be incomplete (run as an owner or admin)"
                )
            labels = self.get(f"{path}/labels/")
            requirements = self.get(f"{path}/submit_requirements/")
            if not isinstance(labels, list) or not isinstance(requirements, list):
                raise UnexpectedResponse(f"GET {path}/labels/: expected lists")
            chain.append(
                {
                    "project": name,
                    "access": access,
                    "labels": labels,
                    "submit_requirements": requirements,
                }
            )
            parent = access.get("inherits_from") or {}
            name = parent.get("name") or parent.get("id")
        return chain

    def group_accounts(self, group: str) -> list[dict[str, Any]]:
        """Every account in `group`, through included groups too, as Gerrit answers
        `GET /groups/{group}/members/?recursive` (kept raw for `owners.gerrit.audit`); empty when
        there is no such group."""
        members = self.get(f"groups/{encode(group)}/members/?recursive", missing_ok=True)
        if members is None:
            return []
        if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
            raise UnexpectedResponse(f"GET groups/{group}/members/: not a list of accounts")
        return members

    # -- refs/meta/config files (no REST endpoint writes a plugin's file there) -----------

    @contextlib.contextmanager
    def meta_config(self, project: str) -> Iterator[MetaConfig]:
        """A scratch copy of the project's refs/meta/config; what is written is pushed back
        as one commit by the connection's account when the block ends without error."""
        with tempfile.TemporaryDirectory(prefix="owners-meta-") as scratch:
            meta = MetaConfig(self, project, Path(scratch))
            yield meta
            meta.push()

    def git(
        self, repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> bytes:
        """Run git against Gerrit over HTTP as the bot."""
        done = self._run_git(repo, args, (self.settings.user, self.settings.password), stdin, env)
        if done.returncode != 0:
            raise GerritError(f"git {args[0]}: {git_error(done.stderr)}")
        return done.stdout

    def _run_git(
        self,
        repo: Path,
        args: Sequence[str],
        auth: tuple[str, str] | None,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """git, with the credentials in its environment (an HTTP header set through
        GIT_CONFIG_*), never on its command line; fetches and pushes count as calls."""
        full_env = {
            **os.environ,
            **(env or {}),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            full_env |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}",
            }
        if args and args[0] in ("fetch", "push"):
            self._count_call()
        return subprocess.run(
            ["git", *args], cwd=repo, env=full_env, input=stdin, capture_output=True, check=False
        )

    def git_url(self, project: str) -> str:
        return f"{self.settings.gerrit_url}/a/{quote(project)}"


class MetaConfig:
    """Files of refs/meta/config, read and written with git plumbing in a scratch repo."""

    REF = "refs/meta/config"

    def __init__(self, gerrit: GerritConnection, project: str, repo: Path):
        self.gerrit = gerrit
        self.project = project
        self.repo = repo
        self._writes: dict[str, bytes] = {}
        self._messages: list[str] = []
        gerrit.git(repo, "init", "--quiet", "--bare")
        gerrit.git(repo, "fetch", "--quiet", gerrit.git_url(project), self.REF)
        self.parent = gerrit.git(repo, "rev-parse", "FETCH_HEAD").decode().strip()

    def read(self, name: str) -> bytes | None:
        if name in self._writes:
            return self._writes[name]
        try:
            return self.gerrit.git(self.repo, "cat-file", "blob", f"{self.parent}:{name}")
        except GerritError:
            return None

    def write(self, name: str, content: bytes, message: str) -> None:
        self._writes[name] = content
        self._messages.append(message)

    def push(self) -> None:
        if not self._writes:
            return
        git, repo = self.gerrit.git, self.repo
        index = {"GIT_INDEX_FILE": str(repo / "owners-index")}
        git(repo, "read-tree", self.parent, env=index)
        for name, content in self._writes.items():
            blob = git(repo, "hash-object", "-w", "--stdin", stdin=content).decode().strip()
            info = f"100644,{blob},{name}"
            git(repo, "update-index", "--add", "--cacheinfo", info, env=index)
        tree = git(repo, "write-tree", env=index).decode().strip()
        # Gerrit refuses a commit whose committer is not the pushing account (Forge Committer).
        me = _mapping(self.gerrit.get("accounts/self"))
        who = me.get("name") or me.get("username") or self.gerrit.settings.user
        email = me.get("email") or ""
        identity = {
            "GIT_AUTHOR_NAME": who,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": who,
            "GIT_COMMITTER_EMAIL": email,
        }
        message = "\n".join(self._messages).encode() + b"\n"
        commit = git(repo, "commit-tree", tree, "-p", self.parent, stdin=message, env=identity)
        target = f"{commit.decode().strip()}:{self.REF}"
        try:
            git(repo, "push", "--quiet", self.gerrit.git_url(self.project), target)
        except GerritError as error:
            if "rejected" not in str(error):
                raise
            raise GerritError(
                f"{error}; {self.gerrit.settings.user} needs Push on {self.REF} of "
                f"{self.project} (new Gerrit 3.11 sites grant it to no one, see docs/deployment.md)"
            ) from None


def git_error(stderr: bytes) -> str:
    """The line of git's stderr that says why it failed: Gerrit's ``[remote rejected] ...
    (reason)`` on a refused push, since the last line ("failed to push some refs") does not."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    rejected = [line.strip() for line in lines if "[remote rejected]" in line]
    if rejected:
        return rejected[0]
    return lines[-1] if lines else "failed"


def _identities(accounts: Any) -> Iterator[str]:
    """The names by which owners entries may reach these accounts (see `identities_of`)."""
    if not isinstance(accounts, list) or not all(isinstance(a, dict) for a in accounts):
        raise UnexpectedResponse("group members did not return a list of accounts")
    for info in accounts:
        names = (info.get("username"), info.get("email"))
        if all(n is None or isinstance(n, str) for n in names):
            yield from identities_of(*names)


def _number(info: dict[str, Any]) -> int:
    number = info.get("_number")
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise UnexpectedResponse("a change in a query answer has no valid _number")
    return number


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


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnexpectedResponse(f"expected a JSON object from Gerrit, got {type(value).__name__}")
    return value


def _base64(data: str | bytes) -> bytes:
    try:
        return base64.b64decode(data, validate=False)
    except (ValueError, TypeError) as exc:
        raise UnexpectedResponse(f"file content is not base64: {exc}") from None
