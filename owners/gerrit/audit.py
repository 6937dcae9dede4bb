"""`owners audit`: which access rights let code land on an enforced branch without the bot.

The bot only guards the path through review: a change becomes submittable when the submit
requirement sees the bot's +1.  Anyone who can push straight to a branch, rewrite the
project's configuration, vote on the owners label in the bot's stead or satisfy a weakened
requirement goes around it.  This module finds those rights in what Gerrit's REST API says
about a project and its parents (`GET /projects/{p}/access`, `/labels/`,
`/submit_requirements/`, each project of the `inherits_from` chain, and the bot's group's
members), as a pure function so that it is tested on recorded answers;
`owners.gerrit.projects.Projects.access_chain` and `owners.gerrit.accounts.Accounts.group_accounts`
read them.

How Gerrit's rules are applied (exclusivity checked with the dev Gerrit's `check.access`): for one
ref, the sections whose pattern matches it are ordered most specific first (child project
before parent on equal patterns); an `exclusive` permission hides every later grant of the
same permission to other groups, also inherited ones; a BLOCK hides a grant to its group
(Anonymous or Registered Users: to everyone) unless that grant is in the BLOCK's own section.
DENY grants nothing.  A pattern is judged on one example ref it shares with the enforced
branches (e.g. `refs/heads/master` for `refs/heads/*`), which is exact for the usual
patterns and an approximation for overlapping regular expressions.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from owners.gerrit.setup import SetupError, override_term, submittability

ANONYMOUS = "global:Anonymous-Users"
REGISTERED = "global:Registered-Users"
PROJECT_OWNERS = "global:Project-Owners"
GLOBAL = "GLOBAL_CAPABILITIES"
META_CONFIG = "refs/meta/config"
NON_BLOCKING_FUNCTIONS = frozenset({"NoBlock", "NoOp"})
_GRANTS = frozenset({"ALLOW", "INTERACTIVE", "BATCH"})
_PARAMETER = re.compile(r"\$\{[A-Za-z]+\}")
_PROBE_NAMES = ("master", "main", "owners-audit-probe", "stable/owners-audit-probe")

# Why each right matters, by finding kind.  Rights not listed here were judged harmless to
# the bot (see docs/security.md, "owners audit"): forgeAuthor (the bot judges Gerrit's owner
# and uploader accounts, not git's author line), rebase, addPatchSet and editTopicName (a new
# patch set drops the bot's vote, and a topic submits only when every change is submittable),
# plain submit on refs/heads/* (the submit requirement still applies), uploads for review.
WHY: dict[str, str] = {
    "direct-push": "pushes commits straight to the branch: no change, no review, no bot",
    "force-push": "rewrites the branch to any commit, reviewed or not, and drops history",
    "push-merge": "pushes merge commits: with push they land another branch's history "
    "unreviewed; through review the bot judges a merge on its files against every parent",
    "forge-committer": "pushes commits in someone else's name as committer: lands "
    "cherry-picks and foreign history as if it had been reviewed and merged here",
    "forge-server": "pushes commits as Gerrit's own server identity, which tools and people "
    "read as 'merged by Gerrit after review'",
    "create-branch": "creates an enforced branch at any visible commit, e.g. an unreviewed "
    "patch set's (refs/changes/...), so code appears on the branch without review",
    "delete-branch": "deletes an enforced branch; with create it re-creates it at any commit",
    "owner": "owns the refs: edits their access rights (grants itself push, removes the "
    "bot's exclusivity) without anyone's review",
    "meta-config-write": "writes refs/meta/config: edits project.config, i.e. the submit "
    "requirement, the label and every access right",
    "meta-config-submit": "submits changes to refs/meta/config: project.config edits that "
    "remove the requirement land on the owners of the project's say alone",
    "submit-on-push": "submit on refs/for/...: `git push origin HEAD:refs/for/master%submit` "
    "merges at upload with every submit requirement FORCED (seen on Gerrit 3.10.2); only the "
    "submit-check plugin refuses it",
    "owners-label": "votes on the owners label: a +1 shows as owner approval and satisfies "
    "any requirement or rule not pinned to the bot; a -1 blocks the change",
    "override-label": "votes the break-glass label: only the override group's +1 may "
    "submit without the owners; anyone else's does wherever the requirement's override is not "
    "pinned to that group (older setups wrote `label:Owners-Override=MAX`)",
    "submit-as": "submits on another account's behalf (`on_behalf_of`): the merge is recorded "
    "as theirs, so who bypassed or broke the glass is forged in the change and in the report",
    "run-as": "acts as any account through X-Gerrit-RunAs, the bot's included: casts the "
    "bot's vote",
    "modify-account": "edits accounts: adds unconfirmed emails to its own (claims an email "
    "OWNERS.yaml names before its owner's account holds it, and approves as that owner), "
    "deactivates and renames other accounts (owners among them)",
    "access-database": "opens Gerrit's storage below the REST checks: All-Users' group refs, "
    "where memberships live, and direct NoteDb pushes to changes' meta refs, where votes live",
    "bot-group-member": "a member of the bot's group other than the bot: may vote the owners "
    "label like the bot, and the group's exclusivity no longer keeps the label to the bot",
    "administrate": "administers the server: owns every project, can change any right",
    "requirement-missing": "no submit requirement needs the owners label: changes submit "
    "without the bot's vote",
    "requirement-weakened": "the owners requirement's expression differs from the pinned "
    "`label:L=MAX,user=BOT AND -label:L=MIN` that gerrit-setup writes",
    "requirement-override": "an override expression: whoever can satisfy it submits without "
    "the bot's vote; only gerrit-setup's term pinned to the override group is expected",
    "requirement-applicability": "an applicability expression: changes it does not match are "
    "not checked at all",
    "requirement-overridable": "allow_override_in_child_projects: a child project may "
    "redefine the owners requirement, e.g. as always satisfied",
    "label-missing": "the requirement names a label that does not exist: nothing is "
    "submittable, and the usual 'fix' removes the requirement",
    "label-function": "a blocking label function adds a legacy requirement that any MAX vote "
    "on the label satisfies; harmless only while the pinned requirement holds",
    "label-copy": "a copy condition carries the bot's +1 to new patch sets: new code is "
    "submittable before the bot judged it",
}


@dataclass(frozen=True)
class Rule:
    """One group's rule for one permission in one section of one project's access."""

    project: str
    ref: str
    permission: str
    group: str  # UUID
    action: str
    force: bool = False
    exclusive: bool = False
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class ProjectConfig:
    """What one project of the chain defines itself (not what it inherits)."""

    name: str
    parent: str | None
    rules: tuple[Rule, ...]
    group_names: Mapping[str, str]
    labels: Mapping[str, Mapping[str, Any]]
    requirements: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Enforcement:
    """What the project should enforce: the label, the bot, the branches, accepted holders."""

    bot: str
    label: str = "Owner-Approval"
    bot_group: str = "Owners Bot"
    branch_globs: tuple[str, ...] = ("refs/heads/*",)
    allow: frozenset[str] = frozenset()  # group names or UUIDs whose findings are accepted
    override_label: str = "Owners-Override"
    # The only group that may break the glass, by name (the requirement's `group=` takes
    # names only); None: nobody may, so every grant of the override label and every
    # override expression fails.
    override_group: str | None = None


@dataclass(frozen=True)
class Finding:
    """One right (or one weakness of the requirement) that bypasses the bot."""

    kind: str
    permission: str
    ref: str
    project: str  # where it is defined
    inherited: bool
    group: str = ""  # the holder's name ("" for the requirement's own findings)
    group_uuid: str = ""
    admins: bool = False  # held by the administrators, who bypass by definition
    allowed: bool = False  # accepted: with --allow, or the override group's own break-glass
    detail: str = ""
    why: str = ""

    @property
    def counts(self) -> bool:
        """Whether it fails the audit: neither the administrators' nor accepted."""
        return not (self.admins or self.allowed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "permission": self.permission,
            "ref": self.ref,
            "project": self.project,
            "inherited": self.inherited,
            "group": self.group,
            "group_uuid": self.group_uuid,
            "admins": self.admins,
            "allowed": self.allowed,
            "counts": self.counts,
            "detail": self.detail,
            "why": self.why,
        }


