"""`webhook.audit` on REST answers recorded from the dev Gerrit (tests/fixtures/gerrit/audit-*).

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

from webhook.audit import (
    Policy,
    audit,
    effective_definition,
    failing,
    parse_project,
    probe,
    ref_matches,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gerrit"
POLICY = Policy(bot="owners-bot")
REGISTERED = "global:Registered-Users"
ADMINS = "9671065867f10567cee7b85aa906e4c235ae94de"

Raw = list[dict[str, Any]]


def recorded(name: str) -> Raw:
    return json.loads((FIXTURES / f"audit-{name}.json").read_text())


def run(raw: Raw, policy: Policy = POLICY) -> list[tuple[str, str, str, str, str]]:
    chain = [
        parse_project(e["project"], e["access"], e["labels"], e["submit_requirements"]) for e in raw
    ]
    return [
        (f.kind, f.permission, f.ref, f.group, f.project) for f in failing(audit(chain, policy))
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
        "override expression",
        requirement(override_expression="label:Code-Review=+2"),
        [("requirement-override", "submit-requirement Owner-Approval", "", "", "nova")],
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
    accepted = audit(chain, Policy(bot="owners-bot", allow=frozenset({"Nova Lieutenants"})))
    lieutenants = [f for f in accepted if f.group == "Nova Lieutenants"]
    assert lieutenants and all(f.allowed and not f.counts for f in lieutenants)
    assert len(failing(accepted)) == len(failing(findings)) - 1


def test_branch_globs_narrow_what_is_enforced() -> None:
    raw = copy.deepcopy(recorded("clean"))
    grant("nova", "refs/heads/sandbox/*", "push")(raw)
    assert run(raw, Policy(bot="owners-bot", branch_globs=("master", "stable/*"))) == []
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
