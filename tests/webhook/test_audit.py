"""`owners.gerrit.audit` on REST answers recorded from the dev Gerrit
(tests/fixtures/gerrit/audit-*).

The clean recording is a project as `owners gerrit-setup` leaves it; each case below edits the
recorded answers as Gerrit itself would after one change of access (the recorder,
tests/fixtures/gerrit/record_audit.py, made the same grants for real), and says exactly which
findings fail the audit.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from owners.gerrit.audit import (
    Enforcement,
    ProjectConfig,
    audit,
    effective_definition,
    failing,
    parse_project,
    probe,
    ref_matches,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gerrit"
POLICY = Enforcement(bot="owners-bot")
REGISTERED = "global:Registered-Users"
ADMINS = "9671065867f10567cee7b85aa906e4c235ae94de"

Raw = list[dict[str, Any]]


def recorded(name: str) -> Raw:
    return json.loads((FIXTURES / f"audit-{name}.json").read_text())


def run(
    raw: Raw, policy: Enforcement = POLICY, bot_members: Raw = ()
) -> list[tuple[str, str, str, str, str]]:
    return [
        (f.kind, f.permission, f.ref, f.group, f.project)
        for f in failing(audit(parse(raw), policy, bot_members))
    ]


def parse(raw: Raw) -> list[ProjectConfig]:
    return [
        parse_project(e["project"], e["access"], e["labels"], e["submit_requirements"]) for e in raw
    ]


def project(raw: Raw, name: str) -> dict[str, Any]:
    return next(e for e in raw if e["project"] == name)


def grant(
    where: str,
    ref: str,
    permission: str,
    group: str = REGISTERED,
    *,
    exclusive: bool = False,
    **rule: Any,
) -> Callable[[Raw], None]:
    def edit(raw: Raw) -> None:
        local = project(raw, where)["access"].setdefault("local", {})
        perm = local.setdefault(ref, {"permissions": {}})["permissions"].setdefault(
            permission, {"rules": {}}
        )
        if exclusive:
            perm["exclusive"] = True
        perm["rules"][group] = {"action": "ALLOW", "force": False, **rule}

    return edit


def requirement(**fields: Any) -> Callable[[Raw], None]:
    def edit(raw: Raw) -> None:
        project(raw, "nova")["submit_requirements"][0].update(fields)

    return edit


def label(**fields: Any) -> Callable[[Raw], None]:
    def edit(raw: Raw) -> None:
        project(raw, "nova")["labels"][0].update(fields)

    return edit


def no_requirement(raw: Raw) -> None:
    project(raw, "nova")["submit_requirements"].clear()


REG = "Registered Users"
CASES: list[tuple[str, Callable[[Raw], None], list[tuple[str, str, str, str, str]]]] = [
    (
        "direct push",
        grant("nova", "refs/heads/*", "push"),
        [("direct-push", "push", "refs/heads/*", REG, "nova")],
    ),
    (
        "force push by regex",
        grant("nova", "^refs/heads/.*", "push", force=True),
        [("force-push", "push", "^refs/heads/.*", REG, "nova")],
    ),
    (
        "push on refs/* covers the branches",
        grant("nova", "refs/*", "push"),
        # and to refs/meta/config, whose own grants are not exclusive
        [
            ("direct-push", "push", "refs/*", REG, "nova"),
            ("meta-config-write", "push", "refs/*", REG, "nova"),
        ],
    ),
    ("push to tags only", grant("nova", "refs/tags/*", "push"), []),
    ("upload for review", grant("nova", "refs/for/refs/heads/*", "push"), []),
    (
        "push merge",
        grant("nova", "refs/heads/*", "pushMerge"),
        [("push-merge", "pushMerge", "refs/heads/*", REG, "nova")],
    ),
    (
        "forge committer",
        grant("nova", "refs/heads/*", "forgeCommitter"),
        [("forge-committer", "forgeCommitter", "refs/heads/*", REG, "nova")],
    ),
    (
        "forge server",
        grant("nova", "refs/heads/*", "forgeServerAsCommitter"),
        [("forge-server", "forgeServerAsCommitter", "refs/heads/*", REG, "nova")],
    ),
    ("forge author is attribution only", grant("nova", "refs/*", "forgeAuthor"), []),
    (
        "owners label to Registered Users, more specific than the exclusive grant",
        grant("nova", "refs/heads/master", "label-Owner-Approval", min=-1, max=1),
        [("owners-label", "label-Owner-Approval", "refs/heads/master", REG, "nova")],
    ),
    (
        "owners label added to the exclusive section",
        grant("nova", "refs/heads/*", "label-Owner-Approval", min=0, max=1),
        [("owners-label", "label-Owner-Approval", "refs/heads/*", REG, "nova")],
    ),
    (
        "owners label inherited, hidden by the project's exclusive grant",
        grant("All-Projects", "refs/heads/*", "label-Owner-Approval", min=-1, max=1),
        [],
    ),
    (
        "owners label range 0..0 grants nothing",
        grant("nova", "refs/heads/master", "label-Owner-Approval", min=0, max=0),
        [],
    ),
    (
        "submit on push",
        grant("nova", "refs/for/refs/heads/*", "submit"),
        [("submit-on-push", "submit", "refs/for/refs/heads/*", REG, "nova")],
    ),
    (
        "submit on the branch goes through the requirement",
        grant("nova", "refs/heads/*", "submit"),
        [],
    ),
    (
        "create branch",
        grant("nova", "refs/heads/*", "create"),
        [("create-branch", "create", "refs/heads/*", REG, "nova")],
    ),
    (
        "delete branch",
        grant("nova", "refs/heads/*", "delete"),
        [("delete-branch", "delete", "refs/heads/*", REG, "nova")],
    ),
    (
        "push to refs/meta/config",
        grant("nova", "refs/meta/config", "push"),
        [("meta-config-write", "push", "refs/meta/config", REG, "nova")],
    ),
    (
        "submit on push to refs/meta/config",
        grant("nova", "refs/for/refs/meta/config", "submit"),
        [("meta-config-submit", "submit", "refs/for/refs/meta/config", REG, "nova")],
    ),
    (
        "owner of the project",
        grant("nova", "refs/*", "owner"),
        # owning refs/* also makes Registered Users the "Project Owners" of All-Projects'
        # default grants: push, create and forge committer on refs/heads/*, refs/meta/config
        [
            (
                "create-branch",
                "create",
                "refs/heads/*",
                "Project Owners (= Registered Users)",
                "All-Projects",
            ),
            (
                "direct-push",
                "push",
                "refs/heads/*",
                "Project Owners (= Registered Users)",
                "All-Projects",
            ),
            (
                "forge-committer",
                "forgeCommitter",
                "refs/heads/*",
                "Project Owners (= Registered Users)",
                "All-Projects",
            ),
            (
                "meta-config-write",
                "create",
                "refs/meta/config",
                "Project Owners (= Registered Users)",
                "All-Projects",
            ),
            (
                "meta-config-write",
                "push",
                "refs/meta/config",
                "Project Owners (= Registered Users)",
                "All-Projects",
            ),
            ("owner", "owner", "refs/*", REG, "nova"),
        ],
    ),
    (
        "inherited from All-Projects",
        grant("All-Projects", "refs/heads/*", "push", force=True),
        [("force-push", "push", "refs/heads/*", REG, "All-Projects")],
    ),
    (
        "hidden by an exclusive grant of the project",
        lambda raw: (
            grant("All-Projects", "refs/heads/*", "push")(raw),
            grant("nova", "refs/heads/*", "push", ADMINS, exclusive=True)(raw),
        ),
        [],
    ),
    (
        "blocked for everyone",
        lambda raw: (
            grant("nova", "refs/heads/*", "push")(raw),
            grant("All-Projects", "refs/heads/*", "push", action="BLOCK")(raw),
        ),
        [],
    ),
    (
        "run as",
        grant("All-Projects", "GLOBAL_CAPABILITIES", "runAs"),
        [
            ("run-as", "runAs", "GLOBAL_CAPABILITIES", REG, "All-Projects"),
        ],
    ),
    (
        "modify account",
        grant("All-Projects", "GLOBAL_CAPABILITIES", "modifyAccount"),
        [("modify-account", "modifyAccount", "GLOBAL_CAPABILITIES", REG, "All-Projects")],
    ),
    (
        "access database",
        grant("All-Projects", "GLOBAL_CAPABILITIES", "accessDatabase"),
        [("access-database", "accessDatabase", "GLOBAL_CAPABILITIES", REG, "All-Projects")],
    ),
    (
        "submit on behalf of others",
        grant("nova", "refs/heads/*", "submitAs"),
        [("submit-as", "submitAs", "refs/heads/*", REG, "nova")],
    ),
    (
        "submit on behalf of others, inherited",
        grant("All-Projects", "refs/*", "submitAs"),
        [("submit-as", "submitAs", "refs/*", REG, "All-Projects")],
    ),
    (
        "override expression",
        requirement(override_expression="label:Code-Review=+2"),
        [("requirement-override", "submit-requirement Owner-Approval", "", "", "nova")],
    ),
    (
        "override label to anyone, with no override group given",
        grant("nova", "refs/heads/*", "label-Owners-Override", min=0, max=1),
        [("override-label", "label-Owners-Override", "refs/heads/*", REG, "nova")],
    ),
    (
        "applicability expression",
        requirement(applicability_expression="branch:master"),
        [("requirement-applicability", "submit-requirement Owner-Approval", "", "", "nova")],
    ),
    (
        "weakened expression",
        requirement(submittability_expression="label:Owner-Approval=MAX"),
        [("requirement-weakened", "submit-requirement Owner-Approval", "", "", "nova")],
    ),
    (
        "overridable in children",
        requirement(allow_override_in_child_projects=True),
        [("requirement-overridable", "submit-requirement Owner-Approval", "", "", "nova")],
    ),
    (
        "no requirement",
        no_requirement,
        [("requirement-missing", "submit-requirement Owner-Approval", "", "", "nova")],
    ),
    (
        "blocking label function",
        label(function="MaxWithBlock"),
        [("label-function", "label Owner-Approval", "", "", "nova")],
    ),
    (
        "copied votes",
        label(copy_condition="changekind:TRIVIAL_REBASE"),
        [("label-copy", "label Owner-Approval", "", "", "nova")],
    ),
]


def test_the_project_as_gerrit_setup_leaves_it_is_clean() -> None:
    assert run(recorded("clean")) == []


@pytest.mark.parametrize(("name", "edit", "expected"), CASES, ids=[c[0] for c in CASES])
def test_one_change_of_access_gives_exactly_its_findings(
    name: str, edit: Callable[[Raw], None], expected: list[tuple[str, ...]]
) -> None:
    raw = copy.deepcopy(recorded("clean"))
    edit(raw)
    assert sorted(run(raw)) == sorted(expected)


def test_the_recorded_misconfiguration_shows_every_bypass_it_made() -> None:
    kinds = sorted(
        (kind, ref, group, where) for kind, _, ref, group, where in run(recorded("misconfigured"))
    )
    assert kinds == [
        ("create-branch", "^refs/heads/[a-z].*", REG, "nova"),
        ("direct-push", "refs/heads/*", REG, "nova"),
        ("force-push", "refs/heads/*", "Nova Lieutenants", "All-Projects"),
        ("forge-committer", "refs/heads/*", REG, "nova"),
        ("meta-config-write", "refs/meta/config", REG, "nova"),
        ("owners-label", "refs/heads/master", REG, "nova"),
        ("push-merge", "refs/heads/stable/*", REG, "nova"),
        ("requirement-override", "", "", "nova"),
        ("submit-on-push", "refs/for/refs/heads/*", REG, "nova"),
    ]


def test_admins_are_reported_but_do_not_fail_and_allow_accepts_a_group() -> None:
    raw = recorded("misconfigured")
    chain = [
        parse_project(e["project"], e["access"], e["labels"], e["submit_requirements"]) for e in raw
    ]
    findings = audit(chain, POLICY)
    admins = [f for f in findings if f.admins]
    assert {f.group for f in admins} >= {"Administrators", "Project Owners (= admins only)"}
    assert all(not f.counts for f in admins)
    accepted = audit(chain, Enforcement(bot="owners-bot", allow=frozenset({"Nova Lieutenants"})))
    lieutenants = [f for f in accepted if f.group == "Nova Lieutenants"]
    assert lieutenants and all(f.allowed and not f.counts for f in lieutenants)
    assert len(failing(accepted)) == len(failing(findings)) - 1


def test_branch_globs_narrow_what_is_enforced() -> None:
    raw = copy.deepcopy(recorded("clean"))
    grant("nova", "refs/heads/sandbox/*", "push")(raw)
    assert run(raw, Enforcement(bot="owners-bot", branch_globs=("master", "stable/*"))) == []
    assert run(raw)[0][0] == "direct-push"


@pytest.mark.parametrize(
    ("pattern", "ref", "matches"),
    [
        ("refs/heads/*", "refs/heads/master", True),
        ("refs/*", "refs/meta/config", True),
        ("refs/heads/master", "refs/heads/main", False),
        ("^refs/heads/.*", "refs/heads/stable/x", True),
        ("^refs/heads/rel-[0-9]+", "refs/heads/master", False),
        ("^refs/heads/(", "refs/heads/master", False),  # an invalid regex matches nothing
        ("refs/heads/sandbox/${username}/*", "refs/heads/sandbox/owners-audit-user/x", True),
    ],
)
def test_ref_patterns(pattern: str, ref: str, matches: bool) -> None:
    assert ref_matches(pattern, ref) is matches


def test_probe_finds_a_ref_both_name_or_none() -> None:
    assert probe("refs/*", ("refs/heads/*",)) == "refs/heads/master"
    assert probe("refs/heads/stable/*", ("refs/heads/*",)) == "refs/heads/stable/master"
    assert probe("refs/tags/*", ("refs/heads/*",)) is None
    assert probe("^refs/heads/rel-[0-9]+", ("refs/heads/*",)) is None  # no sample matches


def test_a_parent_requirement_that_forbids_overriding_wins() -> None:
    raw = copy.deepcopy(recorded("clean"))
    project(raw, "All-Projects")["submit_requirements"].append(
        {
            "name": "Owner-Approval",
            "submittability_expression": "is:true",
            "allow_override_in_child_projects": False,
        }
    )
    chain = [
        parse_project(e["project"], e["access"], e["labels"], e["submit_requirements"]) for e in raw
    ]
    where, _ = effective_definition(chain, "requirements", "Owner-Approval") or ("", {})
    assert where == "All-Projects"
    assert run(raw) == [
        ("requirement-weakened", "submit-requirement Owner-Approval", "", "", "All-Projects")
    ]


# -- the break-glass override: only the override group's +1 may submit without the owners ----

RM = "Release Managers"
RM_UUID = "5944d7ed43692c510fbcc766d7e7f953418f482c"
OVERRIDE = Enforcement(bot="owners-bot", override_group=RM)
PINNED = f'label:"Owners-Override=MAX,group={RM}"'
SR = "submit-requirement Owner-Approval"


def overridable(raw: Raw) -> None:
    """What `owners gerrit-setup --override-group "Release Managers"` adds."""
    nova = project(raw, "nova")
    nova["access"]["groups"][RM_UUID] = {"name": RM}
    grant("nova", "refs/heads/*", "label-Owners-Override", RM_UUID, exclusive=True, max=1)(raw)
    nova["labels"].append({"name": "Owners-Override", "project_name": "nova"})
    requirement(override_expression=PINNED)(raw)


OVERRIDE_CASES: list[tuple[str, Callable[[Raw], None], list[tuple[str, str, str, str, str]]]] = [
    ("as the setup leaves it", lambda raw: None, []),
    (
        "the label to Registered Users on master",
        grant("nova", "refs/heads/master", "label-Owners-Override", min=0, max=1),
        [("override-label", "label-Owners-Override", "refs/heads/master", REG, "nova")],
    ),
    (
        "the label to the administrators too",
        grant("nova", "refs/heads/*", "label-Owners-Override", ADMINS, max=1),
        [("override-label", "label-Owners-Override", "refs/heads/*", "Administrators", "nova")],
    ),
    (
        "the label inherited, hidden by the project's exclusive grant",
        grant("All-Projects", "refs/heads/*", "label-Owners-Override", max=1),
        [],
    ),
    (
        "the label inherited on master, more specific than the exclusive grant",
        grant("All-Projects", "refs/heads/master", "label-Owners-Override", max=1),
        [("override-label", "label-Owners-Override", "refs/heads/master", REG, "All-Projects")],
    ),
    (
        "the label to Registered Users, blocked for them in All-Projects",
        lambda raw: (
            grant("nova", "refs/heads/master", "label-Owners-Override", max=1)(raw),
            grant("All-Projects", "refs/heads/*", "label-Owners-Override", action="BLOCK")(raw),
        ),
        [],
    ),
    (
        "the unpinned term of older setups",
        requirement(override_expression="label:Owners-Override=MAX"),
        [("requirement-override", SR, "", "", "nova")],
    ),
    (
        "the pinned term beside another",
        requirement(override_expression=f"(label:Code-Review=+2) OR ({PINNED})"),
        [("requirement-override", SR, "", "", "nova")],
    ),
    (
        "pinned to another group",
        requirement(override_expression='label:"Owners-Override=MAX,group=Nova Lieutenants"'),
        [("requirement-override", SR, "", "", "nova")],
    ),
]


@pytest.mark.parametrize(
    ("name", "edit", "expected"), OVERRIDE_CASES, ids=[c[0] for c in OVERRIDE_CASES]
)
def test_only_the_override_group_may_break_the_glass(
    name: str, edit: Callable[[Raw], None], expected: list[tuple[str, ...]]
) -> None:
    raw = copy.deepcopy(recorded("clean"))
    overridable(raw)
    edit(raw)
    assert sorted(run(raw, OVERRIDE)) == sorted(expected)


def test_the_override_groups_own_grant_and_pinned_term_are_listed_not_failed() -> None:
    raw = copy.deepcopy(recorded("clean"))
    overridable(raw)
    listed = [
        (f.kind, f.group, f.allowed, f.counts) for f in audit(parse(raw), OVERRIDE) if not f.admins
    ]
    assert sorted(listed) == [
        ("override-label", RM, True, False),
        ("requirement-override", "", True, False),
    ]
    # --allow does not stretch the override to another group
    raw_wide = copy.deepcopy(raw)
    grant("nova", "refs/heads/master", "label-Owners-Override", max=1)(raw_wide)
    allowing = Enforcement(bot="owners-bot", override_group=RM, allow=frozenset({REG}))
    assert [k for k, *_ in run(raw_wide, allowing)] == ["override-label"]


def test_without_an_override_group_every_override_fails() -> None:
    raw = copy.deepcopy(recorded("clean"))
    overridable(raw)
    assert sorted(run(raw)) == [
        ("override-label", "label-Owners-Override", "refs/heads/*", RM, "nova"),
        ("requirement-override", SR, "", "", "nova"),
    ]
    detail = next(f.detail for f in audit(parse(raw), POLICY) if f.kind == "requirement-override")
    assert "no override group given" in detail


# -- the bot's group: GET /groups/Owners%20Bot/members/?recursive ------------------------------

BOT_ACCOUNT = {"_account_id": 1000015, "name": "owners-bot", "username": "owners-bot"}
HANA = {"_account_id": 1000013, "name": "hana", "email": "hana@example.org", "username": "hana"}


def test_the_bot_alone_in_its_group_is_clean() -> None:
    assert run(recorded("clean"), bot_members=[BOT_ACCOUNT]) == []


def test_a_human_in_the_bots_group_fails() -> None:
    """She may then vote the owners label: the exclusive grant is to her group."""
    assert run(recorded("clean"), bot_members=[BOT_ACCOUNT, HANA]) == [
        ("bot-group-member", "membership of Owners Bot", "", "hana", "")
    ]
    nameless = {"_account_id": 1000099}
    assert [g for *_, g, _ in run(recorded("clean"), bot_members=[nameless])] == ["1000099"]
