"""What the service asks about changes: one change's whole truth, the landing of a revision,
what a submit would bring in, the changes a query finds, and the review the bot posts.

Built on `owners.gerrit.rest.Rest`; it owns the caches of what never changes once read (a
revision's landing, a commit being on a branch), so that callers reach them through the
changes they ask about, never through the transport.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from owners.engine import CONFIG_PATH, ChangedFile
from owners.engine.landing import Landing, PathChange, Side, landing
from owners.gerrit.model import (
    BOT_TAG,
    CHANGE_OPTIONS,
    HISTORY_OPTIONS,
    ChangeSnapshot,
    GerritError,
    UnexpectedResponse,
    change_history,
    file_modes,
    parse_files,
)
from owners.gerrit.rest import Rest, change_ref, encode, json_object, quoted
from owners.insight.review import ChangeHistory

__all__ = ["Changes", "open_changes_query"]

log = logging.getLogger(__name__)

REACHABLE_CACHE_SIZE = 100_000
LANDING_CACHE_SIZE = 1024
MAX_LANDING_PATHS = 200
PAGE_SIZE = 500


class Changes:
    """Changes, read and reviewed through one transport (whose `calls` count these too)."""

    def __init__(self, rest: Rest):
        self.rest = rest
        self._lock = threading.Lock()
        self._reachable: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._landings: OrderedDict[tuple[str, str], Landing | None] = OrderedDict()

    # -- one change ------------------------------------------------------------------------

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
        info = json_object(self.rest.get(f"changes/{ref}", params={"o": list(CHANGE_OPTIONS)}))
        return self._snapshot(info), info

    def snapshots(self, query: str) -> Iterator[tuple[ChangeSnapshot, dict[str, Any]]]:
        """`change_and_info` of every change a query finds, at one call per `PAGE_SIZE`
        changes (a merge costs one more per parent): what re-judging many changes at once
        reads, instead of one call per change."""
        for info in self.query(query, CHANGE_OPTIONS):
            yield self._snapshot(info), info

    def _snapshot(self, info: dict[str, Any]) -> ChangeSnapshot:
        """The snapshot of a ChangeInfo read with `CHANGE_OPTIONS`, a merge's files re-read
        against each of its parents."""
        snapshot = ChangeSnapshot.from_change_info(info)
        ref = change_ref(snapshot.project, snapshot.number)
        if snapshot.merge:
            changed: dict[ChangedFile, None] = {}
            deleted: set[str] = set()
            for parent in range(1, len(snapshot.parents) + 1):
                files = self.rest.get(
                    f"changes/{ref}/revisions/{snapshot.revision}/files",
                    params={"parent": parent},
                )
                these, gone = parse_files(json_object(files))
                changed.update(dict.fromkeys(these))
                deleted.update(gone)
            snapshot = replace(snapshot, files=tuple(changed), deleted_files=frozenset(deleted))
        return snapshot

    def change_summary(self, number: int) -> dict[str, Any] | None:
        """A change's ChangeInfo with its current revision (status, project, branch,
        current_revision); None if the bot cannot see it."""
        info = self.rest.get(f"changes/{number}", missing_ok=True, params={"o": "CURRENT_REVISION"})
        return json_object(info) if info is not None else None

    def is_pure_revert(self, snapshot: ChangeSnapshot) -> bool:
        """Gerrit's own answer to whether the change's current patch set exactly undoes the
        change it names in `revert_of` (GET /changes/{id}/pure_revert)."""
        ref = change_ref(snapshot.project, snapshot.number)
        info = self.rest.get(f"changes/{ref}/pure_revert", missing_ok=True)
        return info is not None and json_object(info).get("is_pure_revert") is True

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
        commit = json_object(self.rest.get(f"changes/{ref}/revisions/{revision}/commit"))
        parents = [p.get("commit") for p in commit.get("parents") or () if isinstance(p, dict)]
        found: Landing | None = None
        if len(parents) == 1 and isinstance(parents[0], str):
            files = json_object(self.rest.get(f"changes/{ref}/revisions/{revision}/files"))
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
        content = self.rest.content(
            f"projects/{encode(project)}/commits/{commit}/files/{encode(path)}"
        )
        return None if content is None else Side(mode, hashlib.sha256(content).hexdigest())

    # -- what a submit would bring in ------------------------------------------------------

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
        info = self.rest.get(f"projects/{encode(project)}/commits/{commit}/in", missing_ok=True)
        branches = json_object(info).get("branches") if info is not None else None
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

    # -- a file as a patch set has it ------------------------------------------------------

    def file_in_revision(self, snapshot: ChangeSnapshot, path: str = CONFIG_PATH) -> bytes | None:
        """A file as the change's current patch set has it (None if the patch set lacks it)."""
        ref = change_ref(snapshot.project, snapshot.number)
        return self.rest.content(
            f"changes/{ref}/revisions/{snapshot.revision}/files/{encode(path)}"
        )

    # -- changes a query finds -------------------------------------------------------------

    def open_changes(self, project: str, branch: str | None = None) -> list[int]:
        """Numbers of the open changes of a project, or of one of its branches."""
        return [_number(info) for info in self.query(open_changes_query(project, branch))]

    def dependents(self, project: str, number: int) -> list[int]:
        """The open changes of the change's branch whose current revision has one of the
        change's revisions (any patch set) as a parent: a stack on it, or a merge of it.

        Their verdict depends on whether that parent is the current patch set of an open
        change (`foreign_parents`).  One call for the change's revisions, one query per 500
        open changes of its branch; Gerrit's related changes would be one call, but rest on
        Gerrit's patch set groups rather than on the parents themselves.  A change the bot may
        not read has none it could judge otherwise: to the bot, its revisions are no open
        change's, whatever happens to it."""
        found_info = self.rest.get(
            f"changes/{change_ref(project, number)}",
            missing_ok=True,
            params={"o": "ALL_REVISIONS"},
        )
        if found_info is None:
            return []
        info = json_object(found_info)
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
        projects = sorted(self.rest.settings.projects)
        scopes = [f' project:"{quoted(p)}"' for p in projects] or [""]
        found = []
        for scope in scopes:
            for info in self.query(f"status:open reviewer:{account_id}{scope}"):
                project = info.get("project")
                if not isinstance(project, str):
                    raise UnexpectedResponse("a change in a query answer lacks its project")
                if self.rest.settings.watches(project):
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
            page = self.rest.get("changes/", params=params)
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
                and (m.get("author") or {}).get("username") == self.rest.settings.user
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

    # -- the bot's review ------------------------------------------------------------------

    def review(
        self,
        snapshot: ChangeSnapshot,
        *,
        label: str,
        vote: int | None,
        message: str | None,
        reviewers: Sequence[str] = (),
        tag: str = BOT_TAG,
    ) -> None:
        """Post one review on the evaluated patch set (not `current`: a patch set uploaded
        since the evaluation must not receive a vote computed for another one)."""
        body: dict[str, Any] = {
            "tag": tag,
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
            self.rest.post(path, body)
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
                self.rest.post(path, body)
            elif exc.status == 409:
                log.info("change %s closed before the review was posted: %s", snapshot.number, exc)
            else:
                raise

    def add_reviewers(self, snapshot: ChangeSnapshot, reviewers: Sequence[str]) -> None:
        """Add reviewers to a change as the connection's account ("Ask these owners", as the
        web's viewer): one call each, Gerrit checking that account may; a group name adds
        its members.  The first refusal is raised, after the others were tried."""
        path = f"changes/{change_ref(snapshot.project, snapshot.number)}/reviewers"
        refused: GerritError | None = None
        for reviewer in reviewers:
            try:
                self.rest.post(path, {"reviewer": reviewer})
            except GerritError as exc:
                refused = refused or exc
        if refused is not None:
            raise refused

    def set_hashtags(
        self, snapshot: ChangeSnapshot, add: Sequence[str], remove: Sequence[str]
    ) -> None:
        """Add and remove hashtags on a change.  Only the dashboards read them, so a refusal
        (a site whose bot may not edit hashtags: `owners gerrit-setup` grants it) is logged,
        never raised: the vote is already posted."""
        path = f"changes/{change_ref(snapshot.project, snapshot.number)}/hashtags"
        try:
            self.rest.post(path, {"add": list(add), "remove": list(remove)})
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


def open_changes_query(project: str, branch: str | None = None) -> str:
    """The query of the open changes of a project, or of one of its branches."""
    query = f'status:open project:"{quoted(project)}"'
    return query + f' branch:"{quoted(branch)}"' if branch else query


def _number(info: dict[str, Any]) -> int:
    number = info.get("_number")
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise UnexpectedResponse("a change in a query answer has no valid _number")
    return number
