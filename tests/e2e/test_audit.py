"""`owners audit` against a real Gerrit: the demo project as `owners gerrit-setup` leaves it
audits clean (only the administrators' rights, reported and not counted); then each bypass
is granted on its own, the audit must name exactly it and exit 1, and the grant is taken
back.  Two of the bypasses are also used, to show that they land code without the bot."""

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


@pytest.fixture(scope="module")
def nova(gerrit: devgerrit.GerritServer, tmp_path_factory: pytest.TempPathFactory) -> novademo.Nova:
    """The demo project configured by `owners gerrit-setup` (no service: none is needed to
    read access rights, and a bypass is precisely what lands without it)."""
    project = novademo.provision(gerrit, tmp_path_factory.mktemp("nova-audit"))
    project.service_url = "http://127.0.0.1:9"
    novademo.gerrit_setup(project)
    return project


def owners_audit(nova: novademo.Nova, *args: str) -> tuple[int, Any, str]:
    done = subprocess.run(
        [sys.executable, "-m", "owners.cli", "audit", "--project", nova.project, *args],
        env=nova.service_env(user="admin"),
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(done.stdout) if "--json" in args and done.stdout else done.stdout
    return done.returncode, data, done.stderr


def failing(nova: novademo.Nova) -> list[tuple[str, str, str, str]]:
    code, data, err = owners_audit(nova, "--bot", novademo.BOT, "--json")
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
    assert data["findings"] and all(f["admins"] for f in data["findings"])
    code, text, _ = owners_audit(nova, "--bot", novademo.BOT)
    assert code == 0
    assert text.splitlines()[-1].startswith("0 findings bypass the bot")
