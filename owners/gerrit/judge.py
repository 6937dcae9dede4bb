"""Judging a change on Gerrit: read what the owners' rules need, then `verdict.assess`.

Every surface that judges a live change goes through `Judge`: the bot (`webhook.service`,
which also posts), the submit check, the change pages and `owners check --change`.  It reads
the change, the branch's OWNERS.yaml with its includes, and what the opt-in exceptions need
(landings, Gerrit's pure-revert answer, the accounts behind the commit's emails), and posts
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from owners.engine import Evaluation, Policy
from owners.engine.change import StickyVote
from owners.engine.landing import Landing
from owners.engine.suggestion import Acquaintance
from owners.gerrit.compiled import SharedMaps
from owners.gerrit.connection import GerritConnection
from owners.gerrit.model import BranchConfig, ChangeSnapshot, earlier_votes
from owners.gerrit.people import People
from owners.gerrit.settings import Settings
from owners.gerrit.verdict import GroupLookup, Outcome, assess, check_outcome, compile_tree


class Judge:
    """Reads a change and what its branch's rules need from one Gerrit connection, and
    answers the owners' `Outcome`; the bot subclasses it to post."""

    def __init__(self, settings: Settings, gerrit: GerritConnection | None = None):
        self.settings = settings
        self.gerrit = gerrit if gerrit is not None else GerritConnection(settings)
        # whom a `gerrit:` group holds (None: the connection's cached `accounts`); the web's
        # change page reads them as its viewer instead
        self.groups: GroupLookup | None = None
        # compiled OWNERS.yaml maps; the service shares them through its queue's backend
        self.maps = SharedMaps(None)
        # what the ranked suggestions know of people (None: the connection's `people`); the
        # web's change page keeps it per viewer instead
        self.people: People | None = None

    def assess_change(
        self, number: int, project: str | None = None, *, fresh_groups: bool = False
    ) -> tuple[ChangeSnapshot, Outcome]:
        """The snapshot and outcome of a change, without posting anything.

        With `fresh_groups` every Gerrit group is read from Gerrit (once per call) instead of
        the TTL cache: the submit-time check must not count a member removed a second ago.
        """
        snapshot = self.gerrit.changes.change(number, project)
        return snapshot, self._assess(snapshot, fresh_groups=fresh_groups)

    def assess_snapshot(
        self, snapshot: ChangeSnapshot, branch: BranchConfig | None = None, *, rank: bool = False
    ) -> Outcome:
        """The outcome of a snapshot already read (the web's pages), posting nothing; with
        `rank`, the suggestions ranked as the bot ranks them (the change page, which offers
        to ask them)."""
        return self._assess(snapshot, branch, rank=rank)

    # -- internals -------------------------------------------------------------------------

    def _assess(
        self,
        snapshot: ChangeSnapshot,
        branch: BranchConfig | None = None,
        *,
        fresh_groups: bool = False,
        rank: bool = False,
    ) -> Outcome:
        """With `rank`, the suggested reviewers are ranked by what Gerrit knows of people
        (`owners.gerrit.people`): the bot and the change page, which ask them, rank; the submit
        check, which must stay fast, and the other read-only surfaces do not."""
        if branch is None or branch.branch != snapshot.branch:
            branch = self.gerrit.projects.branch_config(snapshot.project, snapshot.branch)
        proposed = self.gerrit.changes.file_in_revision(snapshot) if snapshot.edits_config else None
        proposed_read = None
        if self._edits_included(snapshot, branch):
            # the tree this change proposes: its own files, included ones read from it too
            proposed = proposed if snapshot.edits_config else branch.content
            proposed_read = lambda path: self.gerrit.changes.file_in_revision(snapshot, path)  # noqa: E731
        policy = self._policy(branch)
        pure_revert_of, reverted_landing = self._pure_revert(snapshot, policy)
        sticky_votes = self._sticky_votes(snapshot, policy)
        landing = None
        if reverted_landing is not None or sticky_votes:
            landing = self.gerrit.changes.landing(
                snapshot.project, snapshot.number, snapshot.revision
            )
        return assess(
            self._with_writer_accounts(snapshot),
            branch.content,
            self.settings,
            self._group_lookup(fresh_groups),
            proposed,
            foreign_parents=self.gerrit.changes.foreign_parents(snapshot, branch.revision),
            directory=self.gerrit.accounts.directory() if proposed is not None else None,
            pure_revert_of=pure_revert_of,
            sticky_votes=sticky_votes,
            landing=landing,
            reverted_landing=reverted_landing,
            included=branch.included,
            proposed_read=proposed_read,
            compile_map=self.maps.compile,
            acquaintance=self._acquaintance(snapshot) if rank else None,
        )

    def _acquaintance(self, snapshot: ChangeSnapshot) -> Callable[[str], Acquaintance]:
        paths = (p for f in snapshot.files for p in f.paths)
        people = self.people or self.gerrit.people
        return people.acquaintance(snapshot.project, snapshot.branch, paths)

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

    def _policy(self, branch: BranchConfig) -> Policy | None:
        """The policy of the branch's OWNERS.yaml (compiled once per content); None when it
        is missing or invalid, and then no exception of the file applies."""
        if branch.content is None:
            return None
        ownership, _ = compile_tree(branch.content, branch.included, self.maps.compile)
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
        original = self.gerrit.changes.change_summary(snapshot.revert_of)
        if (
            original is None
            or original.get("status") != "MERGED"
            or original.get("project") != snapshot.project
            or original.get("branch") != snapshot.branch
            or not isinstance(original.get("current_revision"), str)
            or not self.gerrit.changes.is_pure_revert(snapshot)
        ):
            return 0, None
        landed = self.gerrit.changes.landing(
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
            landed = self.gerrit.changes.landing(snapshot.project, snapshot.number, revision)
            if landed is not None:
                found.extend(StickyVote(v, patchset, landed) for v in approvals)
        return tuple(found)

    def _with_writer_accounts(self, snapshot: ChangeSnapshot) -> ChangeSnapshot:
        """The snapshot with the accounts behind its commit's author and committer emails.

        An email names at most one account, so one that an uploader holds needs no lookup;
        any other may be an approver's secondary email, which only Gerrit can tell.
        """
        authors = snapshot.as_change().authors
        known = {i for a in authors if a.account_id is not None for i in a.identities}
        found = [
            holder
            for writer in snapshot.writers
            if writer.account_id is None and writer.email and writer.email not in known
            for holder in self.gerrit.accounts.accounts_with_email(writer.email)
        ]
        return replace(snapshot, writers=(*snapshot.writers, *found)) if found else snapshot

    def _group_lookup(self, fresh: bool) -> GroupLookup:
        """`groups` if set, else the connection's cached members; read afresh with `fresh`."""
        if fresh:
            return self._fresh_groups()
        return self.groups or self.gerrit.accounts.group_members

    def _fresh_groups(self) -> GroupLookup:
        """A group lookup reading each group from Gerrit once, bypassing the TTL cache."""
        seen: dict[str, tuple[str, ...] | None] = {}

        def members(name: str) -> tuple[str, ...] | None:
            if name not in seen:
                seen[name] = self.gerrit.accounts.group_members(name, fresh=True)
            return seen[name]

        return members


def check_change(settings: Settings, number: int) -> Evaluation:
    """The verdict the bot would cast on change `number` now, for `owners check --change N`."""
    _, outcome = Judge(settings).assess_change(number)
    return check_outcome(outcome)
