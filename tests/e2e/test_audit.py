"""`owners audit` against a real Gerrit: the demo project as `owners gerrit-setup` leaves it,
with the break-glass override of the "Release Managers", audits clean (the administrators'
rights and the override group's own, reported and not counted); then each bypass is granted
on its own, the audit must name exactly it and exit 1, and the grant is taken back.  Some of
the bypasses are also used, to show what they let an attacker do."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import devgerrit
import novademo
import pytest

pytestmark = pytest.mark.e2e

REGISTERED = "global:Registered-Users"
REG = "Registered Users"
REQUIREMENT = "projects/nova/submit_requirements/Owner-Approval"
OWNERS = Path(sys.executable).with_name("owners")  # the installed console script
OVERRIDE = "Owners-Override"
OVERRIDERS = "Release Managers"


@pytest.fixture(scope="module")
def nova(gerrit: devgerrit.GerritServer, tmp_path_factory: pytest.TempPathFactory) -> novademo.Nova:
    """The demo project configured by `owners gerrit-setup` with hana's Release Managers as
    the override group (no service: none is needed to read access rights, and a bypass is
    precisely what lands without it)."""
    project = novademo.provision(gerrit, tmp_path_factory.mktemp("nova-audit"))
    project.service_url = "http://127.0.0.1:9"
    project.extra_env["OWNERS_OVERRIDE_GROUP"] = OVERRIDERS
    gerrit.rest.create_group(OVERRIDERS, ["hana"])
    novademo.gerrit_setup(project)
    return project


def owners_audit(nova: novademo.Nova, *args: str, **env: str) -> tuple[int, Any, str]:
    """`owners audit --project nova ARGS` as the administrator, with more environment."""
    done = subprocess.run(
        [str(OWNERS), "audit", "--project", nova.project, *args],
        env={**nova.service_env(user="admin"), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(done.stdout) if "--json" in args and done.stdout else done.stdout
    return done.returncode, data, done.stderr


def failing(nova: novademo.Nova, **env: str) -> list[tuple[str, str, str, str]]:
    code, data, err = owners_audit(nova, "--bot", novademo.BOT, "--json", **env)
    assert code == (1 if data["failing"] else 0), err
    return sorted(
        (f["kind"], f["ref"], f["group"], f["project"]) for f in data["findings"] if f["counts"]
    )


def sections(ref: str, permission: str, group: str, **rule: Any) -> dict[str, Any]:
    return {ref: {"permissions": {permission: {"rules": {group: {"action": "ALLOW", **rule}}}}}}


@contextlib.contextmanager
def granted(nova: novademo.Nova, where: str, access: dict[str, Any]) -> Iterator[None]:
    """`access` added to project `where` for the block, removed after it."""
    admin = nova.gerrit.rest
    admin.post(f"projects/{devgerrit.quote(where)}/access", {"add": access})
    try:
        yield
    finally:
        admin.post(f"projects/{devgerrit.quote(where)}/access", {"remove": access})


@contextlib.contextmanager
def requirement(nova: novademo.Nova, **fields: Any) -> Iterator[None]:
    """The owners submit requirement with `fields` changed for the block."""
    admin = nova.gerrit.rest
    original = admin.get(REQUIREMENT)
    admin.put(REQUIREMENT, {**original, **fields})
    try:
        yield
    finally:
        admin.put(REQUIREMENT, original)


def lieutenants(nova: novademo.Nova) -> str:
    return nova.gerrit.rest.get(f"groups/{devgerrit.quote(novademo.LIEUTENANTS_GROUP)}")["id"]


# (name, project the grant goes to, access to grant, the one failing finding expected)
GRANTS = [
    (
        "direct push",
        "nova",
        sections("refs/heads/*", "push", REGISTERED),
        ("direct-push", "refs/heads/*", REG, "nova"),
    ),
    (
        "push merge",
        "nova",
        sections("refs/heads/*", "pushMerge", REGISTERED),
        ("push-merge", "refs/heads/*", REG, "nova"),
    ),
    (
        "forge committer",
        "nova",
        sections("refs/heads/*", "forgeCommitter", REGISTERED),
        ("forge-committer", "refs/heads/*", REG, "nova"),
    ),
    (
        "owners label",
        "nova",
        sections("refs/heads/*", "label-Owner-Approval", REGISTERED, min=-1, max=1),
        ("owners-label", "refs/heads/*", REG, "nova"),
    ),
    (
        "submit on push",
        "nova",
        sections("refs/for/refs/heads/*", "submit", REGISTERED),
        ("submit-on-push", "refs/for/refs/heads/*", REG, "nova"),
    ),
    (
        "create branch",
        "nova",
        sections("refs/heads/*", "create", REGISTERED),
        ("create-branch", "refs/heads/*", REG, "nova"),
    ),
    (
        "push to refs/meta/config",
        "nova",
        sections("refs/meta/config", "push", REGISTERED),
        ("meta-config-write", "refs/meta/config", REG, "nova"),
    ),
    (
        "inherited force push",
        "All-Projects",
        sections("^refs/heads/.+", "push", REGISTERED, force=True),
        ("force-push", "^refs/heads/.+", REG, "All-Projects"),
    ),
    (
        "override label to everyone on master",
        "nova",
        sections("refs/heads/master", f"label-{OVERRIDE}", REGISTERED, min=0, max=1),
        ("override-label", "refs/heads/master", REG, "nova"),
    ),
    (
        "submit on behalf of others",
        "nova",
        sections("refs/heads/*", "submitAs", REGISTERED),
        ("submit-as", "refs/heads/*", REG, "nova"),
    ),
    (
        "run as",
        "All-Projects",
        sections("GLOBAL_CAPABILITIES", "runAs", REGISTERED),
        ("run-as", "GLOBAL_CAPABILITIES", REG, "All-Projects"),
    ),
    (
        "modify account",
        "All-Projects",
        sections("GLOBAL_CAPABILITIES", "modifyAccount", REGISTERED),
        ("modify-account", "GLOBAL_CAPABILITIES", REG, "All-Projects"),
    ),
    (
        "access database",
        "All-Projects",
        sections("GLOBAL_CAPABILITIES", "accessDatabase", REGISTERED),
        ("access-database", "GLOBAL_CAPABILITIES", REG, "All-Projects"),
    ),
]


@pytest.mark.parametrize(("name", "where", "access", "finding"), GRANTS, ids=[g[0] for g in GRANTS])
def test_each_bypass_granted_alone_is_reported_alone(
    nova: novademo.Nova, name: str, where: str, access: dict[str, Any], finding: tuple[str, ...]
) -> None:
    with granted(nova, where, access):
        assert failing(nova) == [finding]
    assert failing(nova) == []


def test_an_override_expression_on_the_requirement_is_reported(nova: novademo.Nova) -> None:
    with requirement(nova, override_expression="label:Code-Review=+2"):
        assert failing(nova) == [("requirement-override", "", "", "nova")]
    assert failing(nova) == []


def test_a_wide_override_grant_fails_the_audit_and_its_votes_do_not_override(
    nova: novademo.Nova,
) -> None:
    """The attack: an admin lets Registered Users vote the break-glass label on master.  The
    audit fails naming it, and the pinned requirement still ignores zed's +1 while it
    counts hana's (a Release Manager), as Gerrit itself reports."""
    outsider = nova.push_change("zed", {"nova/compute/api.py": "# zed\n"}, "compute: zed's")
    member = nova.push_change("zed", {"nova/compute/api.py": "# hana\n"}, "compute: hana's")
    wide = sections("refs/heads/master", f"label-{OVERRIDE}", REGISTERED, min=0, max=1)
    with granted(nova, "nova", wide):
        assert failing(nova) == [("override-label", "refs/heads/master", REG, "nova")]
        nova.vote("zed", outsider, 1, label=OVERRIDE)
        nova.vote("hana", member, 1, label=OVERRIDE)
        assert nova.requirement(outsider) == "UNSATISFIED"
        assert nova.requirement(member) == "OVERRIDDEN"
        # the term earlier setups wrote is what made the wide grant a bypass
        with requirement(nova, override_expression=f"label:{OVERRIDE}=MAX"):
            assert nova.requirement(outsider) == "OVERRIDDEN"
            assert failing(nova) == [
                ("override-label", "refs/heads/master", REG, "nova"),
                ("requirement-override", "", "", "nova"),
            ]
    assert failing(nova) == []