# -- parsing REST answers ---------------------------------------------------------------------


def parse_project(
    name: str, access: Mapping[str, Any], labels: Iterable[Any], requirements: Iterable[Any]
) -> ProjectConfig:
    """One project's own part of the chain, from its three REST answers."""
    rules: list[Rule] = []
    for ref, section in (access.get("local") or {}).items():
        for permission, info in ((section or {}).get("permissions") or {}).items():
            exclusive = bool(info.get("exclusive"))
            for group, rule in (info.get("rules") or {}).items():
                rules.append(
                    Rule(
                        project=name,
                        ref=ref,
                        permission=permission,
                        group=group,
                        action=str(rule.get("action", "ALLOW")).upper(),
                        force=bool(rule.get("force")),
                        exclusive=exclusive,
                        min=rule.get("min"),
                        max=rule.get("max"),
                    )
                )
    names = {
        uuid: str(info.get("name") or uuid) for uuid, info in (access.get("groups") or {}).items()
    }
    parent = (access.get("inherits_from") or {}).get("name") or (
        (access.get("inherits_from") or {}).get("id")
    )
    own_labels = {
        str(label["name"]): label
        for label in labels
        if isinstance(label, dict) and label.get("name") and label.get("project_name", name) == name
    }
    own_requirements = {
        str(sr["name"]): sr for sr in requirements if isinstance(sr, dict) and sr.get("name")
    }
    return ProjectConfig(name, parent, tuple(rules), names, own_labels, own_requirements)


