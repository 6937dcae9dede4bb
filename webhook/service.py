"""Processing a change or a branch: query Gerrit, decide, report.

The HTTP handler only validates an event and queues a job naming what to re-evaluate; a
worker (`webhook.jobs`) then calls `process_change`, or `changes_to_revisit` for a ref update.
"""

from __future__ import annotations

import logging
import threading
import zlib
from dataclasses import dataclass, replace

from owners.engine import Evaluation, Verdict
from webhook.decide import Outcome, Report, assess, check_outcome, plan
from webhook.events import ZERO_REV, ChangeEvent, Event, GroupChanged, RefUpdated
from webhook.gerrit import GerritConnection
from webhook.groups import affected_changes
from webhook.model import BranchConfig, ChangeSnapshot
from webhook.settings import Settings

log = logging.getLogger(__name__)

_STRIPES = 64


@dataclass(frozen=True)
class Result:
    """What processing one change did, for logs and for the HTTP response."""

    project: str
    number: int
    verdict: Verdict | None  # None: the change is closed, nothing was done
    voted: int | None = None
    commented: bool = False
    reviewers: tuple[str, ...] = ()
    calls: int = 0

    def __str__(self) -> str:
        if self.verdict is None:
            return f"{self.project}~{self.number}: closed, no action ({self._cost})"
        done = [
            f"vote {self.voted:+d}" if self.voted is not None else "",
            "comment" if self.commented else "",
            f"reviewers {', '.join(self.reviewers)}" if self.reviewers else "",
        ]
        posted = ", ".join(d for d in done if d) or "nothing new to post"
        change = f"{self.project}~{self.number}"
        return f"{change}: {self.verdict.value}; {posted} ({self._cost})"

    @property
    def _cost(self) -> str:
        return f"{self.calls} REST call" + ("" if self.calls == 1 else "s")


