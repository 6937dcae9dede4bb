"""The bot: from an event to the changes it may affect, each judged and its verdict posted.

The HTTP handler only validates an event and queues a job naming what to re-evaluate; a
worker (`webhook.jobs`) then calls `process_change`, or judges the changes `revisit_query`
finds for a ref update in bulk.
"""

from __future__ import annotations

import logging
import threading
import zlib
from dataclasses import dataclass
from typing import Any

from owners.engine import Verdict
from owners.gerrit.changes import open_changes_query
from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import (
    MOVES_DEPENDENTS,
    ZERO_REV,
    AccountChanged,
    ChangeEvent,
    Event,
    GroupChanged,
    RefUpdated,
)
from owners.gerrit.judge import Judge
from owners.gerrit.model import BOT_TAG, BranchConfig, ChangeSnapshot
from owners.gerrit.settings import Settings
from webhook.bot import Report, plan
from webhook.groups import affected_changes
from webhook.inputs import Posted, account_id_of, branch_inputs, change_inputs
from webhook.report import OVERRIDE_PREFIX

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
    overridden: bool = False  # this evaluation reported a new override (break-glass)
    inputs: str = ""  # what the verdict was judged from, as the bot left it (webhook.inputs)
    hashtags: tuple[str, ...] = ()  # the owners-needs hashtags it set (+) and removed (-)

    def __str__(self) -> str:
        if self.verdict is None:
            return f"{self.project}~{self.number}: closed, no action ({self._cost})"
        done = [
            f"vote {self.voted:+d}" if self.voted is not None else "",
            "comment" if self.commented else "",
            f"reviewers {', '.join(self.reviewers)}" if self.reviewers else "",
            f"hashtags {' '.join(self.hashtags)}" if self.hashtags else "",
        ]
        posted = ", ".join(d for d in done if d) or "nothing new to post"
        change = f"{self.project}~{self.number}"
        return f"{change}: {self.verdict.value}; {posted} ({self._cost})"

    @property
    def _cost(self) -> str:
        return f"{self.calls} REST call" + ("" if self.calls == 1 else "s")


class BranchConfigs:
    """Each branch's OWNERS.yaml read once for the changes judged together (a fan-out), not
    once per change: its head, and its files when the head is new."""

    def __init__(self, gerrit: GerritConnection):
        self.gerrit = gerrit
        self._read: dict[tuple[str, str], BranchConfig] = {}
        self._lock = threading.Lock()

    def of(self, snapshot: ChangeSnapshot) -> BranchConfig:
        key = (snapshot.project, snapshot.branch)
        with self._lock:
            if key not in self._read:
                self._read[key] = self.gerrit.projects.branch_config(*key)
            return self._read[key]


