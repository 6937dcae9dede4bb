"""Processing a change or a branch: query Gerrit, decide, report.

The HTTP handler only validates an event and queues a job naming what to re-evaluate; a
worker (`webhook.jobs`) then calls `process_change`, or `changes_to_revisit` for a ref update.
"""

from __future__ import annotations

import logging
import threading
import zlib
from dataclasses import dataclass, replace

from owners.engine import Evaluation, Policy, Verdict
from owners.engine.change import StickyVote
from owners.engine.landing import Landing
from webhook.compiled import SharedMaps
from webhook.decide import GroupLookup, Outcome, Report, assess, check_outcome, compile_tree, plan
from webhook.events import (
    MOVES_DEPENDENTS,
    ZERO_REV,
    AccountChanged,
    ChangeEvent,
    Event,
    GroupChanged,
    RefUpdated,
)
from webhook.gerrit import GerritConnection
from webhook.groups import affected_changes
from webhook.model import BOT_TAG, BranchConfig, ChangeSnapshot, earlier_votes
from webhook.report import OVERRIDE_PREFIX
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
    overridden: bool = False  # this evaluation reported a new override (break-glass)

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
        # compiled OWNERS.yaml maps; `webhook.jobs` shares them through the queue's backend
        self.maps = SharedMaps(None)

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
                numbers += self.gerrit.dependents(event.project, event.change_number)
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
        changes = self.gerrit.changes_reviewed_by(event.account_id)
        return [self.process_change(project, number) for project, number in changes]

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
        if old_rev not in ("", ZERO_REV) and self._tree_at(project, old_rev) == self._tree_at(
            project, new_rev
        ):
            return []
        return self.gerrit.open_changes(project, ref[len("refs/heads/") :])

    def _tree_at(self, project: str, commit: str) -> tuple[object, ...]:
        """OWNERS.yaml at a commit with the files it includes: what a ref update compares."""
        content = self.gerrit.config_at(project, commit)
        return (content, self.gerrit.included_at(project, commit, content))

    # -- work ------------------------------------------------------------------------------

    def process_change(
        self, project: str, number: int, branch: BranchConfig | None = None
    ) -> Result:
        """Evaluate one change and post whatever differs from what the bot already said."""
        with self._locks[zlib.crc32(f"{project}~{number}".encode()) % _STRIPES]:
            before = self.gerrit.calls
            snapshot = self.gerrit.change(number, project)
            if not snapshot.is_open or not self.settings.in_scope(snapshot.branch):
                # outside OWNERS_BRANCHES the submit requirement does not apply either
                return self._done(Result(project, number, None, calls=self.gerrit.calls - before))
            outcome = self._assess(snapshot, branch)
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
                )
            )

    def assess_change(
        self, number: int, project: str | None = None, *, fresh_groups: bool = False
    ) -> tuple[ChangeSnapshot, Outcome]:
        """The snapshot and outcome of a change, without posting anything.

        With `fresh_groups` every Gerrit group is read from Gerrit (once per call) instead of
        the TTL cache: the submit-time check must not count a member removed a second ago.
        """
        snapshot = self.gerrit.change(number, project)
        return snapshot, self._assess(snapshot, fresh_groups=fresh_groups)

    def assess_snapshot(
        self, snapshot: ChangeSnapshot, branch: BranchConfig | None = None
    ) -> Outcome:
        """The outcome of a snapshot already read (the web's change page), posting nothing."""
        return self._assess(snapshot, branch)

    # -- internals -------------------------------------------------------------------------

    def _assess(
        self,
        snapshot: ChangeSnapshot,
        branch: BranchConfig | None = None,
        *,
        fresh_groups: bool = False,
    ) -> Outcome:
        if branch is None or branch.branch != snapshot.branch:
            branch = self.gerrit.branch_config(snapshot.project, snapshot.branch)
        proposed = self.gerrit.file_in_revision(snapshot) if snapshot.edits_config else None
        proposed_read = None
        if self._edits_included(snapshot, branch):
            # the tree this change proposes: its own files, included ones read from it too
            proposed = proposed if snapshot.edits_config else branch.content
            proposed_read = lambda path: self.gerrit.file_in_revision(snapshot, path)  # noqa: E731
        policy = self._policy(branch)
        pure_revert_of, reverted_landing = self._pure_revert(snapshot, policy)
        sticky_votes = self._sticky_votes(snapshot, policy)
        landing = None
        if reverted_landing is not None or sticky_votes:
            landing = self.gerrit.landing(snapshot.project, snapshot.number, snapshot.revision)
        return assess(
            self._with_writer_accounts(snapshot),
            branch.content,
            self.settings,
            self._fresh_groups() if fresh_groups else self.gerrit.group_members,
            proposed,
            foreign_parents=self.gerrit.foreign_parents(snapshot, branch.revision),
            directory=self.gerrit.directory() if proposed is not None else None,
            pure_revert_of=pure_revert_of,
            sticky_votes=sticky_votes,
            landing=landing,
            reverted_landing=reverted_landing,
            included=branch.included,
            proposed_read=proposed_read,
            compile_map=self.maps.compile,
        )

    @staticmethod
    def _edits_included(snapshot: ChangeSnapshot, branch: BranchConfig) -> bool:
        """Whether the change touches a file the branch's OWNERS.yaml includes, or edits an
        OWNERS.yaml that includes any: then the tree it proposes must be valid."""
        if snapshot.edits_config:
            return True
        if not branch.included:
            return False
        touched = {p for f in snapshot.files for p in f.paths}
        return any(path in touched for path, _ in branch.included)

    @staticmethod
    def _policy(branch: BranchConfig) -> Policy | None:
        """The policy of the branch's OWNERS.yaml (compiled once per content); None when it
        is missing or invalid, and then no exception of the file applies."""
        if branch.content is None:
            return None
        ownership, _ = compile_tree(branch.content, branch.included)
        return ownership.config.policy if ownership is not None else None

    def _pure_revert(
        self, snapshot: ChangeSnapshot, policy: Policy | None
    ) -> tuple[int, Landing | None]:
        """The merged change of the same project and branch that Gerrit says this change
        purely reverts (`pure_reverts: exempt`), with what that change landed; (0, None)
        otherwise.  The engine then holds the revert's own landing against it
        (`owners.engine.evaluation.exemption`): Gerrit's answer is a condition, never the
        only one.  Costs a few calls, only for a change that claims to be a revert on a
        branch whose file opts in."""
        if policy is None or policy.pure_reverts != "exempt" or not snapshot.revert_of:
            return 0, None
        if snapshot.merge:
            return 0, None  # a revert has one parent; a merge brings in more than it undoes
        original = self.gerrit.change_summary(snapshot.revert_of)
        if (
            original is None
            or original.get("status") != "MERGED"
            or original.get("project") != snapshot.project
            or original.get("branch") != snapshot.branch
            or not isinstance(original.get("current_revision"), str)
            or not self.gerrit.is_pure_revert(snapshot)
        ):
            return 0, None
        landed = self.gerrit.landing(
            snapshot.project, snapshot.revert_of, original["current_revision"]
        )
        return snapshot.revert_of, landed

    def _sticky_votes(
        self, snapshot: ChangeSnapshot, policy: Policy | None
    ) -> tuple[StickyVote, ...]:
        """Approvals cast on earlier patch sets, each with what its patch set landed
        (`sticky_approvals`): a few calls per earlier patch set holding an approval, the
        first time only (a revision's landing is cached)."""
        if policy is None or not policy.sticky_approvals or snapshot.patchset <= 1:
            return ()
        found: list[StickyVote] = []
        for patchset, votes in sorted(
            earlier_votes(snapshot.messages, policy.label, snapshot.patchset).items()
        ):
            approvals = [v for v in votes if v.value >= policy.approve]
            revision = snapshot.revisions.get(patchset)
            if not approvals or revision is None:
                continue
            landed = self.gerrit.landing(snapshot.project, snapshot.number, revision)
            if landed is not None:
                found.extend(StickyVote(v, patchset, landed) for v in approvals)
        return tuple(found)

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

    def _fresh_groups(self) -> GroupLookup:
        """A group lookup reading each group from Gerrit once, bypassing the TTL cache."""
        seen: dict[str, tuple[str, ...] | None] = {}

        def members(name: str) -> tuple[str, ...] | None:
            if name not in seen:
                seen[name] = self.gerrit.group_members(name, fresh=True)
            return seen[name]

        return members

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