def test_without_an_override_group_every_override_fails(nova: novademo.Nova) -> None:
    assert failing(nova, OWNERS_OVERRIDE_GROUP="") == [
        ("override-label", "refs/heads/*", OVERRIDERS, "nova"),
        ("requirement-override", "", "", "nova"),
    ]


def test_a_human_in_the_bots_group_fails_the_audit_and_votes_the_owners_label(
    nova: novademo.Nova,
) -> None:
    number = nova.push_change("zed", {"nova/compute/api.py": "# bot\n"}, "compute: the bot's?")
    admin = nova.gerrit.rest
    admin.add_group_members("Owners Bot", ["hana"])
    try:
        assert failing(nova) == [("bot-group-member", "", "hana", "")]
        nova.vote("hana", number, -1, label=novademo.LABEL)  # Gerrit takes it: it blocks
        votes = nova.change(number)["labels"][novademo.LABEL]["all"]
        assert [(v.get("username"), v.get("value")) for v in votes] == [("hana", -1)]
    finally:
        admin.delete(f"groups/{devgerrit.quote('Owners Bot')}/members/hana")
    assert failing(nova) == []


def test_modify_account_claims_an_owners_email_and_deactivates_owners(
    nova: novademo.Nova,
) -> None:
    """With modifyAccount zed adds to his own account, unconfirmed, an email that OWNERS.yaml
    may name before its owner's account holds it (a new lieutenant's), so that Gerrit says it
    is his; and he deactivates carol, a nova-core owner.  (Another account's emails, password
    and keys stay the administrators': Gerrit 3.10.2 answers 403 to those.)"""
    email = "new-lieutenant@example.org"
    zed = nova.rest("zed")
    admin = nova.gerrit.rest
    with pytest.raises(devgerrit.RestError) as refused:
        zed.put(f"accounts/self/emails/{email}", {"no_confirmation": True})
    assert refused.value.status == 403
    capability = sections("GLOBAL_CAPABILITIES", "modifyAccount", REGISTERED)
    carol = admin.get("accounts/carol")["_account_id"]
    try:
        with granted(nova, "All-Projects", capability):
            assert failing(nova) == [("modify-account", "GLOBAL_CAPABILITIES", REG, "All-Projects")]
            zed.put(f"accounts/self/emails/{email}", {"no_confirmation": True})
            holders = admin.get(f"accounts/?q=email:{email}&o=DETAILS")
            assert [a["username"] for a in holders] == ["zed"]
            zed.delete(f"accounts/{carol}/active")
            assert not active(nova, carol)
        assert failing(nova) == []
    finally:  # undo what zed did
        if not active(nova, carol):
            admin.put(f"accounts/{carol}/active")
        if email in [e["email"] for e in admin.get("accounts/zed/emails")]:
            admin.delete(f"accounts/zed/emails/{email}")


