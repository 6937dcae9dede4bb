"""From a change snapshot and its branch's OWNERS.yaml to the owners' verdict, without I/O.

`assess` answers "what do the owners say": an `Outcome` with the verdict and its reasons,
using the branch's OWNERS.yaml, or the fallback owners when it is missing or invalid, and
blocking a change whose proposed OWNERS.yaml does not parse.  Every surface that judges a
change on Gerrit (the bot, the submit check, the pages, `owners check --change`) calls it;
Gerrit groups are resolved by an injected lookup.  What the bot then posts is
`webhook.bot.plan`'s business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from owners.engine import (
    CONFIG_PATH,
    ROOT,
    Change,
    ChangedFile,
    Diagnostic,
    Evaluation,
    Mode,
    OwnersConfig,
    Ownership,
    Policy,
    Severity,
    Subsystem,
    Verdict,
    evaluate,
    parse_config,
)
from owners.engine.change import StickyVote
from owners.engine.directory import Lookup
from owners.engine.evaluation import Eligibility, counts
from owners.engine.landing import Landing
from owners.engine.suggestion import Acquaintance
from owners.gerrit.model import ChangeSnapshot
from owners.gerrit.settings import Settings

GroupLookup = Callable[[str], Iterable[str] | None]
# compiles one OWNERS.yaml content (`compile_config`, or a cache of compiled maps)
CompileMap = Callable[[bytes], tuple[Ownership | None, tuple[Diagnostic, ...]]]
"""Members (usernames and emails) of a Gerrit group; None when the group cannot be seen."""

VOTES = {Verdict.APPROVED: 1, Verdict.PENDING: 0, Verdict.BLOCKED: -1}
NEEDS_HASHTAG = "owners-needs-"
"""The bot marks a change it does not approve with `owners-needs-<subsystem>` for each unmet
requirement, so that a Gerrit query (the dashboards' "Needs <subsystem>") lists exactly the
changes the bot says wait for that subsystem."""
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Outcome:
    """The verdict on a change and every reason for it, before comparing with the bot's past."""

    verdict: Verdict
    evaluation: Evaluation
    branch: str
    fallback: str | None = None  # why the fallback owners decide; None: the branch's file does
    fallback_owners: tuple[str, ...] = ()
    config_problems: tuple[str, ...] = ()  # the branch's OWNERS.yaml, when it is invalid
    proposal_problems: tuple[str, ...] = ()  # the OWNERS.yaml this change proposes
    proposal_invalid: bool = False
    unanchored: bool = False  # no parent is on the branch: blocked until rebased
    notes: tuple[str, ...] = ()
    unresolved_groups: tuple[str, ...] = ()
    unstaffed: tuple[str, ...] = ()  # unmet requirements with too few eligible reviewers
    overridden_by: tuple[str, ...] = ()  # who voted the override label (break-glass)
    override_label: str = ""

    @property
    def unmet(self) -> tuple[str, ...]:
        """The enforced requirements not met, or vetoed: what an override bypassed."""
        return tuple(
            r.subsystem
            for r in self.evaluation.requirements
            if r.mode is Mode.ENFORCE and (not r.met or r.vetoed_by)
        )

    @property
    def vote(self) -> int:
        return VOTES[self.verdict]

    @property
    def needs_hashtags(self) -> frozenset[str]:
        """`NEEDS_HASHTAG` and the name of each unmet requirement; none when approved (an
        override included): the change then waits for no subsystem."""
        if self.verdict is Verdict.APPROVED:
            return frozenset()
        return frozenset(NEEDS_HASHTAG + name for name in self.unmet)


def assess(
    snapshot: ChangeSnapshot,
    config: bytes | None,
    settings: Settings,
    lookup: GroupLookup | None = None,
    proposed: bytes | None = None,
    *,
    foreign_parents: tuple[str, ...] = (),
    directory: Lookup | None = None,
    pure_revert_of: int = 0,
    sticky_votes: tuple[StickyVote, ...] = (),
    landing: Landing | None = None,
    reverted_landing: Landing | None = None,
    included: tuple[tuple[str, bytes | None], ...] = (),
    proposed_read: Callable[[str], bytes | None] | None = None,
    compile_map: CompileMap | None = None,
    acquaintance: Callable[[str], Acquaintance] | None = None,
) -> Outcome:
    """What the owners say about the change.

    `config` is the branch's OWNERS.yaml (None: missing); `proposed` is the OWNERS.yaml of the
    change's current patch set, needed when `snapshot.edits_config`.  `foreign_parents` are
    the revision's parents that are neither on the branch nor open changes for it: what they
    bring in was reviewed nowhere, so the change is blocked until it is rebased, unless it is
    a merge with another parent on the branch, whose files (against every parent) then cover
    all it brings in.  `compile_map` compiles the branch's file (default: `compile_config`;
    the service shares compiled maps between its processes, `owners.gerrit.compiled`).
    `acquaintance` ranks the suggested reviewers (`owners.gerrit.people`); it changes who is
    asked, never the verdict.

    With a `directory` (Gerrit's accounts and groups), a proposed OWNERS.yaml is also checked
    for names no active account or visible group holds.  Those are errors of the proposal, so
    they block: an unknown name is most likely a typo that would leave a subsystem without
    the approvers it was meant to have once merged, and blocking fails closed.
    """
    ownership, diagnostics = (
        compile_tree(config, included, compile_map) if config is not None else (None, ())
    )
    fallback = None
    problems: tuple[str, ...] = ()
    if ownership is None:
        if config is None:
            fallback = f"there is no {CONFIG_PATH} on branch {snapshot.branch}"
        else:
            fallback = f"the {CONFIG_PATH} on branch {snapshot.branch} is invalid"
            problems = _lines(d for d in diagnostics if d.severity is Severity.ERROR)
        ownership = fallback_ownership(settings.fallback_owners)

    notes: list[str] = []
    proposal: tuple[str, ...] = ()
    proposal_invalid = False
    if snapshot.edits_config or proposed_read is not None:
        if proposed is None:
            proposal, proposal_invalid = (f"{CONFIG_PATH}: could not be read",), True
        else:
            _, found = parse_config(proposed, CONFIG_PATH, directory, read=proposed_read)
            proposal = _lines(found)
            proposal_invalid = any(d.severity is Severity.ERROR for d in found)
    elif snapshot.deletes_config:
        notes.append(
            f"This change removes {CONFIG_PATH}: once merged, the fallback owners decide "
            "every change on this branch."
        )

    unstaffed: tuple[str, ...] = ()
    if ownership is None:  # no usable file and no fallback owners: nobody can approve
        evaluation = Evaluation(Verdict.BLOCKED, ())
    else:
        policy = ownership.config.policy
        if policy.label not in snapshot.labels:
            notes.append(f"The label {policy.label} does not apply to this change.")
        change = snapshot.as_change(
            merge_files(snapshot, policy, foreign_parents),
            snapshot.votes(policy.label),
            pure_revert_of=pure_revert_of,
            sticky_votes=sticky_votes,
            landing=landing,
            reverted_landing=reverted_landing,
        )
        evaluation = evaluate(
            ownership,
            change,
            lookup,
            suggestions=settings.max_reviewers,
            acquaintance=acquaintance,
        )
        unstaffed = _unstaffed(evaluation, ownership, change, snapshot, settings.user, lookup)

    verdict = evaluation.verdict
    unanchored = bool(foreign_parents) and len(foreign_parents) == len(snapshot.parents)
    if foreign_parents:
        notes.append(_foreign_note(snapshot, foreign_parents, unanchored))
    if proposal_invalid or unanchored:
        verdict = Verdict.BLOCKED
    return Outcome(
        verdict=verdict,
        evaluation=evaluation,
        branch=snapshot.branch,
        fallback=fallback,
        fallback_owners=settings.fallback_owners if fallback else (),
        config_problems=problems,
        proposal_problems=proposal,
        proposal_invalid=proposal_invalid,
        unanchored=unanchored,
        notes=tuple(notes),
        unresolved_groups=evaluation.unresolved_groups,
        unstaffed=unstaffed,
        overridden_by=overriders(snapshot, settings, lookup),
        override_label=settings.override_label,
    )


def overriders(
    snapshot: ChangeSnapshot, settings: Settings, lookup: GroupLookup | None
) -> tuple[str, ...]:
    """Who overrode the owners: members of `OWNERS_OVERRIDE_GROUP` who voted the override
    label to its maximum (+1) on the current patch set.

    Invariant: only a +1 from a member of the override group lets a change submit without
    the owners.  Gerrit's requirement is pinned to the group too (`owners gerrit-setup`),
    but a grant of the label wider than the group must not widen the override, so a vote
    counts here only when the group's members, as `lookup` reads them, name its account, and
    a deactivated account overrides nothing.
    No group set, or a group that cannot be read: nobody overrides.
    """
    group = settings.override_group
    members = lookup(group) if group and lookup is not None else None
    if not members:
        return ()
    names = frozenset(members)
    return tuple(
        dict.fromkeys(
            v.account.display
            for v in snapshot.votes(settings.override_label)
            if v.value >= 1 and v.account.active and v.account.identities & names
        )
    )


def merge_files(
    snapshot: ChangeSnapshot, policy: Policy, foreign_parents: tuple[str, ...]
) -> tuple[ChangedFile, ...]:
    """The files a merge is judged on: every file differing from any parent (the default),
    or with `merge_commits: conflict-resolution` only those differing from Gerrit's auto-merge
    (the conflict resolutions), and that only when every parent is on the branch or an open
    change for it: what a foreign parent brings in was reviewed nowhere, so then the default
    applies whatever the file says."""
    if snapshot.merge and policy.merge_commits == "conflict-resolution" and not foreign_parents:
        return snapshot.automerge_files
    return snapshot.files


def check_outcome(outcome: Outcome) -> Evaluation:
    """The evaluation carrying the verdict the bot casts (an invalid proposal blocks)."""
    return replace(outcome.evaluation, verdict=outcome.verdict)


def compile_tree(
    content: bytes,
    included: tuple[tuple[str, bytes | None], ...],
    compile_map: CompileMap | None = None,
) -> tuple[Ownership | None, tuple[Diagnostic, ...]]:
    """`compile_config` (or `compile_map`) for a root file, given the files its `include:`
    names as read at the same commit; a file that names includes it was not given fails to
    parse.  A tree with includes is compiled here: the shared maps are keyed by one file."""
    if not included:
        return (compile_map or compile_config)(content)
    return _compile_with_includes(content, included)


@lru_cache(maxsize=32)
def _compile_with_includes(
    content: bytes, included: tuple[tuple[str, bytes | None], ...]
) -> tuple[Ownership | None, tuple[Diagnostic, ...]]:
    files = dict(included)
    config, diagnostics = parse_config(content, CONFIG_PATH, read=files.get)
    return (Ownership(config) if config is not None else None), tuple(diagnostics)


@lru_cache(maxsize=32)
def compile_config(content: bytes) -> tuple[Ownership | None, tuple[Diagnostic, ...]]:
    """Parse and compile once per distinct file content: large files are costly to compile."""
    config, diagnostics = parse_config(content, CONFIG_PATH)
    return (Ownership(config) if config is not None else None), tuple(diagnostics)


@lru_cache(maxsize=8)
def fallback_ownership(owners: tuple[str, ...]) -> Ownership | None:
    """A config whose root is the fallback owners, so they must approve every file.  None
    when there are none: a branch without a usable OWNERS.yaml is never approved by default."""
    if not owners:
        return None
    root = Subsystem(ROOT, owners, approvals=1, parent=None)
    return Ownership(OwnersConfig(Policy(), {}, root, (), "fallback owners"))


def _unstaffed(
    evaluation: Evaluation,
    ownership: Ownership,
    change: Change,
    snapshot: ChangeSnapshot,
    bot: str,
    members: GroupLookup | None,
) -> tuple[str, ...]:
    """Unmet requirements with fewer reviewers who may still approve (whose vote would
    count) than approvals missing."""
    policy = ownership.config.policy
    candidates = [r for r in snapshot.reviewers if r.username != bot and counts(r, change, policy)]
    eligibility = Eligibility(ownership, members)
    found = []
    for result in evaluation.requirements:
        if result.met:
            continue
        waiting = [
            r
            for r in candidates
            if eligibility.allows(result.subsystem, r) and r.display not in result.approved_by
        ]
        if len(waiting) < result.missing:
            found.append(result.subsystem)
    return tuple(found)


def _foreign_note(snapshot: ChangeSnapshot, foreign: tuple[str, ...], unanchored: bool) -> str:
    commits = ", ".join(c[:12] for c in foreign)
    where = f"neither on {snapshot.branch} nor an open change for it"
    if unanchored:
        return (
            f"Parent {commits} is {where}, so submitting would bring unreviewed commits into "
            f"{snapshot.branch}. Rebase the change onto {snapshot.branch} (the Rebase button, "
            f"or `git rebase origin/{snapshot.branch}`) and upload it again."
        )
    return (
        f"Parent {commits} is {where}: this merge is judged on every file that differs from "
        "any of its parents."
    )


def _lines(diagnostics: Iterable[Diagnostic]) -> tuple[str, ...]:
    lines = [one_line(str(d)) for d in diagnostics]
    if len(lines) > MAX_PROBLEMS:
        more = len(lines) - MAX_PROBLEMS + 1
        lines[MAX_PROBLEMS - 1 :] = [f"... and {more} more (run `owners validate`)"]
    return tuple(lines)


def one_line(text: str) -> str:
    """`text` as one printable line for the bot's comment: a diagnostic may quote a key or a
    YAML error spanning lines, and a proposed OWNERS.yaml is written by whoever uploads it, so
    its newlines and control characters must not shape the comment."""
    flat = " ".join(text.split())
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in flat)