# -- refs and patterns ------------------------------------------------------------------------


def _concrete(pattern: str) -> str:
    return _PARAMETER.sub("owners-audit-user", pattern)


def ref_matches(pattern: str, ref: str) -> bool:
    """Whether a Gerrit ref pattern (exact, `prefix/*` or `^regex`) covers `ref`."""
    pattern = _concrete(pattern)
    if pattern.startswith("^"):
        try:
            return re.fullmatch(pattern[1:], ref) is not None
        except re.error:
            return False
    if pattern.endswith("/*") or pattern == "*":
        return ref.startswith(pattern[:-1])
    return pattern == ref


def branch_glob(text: str) -> str:
    """`master`, `stable/*` or `refs/heads/stable/*` as a full ref glob."""
    return text if text.startswith("refs/") else f"refs/heads/{text}"


def _glob_samples(glob: str) -> list[str]:
    if "*" not in glob and "?" not in glob and "[" not in glob:
        return [glob]
    return [glob.replace("*", name).replace("?", "x") for name in _PROBE_NAMES]


def probe(pattern: str, globs: Sequence[str]) -> str | None:
    """An example ref that `pattern` covers and one of the enforced `globs` names, or None
    when the pattern reaches no enforced branch."""
    concrete = _concrete(pattern)
    for glob in globs:
        candidates = []
        if not concrete.startswith("^") and not concrete.endswith("*"):
            candidates.append(concrete)
        elif concrete.endswith("/*"):
            candidates += [concrete[:-1] + name for name in _PROBE_NAMES]
        candidates += _glob_samples(glob)
        for ref in candidates:
            if ref_matches(pattern, ref) and fnmatch.fnmatchcase(ref, glob):
                return ref
    return None


def _distance(pattern: str, ref: str) -> int:
    """Gerrit's MostSpecificComparator: edit distance from the pattern's example to the ref."""
    pattern = _concrete(pattern)
    if pattern.startswith("^"):
        example = re.sub(r"\\(.)", r"\1", pattern[1:].replace(".*", "").replace(".+", "x"))
    elif pattern.endswith("/*"):
        example = pattern
    elif pattern == ref:
        return 0
    else:
        return max(len(pattern), len(ref))
    return _levenshtein(example, ref)


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _order(pattern: str, ref: str) -> tuple[int, int, int]:
    finite = not (pattern.startswith("^") or pattern.endswith("*"))
    return (_distance(pattern, ref), 0 if finite else 1, -len(pattern))


# -- effective grants -------------------------------------------------------------------------


@dataclass
class _Chain:
    projects: Sequence[ProjectConfig]
    depth: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.depth = {p.name: i for i, p in enumerate(self.projects)}

    def rules(self, permission: str) -> list[Rule]:
        return [r for p in self.projects for r in p.rules if r.permission == permission]

    def effective(self, rule: Rule, ref: str) -> bool:
        """Whether `rule` (a grant) still grants on `ref` after exclusivity and BLOCKs."""
        if rule.action not in _GRANTS or not ref_matches(rule.ref, ref):
            return False
        same = [r for r in self.rules(rule.permission) if ref_matches(r.ref, ref)]
        mine = (_order(rule.ref, ref), self.depth[rule.project])
        for other in same:
            here = (_order(other.ref, ref), self.depth[other.project])
            same_section = (other.project, other.ref) == (rule.project, rule.ref)
            if other.exclusive and here < mine and not same_section:
                listed = {
                    r.group
                    for r in same
                    if (r.project, r.ref) == (other.project, other.ref) and r.action in _GRANTS
                }
                if rule.group not in listed:
                    return False
            if (
                other.action == "BLOCK"
                and other.group in (rule.group, ANONYMOUS, REGISTERED)
                and not (other.force and not rule.force)
                and not same_section
            ):
                return False
        return True

    def name(self, uuid: str) -> str:
        for project in self.projects:
            if uuid in project.group_names:
                return project.group_names[uuid]
        return uuid