class OwnersService:
    def __init__(self, settings: Settings, gerrit: GerritConnection | None = None):
        self.settings = settings
        self.gerrit = gerrit if gerrit is not None else GerritConnection(settings)
        # Two evaluations of one change must not interleave: an older one posting last would
        # leave a stale vote.  Striped locks serialize per change within this process.
        self._locks = [threading.Lock() for _ in range(_STRIPES)]

    # -- events ----------------------------------------------------------------------------

    def ignores(self, event: Event) -> str | None:
        """Why an event needs no work, or None when it does."""
        # A group lives in All-Users, never a watched project; the changes it affects are.
        if not isinstance(event, GroupChanged) and not self.settings.watches(event.project):
            return f"project {event.project} is not watched"
        if event.actor.is_user(self.settings.user):
            return "the event was caused by the bot itself"
        return None

    def handle(self, event: Event) -> list[Result]:
        """Re-evaluate what an event may have changed (call `ignores` first)."""
        if isinstance(event, ChangeEvent):
            return [self.process_change(event.project, event.change_number)]
        if isinstance(event, GroupChanged):
            return self.process_group_change(event)
        return self.process_ref_update(event)

    def process_group_change(self, event: GroupChanged) -> list[Result]:
        """Re-evaluate, with members read afresh, the open changes a group change affects
        (the queue's workers do this through `webhook.jobs`, in every process)."""
        self.gerrit.forget_groups()
        impact = affected_changes(self.gerrit, self.settings, event.group_uuid)
        return [self.process_change(project, number) for project, number in impact.changes]

    def process_ref_update(self, event: RefUpdated) -> list[Result]:
        numbers = self.changes_to_revisit(event.project, event.ref, event.old_rev, event.new_rev)
        return [self.process_change(event.project, n) for n in numbers]

    def changes_to_revisit(self, project: str, ref: str, old_rev: str, new_rev: str) -> list[int]:
        """The open changes a ref update may have changed the verdict of: those of a branch
        whose OWNERS.yaml changed, or all of the project's when its config (labels, access)
        changed."""
        if ref == "refs/meta/config":
            return self.gerrit.open_changes(project)
        if not ref.startswith("refs/heads/") or new_rev in ("", ZERO_REV):
            return []
        if old_rev not in ("", ZERO_REV) and self.gerrit.config_at(
            project, old_rev
        ) == self.gerrit.config_at(project, new_rev):
            return []
        return self.gerrit.open_changes(project, ref[len("refs/heads/") :])

    # -- work ------------------------------------------------------------------------------

    def process_change(
        self, project: str, number: int, branch: BranchConfig | None = None
    ) -> Result:
        """Evaluate one change and post whatever differs from what the bot already said."""
        with self._locks[zlib.crc32(f"{project}~{number}".encode()) % _STRIPES]:
            before = self.gerrit.calls
            snapshot = self.gerrit.change(number, project)
            if not snapshot.is_open:
                return self._done(Result(project, number, None, calls=self.gerrit.calls - before))
            outcome = self._assess(snapshot, branch)
            report = plan(snapshot, outcome, self.settings)
            if self.settings.label not in snapshot.labels:
                log.warning(
                    "label %s does not apply to %s~%s: run `owners gerrit-setup --project %s`",
                    self.settings.label,
                    project,
                    number,
                    project,
                )
            self._post(snapshot, report)
            return self._done(
                Result(
                    project,
                    number,
                    outcome.verdict,
                    report.vote,
                    report.message is not None,
                    report.reviewers,
                    self.gerrit.calls - before,
                )
            )

    def assess_change(
        self, number: int, project: str | None = None
    ) -> tuple[ChangeSnapshot, Outcome]:
        """The snapshot and outcome of a change, without posting anything."""
        snapshot = self.gerrit.change(number, project)
        return snapshot, self._assess(snapshot)

    def assess_snapshot(
        self, snapshot: ChangeSnapshot, branch: BranchConfig | None = None
    ) -> Outcome:
        """The outcome of a snapshot already read (the web's change page), posting nothing."""
        return self._assess(snapshot, branch)

    # -- internals -------------------------------------------------------------------------

    def _assess(self, snapshot: ChangeSnapshot, branch: BranchConfig | None = None) -> Outcome:
        if branch is None or branch.branch != snapshot.branch:
            branch = self.gerrit.branch_config(snapshot.project, snapshot.branch)
        proposed = self.gerrit.file_in_revision(snapshot) if snapshot.edits_config else None
        return assess(
            self._with_writer_accounts(snapshot),
            branch.content,
            self.settings,
            self.gerrit.group_members,
            proposed,
            foreign_parents=self.gerrit.foreign_parents(snapshot, branch.revision),
        )

    def _with_writer_accounts(self, snapshot: ChangeSnapshot) -> ChangeSnapshot:
        """The snapshot with the accounts behind its commit's author and committer emails.

        An email names at most one account, so one that an uploader holds needs no lookup;
        any other may be an approver's secondary email, which only Gerrit can tell.
        """
        known = {i for a in snapshot.authors if a.account_id is not None for i in a.identities}
        found = [
            holder
            for writer in snapshot.writers
            if writer.account_id is None and writer.email and writer.email not in known
            for holder in self.gerrit.accounts_with_email(writer.email)
        ]
        return replace(snapshot, writers=(*snapshot.writers, *found)) if found else snapshot

    def _post(self, snapshot: ChangeSnapshot, report: Report) -> None:
        if report.empty:
            return
        self.gerrit.review(
            snapshot,
            label=self.settings.label,
            vote=report.vote,
            message=report.message,
            reviewers=report.reviewers,
        )

    @staticmethod
    def _done(result: Result) -> Result:
        verdict = result.verdict.value if result.verdict else "CLOSED"
        fields = {"project": result.project, "change": result.number, "verdict": verdict}
        log.info("%s", result, extra=fields)
        return result


def check_change(settings: Settings, number: int) -> Evaluation:
    """The verdict the bot would cast on change `number` now, for `owners check --change N`."""
    _, outcome = OwnersService(settings).assess_change(number)
    return check_outcome(outcome)