def test_access_database_opens_gerrits_storage_to_a_contributor(
    nova: novademo.Nova, tmp_path: Path
) -> None:
    """With accessDatabase zed sees All-Users' group refs, where the bot's group and every
    group OWNERS.yaml names keep their members, and which he cannot see without it."""
    auth = ("zed", novademo.password("zed"))

    def group_refs() -> list[str]:
        listed = devgerrit.git(tmp_path, "ls-remote", nova.gerrit.git_url("All-Users"), auth=auth)
        return [line.split("\t")[1] for line in listed.splitlines() if "\trefs/groups/" in line]

    assert group_refs() == []
    bot_group = nova.gerrit.rest.get(f"groups/{devgerrit.quote('Owners Bot')}")["id"]
    with granted(
        nova, "All-Projects", sections("GLOBAL_CAPABILITIES", "accessDatabase", REGISTERED)
    ):
        assert failing(nova) == [("access-database", "GLOBAL_CAPABILITIES", REG, "All-Projects")]
        assert f"refs/groups/{bot_group[:2]}/{bot_group}" in group_refs()
    assert group_refs() == []


def active(nova: novademo.Nova, account: int) -> bool:
    """Gerrit answers `GET accounts/{id}/active` with "ok", or nothing for an inactive one."""
    return nova.gerrit.rest.call("GET", f"accounts/{account}/active", ok=(200, 204)) == "ok"