# -- the audit --------------------------------------------------------------------------------

_BRANCH_RIGHTS = {
    "push": "direct-push",
    "pushMerge": "push-merge",
    "forgeCommitter": "forge-committer",
    "forgeServerAsCommitter": "forge-server",
    "create": "create-branch",
    "delete": "delete-branch",
    "owner": "owner",
    "submitAs": "submit-as",
}
_META_RIGHTS = {"push": "meta-config-write", "create": "meta-config-write", "owner": "owner"}


_CAPABILITIES = {
    "runAs": "run-as",
    "administrateServer": "administrate",
    "modifyAccount": "modify-account",
    "accessDatabase": "access-database",
}


def audit(
    chain: Sequence[ProjectConfig],
    policy: Enforcement,
    bot_group_members: Iterable[Mapping[str, Any]] = (),
) -> list[Finding]:
    """Every right and requirement weakness of `chain` (the project first, All-Projects
    last) that lets code reach a branch of `policy.branch_globs` without the bot's +1 or
    the override group's; `bot_group_members` is Gerrit's answer to
    `GET /groups/{policy.bot_group}/members/?recursive`."""
    if not chain:
        return []
    c = _Chain(chain)
    project = chain[0].name
    globs = tuple(branch_glob(g) for g in policy.branch_globs)
    for_globs = tuple(f"refs/for/{g}" for g in globs)
    admins = {r.group for r in c.rules("administrateServer") if r.action in _GRANTS}
    owner_groups = {
        r.group for r in c.rules("owner") if r.ref == "refs/*" and c.effective(r, r.ref)
    }
    findings: list[Finding] = []

    def add(kind: str, rule: Rule, detail: str = "", accepted: bool | None = None) -> None:
        """`accepted` decides alone when given: neither admins nor --allow exempt it."""
        # Project Owners stands for the groups owning the project: admins only, or others.
        holders = owner_groups - admins if rule.group == PROJECT_OWNERS else {rule.group}
        name = c.name(rule.group)
        if rule.group == PROJECT_OWNERS:
            name += f" (= {', '.join(sorted(c.name(g) for g in holders)) or 'admins only'})"
        is_admin = not (holders - admins)
        allowed = rule.group in policy.allow or c.name(rule.group) in policy.allow
        if holders and all(h in policy.allow or c.name(h) in policy.allow for h in holders):
            allowed = True
        if accepted is not None:
            is_admin, allowed = False, accepted
        findings.append(
            Finding(
                kind=kind,
                permission=rule.permission,
                ref=rule.ref,
                project=rule.project,
                inherited=rule.project != project,
                group=name,
                group_uuid=rule.group,
                admins=is_admin,
                allowed=allowed and not is_admin,
                detail=detail,
                why=WHY[kind],
            )
        )

    def grants(permission: str, targets: Sequence[str]) -> Iterable[tuple[Rule, str]]:
        for rule in c.rules(permission):
            ref = probe(rule.ref, targets)
            if ref is not None and c.effective(rule, ref):
                yield rule, ref

    for permission, kind in _BRANCH_RIGHTS.items():
        for rule, _ref in grants(permission, globs):
            if permission == "push" and rule.force:
                add("force-push", rule, "force")
            else:
                add(kind, rule)
    for permission, kind in _META_RIGHTS.items():
        for rule, _ref in grants(permission, (META_CONFIG,)):
            if not (permission == "owner" and probe(rule.ref, globs)):  # reported above
                add(kind, rule)
    for rule, _ref in grants("submit", (f"refs/for/{META_CONFIG}",)):
        add("meta-config-submit", rule)
    for rule, _ref in grants("submit", for_globs):
        add("submit-on-push", rule)
    bot_group = {uuid for p in chain for uuid, n in p.group_names.items() if n == policy.bot_group}
    for rule, _ref in grants(f"label-{policy.label}", globs):
        if rule.group not in bot_group and ((rule.max or 0) > 0 or (rule.min or 0) < 0):
            add("owners-label", rule, f"{rule.min or 0:+d}..{rule.max or 0:+d}")
    overriders = {policy.override_group} if policy.override_group else set()
    for rule, _ref in grants(f"label-{policy.override_label}", globs):
        if (rule.max or 0) > 0:
            mine = bool({rule.group, c.name(rule.group)} & overriders)
            detail = f"{rule.min or 0:+d}..{rule.max:+d}" + (
                "" if mine else f"; {_override_group_said(policy)}"
            )
            add("override-label", rule, detail, accepted=mine)
    for capability, kind in _CAPABILITIES.items():
        for rule in c.rules(capability):
            if rule.ref == GLOBAL and rule.action in _GRANTS:
                add(kind, rule)
    for member in bot_group_members:
        if member.get("username") != policy.bot:
            who = member.get("username") or member.get("name") or member.get("_account_id")
            email = member.get("email", "no email")
            findings.append(
                Finding(
                    kind="bot-group-member",
                    permission=f"membership of {policy.bot_group}",
                    ref="",
                    project="",
                    inherited=False,
                    group=str(who),
                    detail=f"account {member.get('_account_id')}, {email}",
                    why=WHY["bot-group-member"],
                )
            )
    findings += _requirement_findings(chain, policy)
    return sorted(findings, key=lambda f: (not f.counts, f.kind, f.project, f.ref, f.group))