class OwnersService(Judge):
    """The bot: a `Judge` that works out what events change and posts its verdicts."""

    def __init__(self, settings: Settings, gerrit: GerritConnection | None = None):
        super().__init__(settings, gerrit)
        # Two evaluations of one change must not interleave: an older one posting last would
        # leave a stale vote.  Striped locks serialize per change within this process.
        self._locks = [threading.Lock() for _ in range(_STRIPES)]
        self._bot_id: int | None = None  # the bot's account, once a change shows it

    # -- events ----------------------------------------------------------------------------

    def ignores(self, event: Event) -> str | None:
        """Why an event needs no work, or None when it does."""
        # Groups and accounts live in All-Users, never a watched project; the changes they
        # affect are.
        in_all_users = isinstance(event, GroupChanged | AccountChanged)
        if not in_all_users and not self.settings.watches(event.project):
            return f"project {event.project} is not watched"
        if event.actor.is_user(self.settings.user):
            return "the event was caused by the bot itself"
        return None

    def handle(self, event: Event) -> list[Result]:
        """Re-evaluate what an event may have changed (call `ignores` first)."""
        if isinstance(event, ChangeEvent):
            numbers = [event.change_number]
            if event.type in MOVES_DEPENDENTS:
                numbers += self.gerrit.changes.dependents(event.project, event.change_number)
            return [self.process_change(event.project, n) for n in numbers]
        if isinstance(event, GroupChanged):
            return self.process_group_change(event)
        if isinstance(event, AccountChanged):
            return self.process_account_change(event)
        return self.process_ref_update(event)

    def process_account_change(self, event: AccountChanged) -> list[Result]:
        """Re-evaluate the open changes the account reviews: it may have been deactivated,
        and then its votes no longer count (the queue's workers do this through
        `webhook.jobs`)."""
        changes = self.gerrit.changes.changes_reviewed_by(event.account_id)
        return [self.process_change(project, number) for project, number in changes]

    def process_group_change(self, event: GroupChanged) -> list[Result]:
        """Re-evaluate, with members read afresh, the open changes a group change affects
        (the queue's workers do this through `webhook.jobs`, in every process)."""
        self.gerrit.accounts.forget_groups()
        impact = affected_changes(self.gerrit, self.settings, event.group_uuid)
        return [self.process_change(project, number) for project, number in impact.changes]

    def process_ref_update(self, event: RefUpdated) -> list[Result]:
        query = self.revisit_query(event.project, event.ref, event.old_rev, event.new_rev)
        return self.process_query(query) if query else []

    def revisit_query(self, project: str, ref: str, old_rev: str, new_rev: str) -> str | None:
        """The query finding the open changes a ref update may have changed the verdict of:
        those of a branch whose OWNERS.yaml changed, or all of the project's when its config
        (labels, access) changed; None when there are none."""
        if ref == "refs/meta/config":
            return open_changes_query(project)
        if not ref.startswith("refs/heads/") or new_rev in ("", ZERO_REV):
            return None
        if old_rev not in ("", ZERO_REV) and self._tree_at(project, old_rev) == self._tree_at(
            project, new_rev
        ):
            return None
        return open_changes_query(project, ref[len("refs/heads/") :])

    def process_query(self, query: str) -> list[Result]:
        """Judge every change a query finds, each branch's OWNERS.yaml read once (the queue's
        workers do this through `webhook.jobs`, under each change's lease)."""
        branches = BranchConfigs(self.gerrit)
        return [
            self.process_snapshot(snapshot, info, branches.of(snapshot))
            for snapshot, info in self.gerrit.changes.snapshots(query)
        ]

    def _tree_at(self, project: str, commit: str) -> tuple[object, ...]:
        """OWNERS.yaml at a commit with the files it includes: what a ref update compares."""
        content = self.gerrit.projects.config_at(project, commit)
        return (content, self.gerrit.projects.included_at(project, commit, content))

    # -- work ------------------------------------------------------------------------------

    def process_change(
        self, project: str, number: int, branch: BranchConfig | None = None
    ) -> Result:
        """Evaluate one change and post whatever differs from what the bot already said."""
        with self._lock_of(project, number):
            before = self.gerrit.calls
            snapshot, info = self.gerrit.changes.change_and_info(number, project)
            return self._judge(snapshot, info, branch, before)

    def process_snapshot(
        self, snapshot: ChangeSnapshot, info: dict[str, Any], branch: BranchConfig | None = None
    ) -> Result:
        """`process_change` for a change already read (by a query, `Changes.snapshots`): the
        caller makes sure no newer evaluation of it has posted since it was read.

        A change the query shows without the owners label is read again alone: Gerrit's
        change index answers a query with the labels a change had when it was last indexed,
        so every change opened before `owners gerrit-setup` added the label comes back
        without it (and could not be voted on) until something reindexes it."""
        with self._lock_of(snapshot.project, snapshot.number):
            before = self.gerrit.calls
            if self.settings.label not in snapshot.labels:
                snapshot, info = self.gerrit.changes.change_and_info(
                    snapshot.number, snapshot.project
                )
            return self._judge(snapshot, info, branch, before)

    def _lock_of(self, project: str, number: int) -> threading.Lock:
        return self._locks[zlib.crc32(f"{project}~{number}".encode()) % _STRIPES]

    def _judge(
        self,
        snapshot: ChangeSnapshot,
        info: dict[str, Any],
        branch: BranchConfig | None,
        before: int,
    ) -> Result:
        """Judge a snapshot, post what differs and say what was done, with the inputs judged
        (`webhook.inputs`) as the bot leaves them."""
        project, number, settings = snapshot.project, snapshot.number, self.settings
        if not snapshot.is_open or not self.settings.in_scope(snapshot.branch):
            # outside OWNERS_BRANCHES the submit requirement does not apply either
            return self._done(Result(project, number, None, calls=self.gerrit.calls - before))
        if branch is None or branch.branch != snapshot.branch:
            branch = self.gerrit.projects.branch_config(project, snapshot.branch)
        # read before judging: members changed meanwhile make the sweep look again
        judged_branch = branch_inputs(
            branch, settings.fallback_owners, self.gerrit.accounts.group_members, self.maps.compile
        )
        outcome = self._assess(snapshot, branch, rank=True)  # it asks whom it suggests
        report = plan(snapshot, outcome, self.settings)
        overridden = bool(report.message and outcome.overridden_by) and not any(
            OVERRIDE_PREFIX in m.text
            for m in snapshot.messages
            if m.tag == BOT_TAG and m.author.username == self.settings.user
        )
        if self.settings.label not in snapshot.labels:
            log.warning(
                "label %s does not apply to %s~%s: run `owners gerrit-setup --project %s`",
                self.settings.label,
                project,
                number,
                project,
            )
        self._post(snapshot, report)
        self._bot_id = self._bot_id or account_id_of(info, settings.user)
        posted = None
        if report.vote is not None:
            posted = Posted(settings.label, report.vote, settings.user, self._bot_id)
        return self._done(
            Result(
                project,
                number,
                outcome.verdict,
                report.vote,
                report.message is not None,
                report.reviewers,
                self.gerrit.calls - before,
                overridden,
                change_inputs(info, judged_branch, posted),
                tuple(f"+{tag}" for tag in report.add_hashtags)
                + tuple(f"-{tag}" for tag in report.remove_hashtags),
            )
        )

    def _post(self, snapshot: ChangeSnapshot, report: Report) -> None:
        """The review first (the vote is what a submit needs), then the hashtags the
        dashboards read."""
        if report.has_review:
            self.gerrit.changes.review(
                snapshot,
                label=self.settings.label,
                vote=report.vote,
                message=report.message,
                reviewers=report.reviewers,
            )
        if report.has_hashtags:
            self.gerrit.changes.set_hashtags(snapshot, report.add_hashtags, report.remove_hashtags)

    @staticmethod
    def _done(result: Result) -> Result:
        verdict = result.verdict.value if result.verdict else "CLOSED"
        fields = {"project": result.project, "change": result.number, "verdict": verdict}
        log.info("%s", result, extra=fields)
        return result