def test_an_accepted_group_is_shown_but_does_not_fail(nova: novademo.Nova) -> None:
    access = sections("refs/heads/*", "pushMerge", lieutenants(nova))
    with granted(nova, "nova", access):
        assert failing(nova) == [("push-merge", "refs/heads/*", novademo.LIEUTENANTS_GROUP, "nova")]
        args = ("--bot", novademo.BOT, "--allow", novademo.LIEUTENANTS_GROUP, "--json")
        code, data, _ = owners_audit(nova, *args)
        assert code == 0
        assert [f["allowed"] for f in data["findings"] if f["kind"] == "push-merge"] == [True]


def test_direct_push_lands_code_that_no_one_reviewed(nova: novademo.Nova, tmp_path: Path) -> None:
    """Why direct push is a finding: zed, who owns nothing, changes core code on master."""
    with granted(nova, "nova", sections("refs/heads/*", "push", REGISTERED)):
        assert failing(nova) == [("direct-push", "refs/heads/*", REG, "nova")]
        head = land(nova, tmp_path, "HEAD:refs/heads/master")
    assert nova.gerrit.rest.get("projects/nova/branches/master")["revision"] == head


def test_submit_on_push_is_stopped_only_by_the_submit_check(
    nova: novademo.Nova, tmp_path: Path
) -> None:
    """Why submit on refs/for/* is a finding: `%submit` merges at upload, and Gerrit records
    every submit requirement as FORCED (seen on 3.10.2 before the submit-check plugin), so the
    bot's vote is never asked for.  Only the plugin, which Gerrit runs in every merge, refuses
    it; a site without the plugin lands the commit."""
    head = nova.gerrit.rest.get("projects/nova/branches/master")["revision"]
    with (
        granted(nova, "nova", sections("refs/for/refs/heads/*", "submit", REGISTERED)),
        pytest.raises(RuntimeError, match=r"(?s)owners: .*remote rejected") as refused,
    ):
        land(nova, tmp_path, "HEAD:refs/for/master%submit")
    assert "Failed to submit" in str(refused.value)
    assert nova.gerrit.rest.get("projects/nova/branches/master")["revision"] == head


def land(nova: novademo.Nova, tmp_path: Path, refspec: str) -> str:
    """zed commits to compute (root-owned: two core approvals needed) and pushes `refspec`."""
    auth = ("zed", novademo.password("zed"))
    clone = devgerrit.git_clone(nova.gerrit.git_url(nova.project), tmp_path / "zed", auth)
    head = devgerrit.git_commit(
        clone,
        "compute: unreviewed",
        {"nova/compute/api.py": "# nobody reviewed this\n"},
        author=("Zed", novademo.PEOPLE["zed"]),
    )
    devgerrit.git_push(clone, nova.gerrit.git_url(nova.project), *auth, refspec)
    return head


def test_usage_and_connection_errors_exit_2(nova: novademo.Nova) -> None:
    code, _, err = owners_audit_project(nova, "no-such-project")
    assert code == 2
    assert err.count("\n") == 1 and "404" in err


def owners_audit_project(nova: novademo.Nova, project: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "owners.cli", "audit", "--project", project],
        env=nova.service_env(user="admin"),
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_the_project_as_gerrit_setup_leaves_it_audits_clean(nova: novademo.Nova) -> None:
    code, data, err = owners_audit(nova, "--bot", novademo.BOT, "--json")
    assert code == 0, err
    assert data["chain"] == ["nova", "All-Projects"]
    assert data["failing"] == 0
    assert data["override_group"] == OVERRIDERS
    assert data["findings"] and all(f["admins"] for f in data["findings"] if not f["allowed"])
    assert sorted(f["kind"] for f in data["findings"] if f["allowed"]) == [
        "override-label",  # to the Release Managers, on refs/heads/*
        "requirement-override",  # the setup's term pinned to them
    ]
    code, text, _ = owners_audit(nova, "--bot", novademo.BOT)
    assert code == 0
    assert text.splitlines()[-1].startswith("0 findings bypass the bot")
