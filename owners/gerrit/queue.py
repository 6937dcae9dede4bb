"""A reviewer's queue ("My reviews", `owners queue`): read as that reviewer, judged as the bot.

Every open change the connection's account can see is judged by `Judge.assess_snapshot`,
the bot's own `assess`, its suggestions ranked as the bot ranks them by what the reviewer
may see of people; which requirements wait for the reviewer, which files have no owner
asked and which subsystems they may approve for are `owners.engine.reviews`'.  The
connection is the reviewer's own (the web's viewer, the CLI's OWNERS_GERRIT_USER): Gerrit
decides which changes, projects, groups and people they see, and nothing is read with
anyone else's rights.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from owners.engine import Account, Ownership, RequirementResult, Verdict
from owners.engine.evaluation import Eligibility
from owners.engine.reviews import (
    Approvable,
    FileState,
    approvable,
    approved_by,
    awaiting,
    file_statuses,
)
from owners.gerrit.judge import Judge
from owners.gerrit.model import (
    CHANGE_OPTIONS,
    BranchConfig,
    ChangeSnapshot,
    GerritError,
    Memo,
    UnexpectedResponse,
    account,
    change_names,
    full_names,
    gerrit_time,
)
from owners.gerrit.rest import quoted
from owners.gerrit.verdict import GroupLookup, compile_tree, fallback_ownership

MAX_HEAD_PROJECTS = 20
"""Projects whose HEAD branch is listed even without an open change (the first, by name)."""

BranchReader = Callable[[str, str], BranchConfig]
"""(project, branch) -> its OWNERS.yaml at its head, read as the reviewer."""

T = TypeVar("T")


class _Forget:
    """No memo: make every answer afresh (the CLI asks once)."""

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        return make()


@dataclass(frozen=True)
class Queued:
    """An open change as it stands for the reviewer."""

    number: int
    project: str
    branch: str
    subject: str
    owner: str
    created: datetime
    private: bool
    work_in_progress: bool
    verdict: Verdict
    needs_reviewer: bool  # False: the reviewer approved it, it waits for others
    mine: tuple[RequirementResult, ...]  # waiting for the reviewer, or approved by them
    others: tuple[RequirementResult, ...]  # every other unmet (or vetoed) requirement
    suggested: tuple[str, ...]  # ranked as the bot ranks them, by what the reviewer may see
    no_owner_asked: bool  # some file has no owner asked yet (`owners.engine.reviews`)


@dataclass(frozen=True)
class Queue:
    reviewer: Account
    names: Mapping[str, str]  # full names by username (or email), as Gerrit gives them
    subsystems: tuple[tuple[str, str, Approvable], ...]  # (project, branch, subsystem)
    needs: tuple[Queued, ...]  # changes waiting for the reviewer, oldest first
    waiting: tuple[Queued, ...]  # approved by the reviewer, still waiting for others


def reviewer_queue(
    judge: Judge,
    groups: GroupLookup,
    branch_config: BranchReader | None = None,
    memo: Memo | None = None,
) -> Queue:
    """The queue of the account `judge.gerrit` reads as.  `groups` reads a `gerrit:` group as
    that account may see it; `branch_config` reads a branch (default: the connection's).

    `memo` keeps, per reviewer, how each change stands for them under everything that
    depends on but groups (the change's `updated` time and revision, the branch's head), and
    the subsystems of each revision; its lifetime bounds how stale a group's members may be."""
    memo = memo or _Forget()
    gerrit = judge.gerrit
    read_branch = branch_config or gerrit.projects.branch_config
    info = gerrit.accounts.myself()
    me = account(info)
    names = dict(full_names([info]))
    settings = judge.settings
    scope = " OR ".join(f'project:"{quoted(p)}"' for p in sorted(settings.projects))
    query = "status:open" + (f" ({scope})" if scope else "")
    changes = [
        c
        for c in gerrit.changes.query(query, CHANGE_OPTIONS)
        if settings.watches(str(c.get("project")))
    ]
    branches: dict[tuple[str, str], tuple[BranchConfig, Ownership | None, Eligibility | None]] = {}

    def branch(
        project: str, name: str
    ) -> tuple[BranchConfig, Ownership | None, Eligibility | None]:
        """The branch's OWNERS.yaml, its map (the fallback owners' without one), and who
        may approve there, once per request."""
        if (project, name) not in branches:
            config = read_branch(project, name)
            ownership = None
            if config.content is not None:
                ownership, _ = compile_tree(config.content, config.included, judge.maps.compile)
            ownership = ownership or fallback_ownership(settings.fallback_owners)
            eligibility = Eligibility(ownership, groups) if ownership is not None else None
            branches[project, name] = (config, ownership, eligibility)
        return branches[project, name]

    def members(entry: str) -> tuple[str, ...]:
        return tuple(groups(entry.split(":", 1)[1]) or ())

    def queued(raw: Mapping[str, Any]) -> tuple[Queued | None, dict[str, str]]:
        """The change as it stands for the reviewer (None: nothing of it is theirs)."""
        snapshot = ChangeSnapshot.from_change_info(raw)
        config, ownership, eligibility = branch(snapshot.project, snapshot.branch)
        if ownership is None or eligibility is None:
            return None, {}  # no usable OWNERS.yaml and no fallback owners: nobody approves
        outcome = judge.assess_snapshot(snapshot, config)
        policy = ownership.config.policy
        change = snapshot.as_change(snapshot.files, snapshot.votes(policy.label))
        evaluation = outcome.evaluation
        mine = awaiting(evaluation, me, change, policy, eligibility)
        approved = approved_by(evaluation, me) if outcome.verdict is not Verdict.APPROVED else ()
        if not mine and not approved:
            return None, {}
        # in the queue: its suggestions ranked as the change page ranks them (what the ranking
        # reads of people is paid for the reviewer's changes only, not every open one)
        evaluation = judge.assess_snapshot(snapshot, config, rank=True).evaluation
        ids = {r.subsystem for r in mine} | set(approved)
        found = Queued(
            number=snapshot.number,
            project=snapshot.project,
            branch=snapshot.branch,
            subject=str(raw.get("subject") or ""),
            owner=snapshot.owner.display,
            created=gerrit_time(str(raw["created"])),
            private=snapshot.private,
            work_in_progress=snapshot.work_in_progress,
            verdict=outcome.verdict,
            needs_reviewer=bool(mine),
            mine=tuple(r for r in evaluation.requirements if r.subsystem in ids),
            others=tuple(
                r
                for r in evaluation.requirements
                if r.subsystem not in ids and (not r.met or r.vetoed_by)
            ),
            suggested=evaluation.suggested_reviewers,
            no_owner_asked=any(
                status.state is FileState.UNASKED
                for status in file_statuses(
                    evaluation, change, snapshot.reviewers, policy, eligibility
                )
            ),
        )
        return found, change_names(raw)

    needs, waiting = [], []
    for raw in sorted(changes, key=lambda c: (str(c.get("created")), int(c["_number"]))):
        config, _, _ = branch(str(raw["project"]), str(raw["branch"]))
        # everything the answer depends on but the groups, whose members the memo's
        # lifetime bounds: the change as updated, the branch's OWNERS.yaml and head
        key = (me.key, config.revision, raw["_number"], raw.get("current_revision"),
               raw.get("updated"), raw.get("is_private"))  # fmt: skip
        found, their_names = memo.get(("queued", *key), lambda raw=raw: queued(raw))
        if found is not None:
            names.update(their_names)
            (needs if found.needs_reviewer else waiting).append(found)

    heads = [(str(c["project"]), str(c["branch"])) for c in changes]
    projects = [p for p in gerrit.projects.names() if settings.watches(p)]
    for project in projects[:MAX_HEAD_PROJECTS]:
        try:
            heads.append((project, gerrit.projects.head_branch(project)))
        except UnexpectedResponse:
            continue  # a project without a HEAD branch has no tree to list
        except GerritError as exc:
            if exc.status not in (403, 404):
                raise
            continue  # hidden since it was listed
    subsystems = []
    for project, name in sorted(set(heads)):
        config, ownership, _ = branch(project, name)
        if ownership is not None and config.content is not None:
            found = memo.get(
                ("approvable", me.key, project, config.revision),
                lambda o=ownership: approvable(o, me, members),
            )
            subsystems += [(project, name, a) for a in found]
    return Queue(me, names, tuple(subsystems), tuple(needs), tuple(waiting))
