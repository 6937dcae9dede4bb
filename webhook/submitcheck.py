"""A fresh verdict on the exact revision Gerrit is about to merge (`POST /submit-check`).

The bot's +1 on the owners label is a cached verdict: it is computed when an event arrives
and goes stale the moment an input changes before the bot has re-evaluated (a reviewer
removed, a vote deleted, OWNERS.yaml or a Gerrit group edited, an abandoned change restored
and submitted at once).  The submit-check plugin (`deploy/submit_check_plugin/`) closes that
window: in Gerrit's `onPreMerge` it asks this endpoint, and refuses the merge unless the answer
is APPROVED.  So this check must decide from the truth *now*: it re-reads the change, the
branch's OWNERS.yaml and every Gerrit group it names (bypassing the group cache), refuses when
the revision asked about is not the change's current one, and never posts anything.

Every failure answers "not approved": the plugin turns anything but APPROVED into a refused
submit, so a bug or an outage here can delay a merge but never let one through.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from owners.engine import Verdict
from owners.gerrit.judge import Judge
from owners.gerrit.model import GerritError
from owners.gerrit.verdict import Outcome
from owners.wording import requirement_name, requirement_state

log = logging.getLogger(__name__)

APPROVED = "APPROVED"
ERROR = "ERROR"
NOT_ENFORCED = "NOT_ENFORCED"
"""Metric outcome of an APPROVED answer for a project the service does not watch."""

_REVISION = re.compile(r"[0-9a-f]{40}\Z")
_MAX_NAME = 255
_MAX_REASON = 400


class BadRequest(ValueError):
    """The request does not name one revision of one change; the message says what is wrong."""


@dataclass(frozen=True)
class CheckRequest:
    """What the plugin asks about: the revision it is merging, of which change, into where."""

    project: str
    change: int
    revision: str
    branch: str

    @classmethod
    def parse(cls, body: Any) -> CheckRequest:
        """Validate the JSON body; `BadRequest` naming the first bad field."""
        if not isinstance(body, Mapping):
            raise BadRequest("the body must be a JSON object")
        project, branch = body.get("project"), body.get("branch")
        change, revision = body.get("change"), body.get("revision")
        for name, value in (("project", project), ("branch", branch)):
            if not isinstance(value, str) or not value or len(value) > _MAX_NAME:
                raise BadRequest(f"'{name}' must be a non-empty string")
        if isinstance(change, bool) or not isinstance(change, int) or change <= 0:
            raise BadRequest("'change' must be a positive change number")
        if not isinstance(revision, str) or not _REVISION.match(revision):
            raise BadRequest("'revision' must be a full 40-character commit SHA-1")
        assert isinstance(project, str) and isinstance(branch, str)
        branch = branch.removeprefix("refs/heads/")
        return cls(project, change, revision, branch)

    def __str__(self) -> str:
        return f"{self.project}~{self.change}@{self.revision[:10]} -> {self.branch}"


@dataclass(frozen=True)
class CheckAnswer:
    """The answer: `verdict` is APPROVED, PENDING, BLOCKED or ERROR; only APPROVED merges."""

    verdict: str
    reason: str
    enforced: bool = True

    @property
    def outcome(self) -> str:
        """The metric's label: the verdict, or NOT_ENFORCED for an unwatched project."""
        return self.verdict if self.enforced else NOT_ENFORCED

    def body(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reason": self.reason, "enforced": self.enforced}


def check(service: Judge, request: CheckRequest) -> CheckAnswer:
    """Decide whether `request.revision` may merge now; never raises, never posts.

    A project the service does not watch (`OWNERS_PROJECTS`), or a branch outside
    `OWNERS_BRANCHES`, answers APPROVED with `enforced: false`: the plugin is installed
    server-wide, but only what the service enforces is its business (and on such a branch the
    submit requirement does not apply either).  A change overridden through the break-glass
    label is APPROVED as overridden: Gerrit's `overrideIf` already let it through, and only the
    override group may vote that label.
    """
    if not service.settings.watches(request.project):
        reason = f"project {request.project} is not enforced by the owners service"
        return CheckAnswer(APPROVED, reason, enforced=False)
    if not service.settings.in_scope(request.branch.removeprefix("refs/heads/")):
        reason = f"branch {request.branch} is outside OWNERS_BRANCHES"
        return CheckAnswer(APPROVED, reason, enforced=False)
    try:
        snapshot, outcome = service.assess_change(
            request.change, request.project, fresh_groups=True
        )
    except GerritError as exc:
        return CheckAnswer(ERROR, f"the owners service could not read the change: {exc}")
    except Exception as exc:  # fail closed on anything unforeseen, and say what it was
        log.exception("submit check of %s failed", request)
        return CheckAnswer(ERROR, f"the owners service failed: {type(exc).__name__}")
    if snapshot.project != request.project or snapshot.number != request.change:
        return CheckAnswer(ERROR, "Gerrit answered about another change")
    if not snapshot.is_open:
        return CheckAnswer(ERROR, f"change {request.change} is {snapshot.status.lower()}")
    if snapshot.revision != request.revision:
        return CheckAnswer(
            ERROR,
            f"the revision being merged ({request.revision[:10]}) is not the current patch "
            f"set {snapshot.patchset} ({snapshot.revision[:10]}) of change {request.change}",
        )
    if snapshot.branch != request.branch:
        return CheckAnswer(
            ERROR, f"change {request.change} targets {snapshot.branch}, not {request.branch}"
        )
    if outcome.overridden_by and outcome.verdict is not Verdict.APPROVED:
        overriders = ", ".join(outcome.overridden_by)
        return CheckAnswer(APPROVED, f"overridden by {overriders} ({_reason(outcome)})")
    return CheckAnswer(outcome.verdict.value, _reason(outcome))


def _reason(outcome: Outcome) -> str:
    """One line for Gerrit's refusal: why the owners do (not) approve, naming what is unmet."""
    verdict = outcome.verdict
    if verdict is Verdict.APPROVED:
        return "every owning subsystem approved"
    parts: list[str] = []
    if outcome.proposal_invalid:
        parts.append("the OWNERS.yaml proposed by this change is invalid")
    if outcome.fallback:
        parts.append(outcome.fallback)
    vetoes = outcome.evaluation.vetoed_by
    if vetoes:
        parts.append(f"vetoed by {', '.join(vetoes)}")
    unmet = [
        f"{requirement_name(r)}: {requirement_state(r)}"
        for r in outcome.evaluation.requirements
        if not r.met or r.vetoed_by
    ]
    parts.extend(unmet)
    if outcome.unresolved_groups:
        parts.append("unreadable groups: " + ", ".join(outcome.unresolved_groups))
    text = "; ".join(parts) or "no one may approve this change"
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def timed_check(service: Judge, request: CheckRequest) -> tuple[CheckAnswer, float]:
    """`check` and the seconds it took, logging one line for it."""
    started = time.perf_counter()
    answer = check(service, request)
    seconds = time.perf_counter() - started
    fields = {
        "project": request.project,
        "change": request.change,
        "verdict": answer.outcome,
    }
    log.info(
        "submit check %s: %s (%s) in %.0f ms",
        request,
        answer.outcome,
        answer.reason,
        seconds * 1000,
        extra=fields,
    )
    return answer, seconds
