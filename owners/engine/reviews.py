"""What awaits a reviewer: the subsystems an account may approve for, the requirements of a
change that wait for it, and each file's owner status as Gerrit's code-owners plugin shows it.

Pure answers over an evaluation already made (`owners.engine.evaluation.evaluate`): who may
approve is `Eligibility.allows`, whose vote counts is `counts`, the verdict is the
evaluation's.  The "My reviews" page, `owners queue` and the change page's files all ask here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from owners.engine.change import Account, Change, Evaluation, RequirementResult
from owners.engine.evaluation import Eligibility, counts
from owners.engine.model import Mode, Policy
from owners.engine.resolution import Ownership, is_group


def may_approve(
    eligibility: Eligibility, requirement: str, account: Account, change: Change, policy: Policy
) -> bool:
    """Whether the account's approval would count for the requirement on this change: it is
    eligible, and its vote counts (active, not the change's author unless `self_approval`)."""
    return eligibility.allows(requirement, account) and counts(account, change, policy)


def awaiting(
    evaluation: Evaluation,
    account: Account,
    change: Change,
    policy: Policy,
    eligibility: Eligibility,
) -> tuple[RequirementResult, ...]:
    """The unmet requirements of the change that wait for the account: it may approve for
    them (`may_approve`) and has not voted on the change's current patch set."""
    if any(vote.account.same_as(account) and vote.value for vote in change.votes):
        return ()
    return tuple(
        r
        for r in evaluation.requirements
        if not r.met and may_approve(eligibility, r.subsystem, account, change, policy)
    )


def approved_by(evaluation: Evaluation, account: Account) -> tuple[str, ...]:
    """The requirements whose approvals name the account (a sticky or implicit approval
    too, as `approved_by` words them)."""
    names = account.identities | {account.display}
    return tuple(
        r.subsystem
        for r in evaluation.requirements
        if any(a.split(" (", 1)[0] in names for a in r.approved_by)
    )


class Via(enum.StrEnum):
    """How an owners entry names an account."""

    DIRECT = "direct"  # its username or email
    ALIAS = "alias"  # an alias of OWNERS.yaml (`groups:`) that names it
    GROUP = "group"  # a `gerrit:` group it is a member of


@dataclass(frozen=True)
class Approvable:
    """A subsystem the account may approve for by being one of its own owners (approving
    for its descendants follows, as far as `noparent` lets it: `Ownership.chain`)."""

    subsystem: str
    via: Via
    through: tuple[str, ...]  # the aliases followed, or the `gerrit:` group
    file: str  # the file that defines the subsystem (an included one, or OWNERS.yaml)
    mode: Mode


def approvable(
    ownership: Ownership, account: Account, members: Callable[[str], Iterable[str]]
) -> tuple[Approvable, ...]:
    """Every subsystem among whose own owners the account is, in file order: directly, by
    an alias, or as a member of a `gerrit:` group (`members` as the caller may see it)."""
    ids = account.identities
    found = []
    for sub in ownership.config.all_subsystems:
        for approver in ownership.approvers(sub.name):
            if approver.subsystem != sub.name:
                break  # nearest first: the rest are ancestors' owners
            if is_group(approver.identity):
                if not ids & set(members(approver.identity)):
                    continue
                via, through = Via.GROUP, (*approver.via, approver.identity)
            elif approver.identity in ids:
                via, through = (Via.ALIAS if approver.via else Via.DIRECT), approver.via
            else:
                continue
            file = sub.location.file if sub.location else ownership.config.source
            found.append(Approvable(sub.name, via, through, file, sub.mode))
            break
    return tuple(found)


class FileState(enum.StrEnum):
    """A file's owner status, in code-owners' terms."""

    APPROVED = "approved"  # every requirement deciding the file is met, none vetoed
    PENDING = "pending"  # an owner who may approve each unmet one is a reviewer already
    UNASKED = "unasked"  # some unmet requirement has no such reviewer yet


@dataclass(frozen=True)
class FileStatus:
    path: str
    state: FileState
    requirements: tuple[str, ...]  # every requirement the file belongs to
    approved_by: tuple[str, ...]
    asked: tuple[str, ...]  # reviewers who may approve an unmet requirement of the file


def file_statuses(
    evaluation: Evaluation,
    change: Change,
    reviewers: Iterable[Account],
    policy: Policy,
    eligibility: Eligibility,
) -> tuple[FileStatus, ...]:
    """Each file of the evaluation with its owner status.  The enforced requirements decide
    (the advisory ones where a file has no enforced one); a reviewer counts as asked for a
    requirement only if their approval would count for it (`may_approve`)."""
    reviewers = tuple(reviewers)
    by_file: dict[str, list[RequirementResult]] = {}
    for result in evaluation.requirements:
        for path in result.files:
            by_file.setdefault(path, []).append(result)
    asked_for: dict[str, tuple[str, ...]] = {}
    found = []
    for path, results in by_file.items():
        deciding = [r for r in results if r.mode is Mode.ENFORCE] or results
        unmet = [r for r in deciding if not r.met or r.vetoed_by]
        for r in unmet:
            if r.subsystem not in asked_for:
                asked_for[r.subsystem] = tuple(
                    a.display
                    for a in reviewers
                    if may_approve(eligibility, r.subsystem, a, change, policy)
                )
        if not unmet:
            state = FileState.APPROVED
        elif all(asked_for[r.subsystem] for r in unmet):
            state = FileState.PENDING
        else:
            state = FileState.UNASKED
        found.append(
            FileStatus(
                path,
                state,
                tuple(r.subsystem for r in results),
                tuple(dict.fromkeys(a for r in results for a in r.approved_by)),
                tuple(dict.fromkeys(a for r in unmet for a in asked_for[r.subsystem])),
            )
        )
    return tuple(found)