def effective_definition(
    chain: Sequence[ProjectConfig], kind: str, name: str
) -> tuple[str, Mapping[str, Any]] | None:
    """The label (`kind` "labels") or submit requirement ("requirements") named `name` that
    applies to the first project of `chain`, with the project defining it: a child's own
    definition wins unless a parent forbids overriding it."""
    override_key = "can_override" if kind == "labels" else "allow_override_in_child_projects"
    default = kind == "labels"
    found: tuple[str, Mapping[str, Any]] | None = None
    for project in reversed(chain):  # from All-Projects down to the project
        definitions = {k.lower(): v for k, v in getattr(project, kind).items()}
        here = definitions.get(name.lower())
        if here is None:
            continue
        if found is not None and not found[1].get(override_key, default):
            continue
        found = (project.name, here)
    return found


def _override_group_said(policy: Enforcement) -> str:
    if policy.override_group:
        return f"only '{policy.override_group}' may break the glass"
    return "no override group given (--override-group, OWNERS_OVERRIDE_GROUP): nobody may"


def _override_finding(expression: str, policy: Enforcement) -> tuple[bool, str]:
    """Whether the requirement's override is gerrit-setup's term pinned to the override
    group, and what to say about it."""
    if not policy.override_group:
        return False, f"{expression!r}; {_override_group_said(policy)}"
    try:
        pinned = override_term(policy.override_label, policy.override_group)
    except SetupError as error:
        return False, f"{expression!r}; {error}"
    if expression == pinned:
        return True, f"{expression!r}: only '{policy.override_group}' +1 overrides"
    return False, f"{expression!r}, wanted only {pinned!r}"


def _requirement_findings(chain: Sequence[ProjectConfig], policy: Enforcement) -> list[Finding]:
    project = chain[0].name
    expected = submittability(policy.label, policy.bot)
    findings: list[Finding] = []

    def add(kind: str, where: str, permission: str, detail: str, allowed: bool = False) -> None:
        findings.append(
            Finding(
                kind=kind,
                permission=permission,
                ref="",
                project=where,
                inherited=where != project,
                allowed=allowed,
                detail=detail,
                why=WHY[kind],
            )
        )

    requirement = effective_definition(chain, "requirements", policy.label)
    if requirement is None:
        add("requirement-missing", project, f"submit-requirement {policy.label}", "")
    else:
        where, sr = requirement
        what = f"submit-requirement {sr.get('name', policy.label)}"
        submittable = str(sr.get("submittability_expression") or "")
        if " ".join(submittable.split()) != expected:
            add("requirement-weakened", where, what, f"{submittable!r}, wanted {expected!r}")
        if sr.get("override_expression"):
            pinned, detail = _override_finding(str(sr["override_expression"]), policy)
            add("requirement-override", where, what, detail, allowed=pinned)
        if sr.get("applicability_expression"):
            add("requirement-applicability", where, what, str(sr["applicability_expression"]))
        if sr.get("allow_override_in_child_projects"):
            add("requirement-overridable", where, what, "allow_override_in_child_projects")
    label = effective_definition(chain, "labels", policy.label)
    if label is None:
        add("label-missing", project, f"label {policy.label}", "")
    else:
        where, info = label
        what = f"label {policy.label}"
        function = str(info.get("function") or "MaxWithBlock")
        if function not in NON_BLOCKING_FUNCTIONS:
            add("label-function", where, what, f"function {function}")
        if info.get("copy_condition"):
            add("label-copy", where, what, f"copy_condition {info['copy_condition']}")
    return findings


def failing(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that fail the audit (exit 1): not the admins', not accepted."""
    return [f for f in findings if f.counts]
