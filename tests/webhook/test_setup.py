"""`owners gerrit-setup`: what it configures, and that a second run changes nothing."""

from __future__ import annotations

import subprocess

import pytest

from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import HANDLED
from owners.gerrit.git import git_error
from owners.gerrit.setup import (
    SetupError,
    configure_project,
    override_term,
    set_remote,
    submittability,
)
from tests.webhook.conftest import BOT, TOKEN, FakeGerrit, account, fake_connection, settings

SERVICE = "https://owners.example.org"
PINNED = 'label:"Owners-Override=MAX,group=Release Managers"'
UNPINNED = "label:Owners-Override=MAX"


@pytest.fixture
def connection(gerrit: FakeGerrit) -> GerritConnection:
    gerrit.accounts[BOT] = account(BOT)
    return fake_connection(settings(), gerrit)


def setup(connection: GerritConnection, **kw: object) -> list[str]:
    return configure_project(settings(), "nova", SERVICE, gerrit=connection, **kw)  # type: ignore[arg-type]


def test_first_run_configures_everything(connection: GerritConnection, gerrit: FakeGerrit) -> None:
    changes = setup(connection)
    assert changes == [
        f"created group 'Owners Bot' with member {BOT}",
        "created label Owner-Approval on nova (NoBlock, -1..+1)",
        "granted label-Owner-Approval -1..+1 on refs/heads/* of nova to 'Owners Bot' only "
        "(exclusive)",
        "created submit requirement Owner-Approval on nova: "
        f"label:Owner-Approval=MAX,user={BOT} AND -label:Owner-Approval=MIN",
        "granted viewPrivateChanges on refs/* of nova to 'Owners Bot'",
        "granted viewSecondaryEmails on GLOBAL_CAPABILITIES of All-Projects to 'Owners Bot'",
        "granted editHashtags on refs/heads/* of nova to 'Owners Bot'",
        'set remote "owners" in webhooks.config of nova to '
        f"{SERVICE}/gerrit/events/<OWNERS_WEBHOOK_TOKEN> (12 event types)",
    ]
    label = gerrit.labels[("nova", "Owner-Approval")]
    assert label["function"] == "NoBlock"
    assert label["values"] == {
        "-1": "Blocked or invalid OWNERS.yaml",
        " 0": "Pending",
        "+1": "Approved by owners",
    }
    permission = gerrit.access["nova"]["local"]["refs/heads/*"]["permissions"]
    assert permission["label-Owner-Approval"] == {
        "exclusive": True,
        "rules": {"uuid-Owners Bot": {"action": "ALLOW", "min": -1, "max": 1}},
    }
    requirement = gerrit.submit_requirements[("nova", "Owner-Approval")]
    assert requirement["allow_override_in_child_projects"] is False
    webhooks = gerrit.meta_files[("nova", "webhooks.config")].decode()
    assert f"url = {SERVICE}/gerrit/events/{TOKEN}" in webhooks
    assert [line.split("= ")[1] for line in webhooks.splitlines() if "event =" in line] == list(
        HANDLED
    )


def test_secrets_are_not_in_what_is_printed(connection: GerritConnection) -> None:
    assert not any(TOKEN in line or "s3cret" in line for line in setup(connection))


def test_second_run_changes_nothing(connection: GerritConnection, gerrit: FakeGerrit) -> None:
    setup(connection)
    writes = [entry for entry in gerrit.log if entry[0] in ("PUT", "POST", "PUSH")]
    assert setup(connection) == []
    assert [entry for entry in gerrit.log if entry[0] in ("PUT", "POST", "PUSH")] == writes


def test_drift_is_repaired(connection: GerritConnection, gerrit: FakeGerrit) -> None:
    setup(connection)
    gerrit.labels[("nova", "Owner-Approval")].update(
        function="MaxWithBlock", copy_condition="is:ANY"
    )
    rules = gerrit.access["nova"]["local"]["refs/heads/*"]["permissions"]["label-Owner-Approval"]
    rules["rules"]["uuid-Registered Users"] = {"action": "ALLOW", "min": -1, "max": 1}
    gerrit.submit_requirements[("nova", "Owner-Approval")]["description"] = "edited"
    gerrit.group_members["Owners Bot"].remove(BOT)
    gerrit.meta_files[("nova", "webhooks.config")] = (
        b'[remote "other"]\n\turl = https://x.example.org/\n[remote "owners"]\n\turl = http://old/\n'
    )
    assert setup(connection) == [
        f"added {BOT} to group 'Owners Bot'",
        "updated label Owner-Approval on nova (function, copy_condition)",
        "granted label-Owner-Approval -1..+1 on refs/heads/* of nova to 'Owners Bot' only "
        "(exclusive)",
        "updated submit requirement Owner-Approval on nova: "
        f"label:Owner-Approval=MAX,user={BOT} AND -label:Owner-Approval=MIN",
        'set remote "owners" in webhooks.config of nova to '
        f"{SERVICE}/gerrit/events/<OWNERS_WEBHOOK_TOKEN> (12 event types)",
    ]
    assert "copy_condition" not in gerrit.labels[("nova", "Owner-Approval")]
    permission = gerrit.access["nova"]["local"]["refs/heads/*"]["permissions"]
    assert set(permission["label-Owner-Approval"]["rules"]) == {"uuid-Owners Bot"}
    webhooks = gerrit.meta_files[("nova", "webhooks.config")].decode()
    assert "url = https://x.example.org/" in webhooks and "http://old/" not in webhooks
    assert setup(connection) == []


def test_a_weakened_requirement_is_drift_that_only_force_replaces(
    connection: GerritConnection, gerrit: FakeGerrit
) -> None:
    setup(connection)
    requirement = gerrit.submit_requirements[("nova", "Owner-Approval")]
    requirement["submittability_expression"] = "is:true"
    writes = [entry for entry in gerrit.log if entry[0] in ("PUT", "POST", "PUSH")]
    with pytest.raises(SetupError, match=r"changed by hand \(submittableIf is 'is:true'\)"):
        setup(connection)
    assert [entry for entry in gerrit.log if entry[0] in ("PUT", "POST", "PUSH")] == writes
    assert setup(connection, force=True) == [
        "updated submit requirement Owner-Approval on nova: "
        f"label:Owner-Approval=MAX,user={BOT} AND -label:Owner-Approval=MIN"
    ]


def test_an_admins_applicability_and_override_terms_are_kept(
    connection: GerritConnection, gerrit: FakeGerrit
) -> None:
    gerrit.group_members["Release Managers"] = ["hana"]
    setup(connection, override_group="Release Managers")
    requirement = gerrit.submit_requirements[("nova", "Owner-Approval")]
    assert requirement["override_expression"] == PINNED
    requirement["applicability_expression"] = "-is:wip"
    requirement["override_expression"] = f"(label:Verified=+1) OR ({PINNED})"
    assert setup(connection, override_group="Release Managers") == []
    assert setup(connection) == [  # without the override: only the setup's own term goes
        "updated submit requirement Owner-Approval on nova: "
        f"label:Owner-Approval=MAX,user={BOT} AND -label:Owner-Approval=MIN; "
        "applicableIf -is:wip; overrideIf label:Verified=+1"
    ]


def test_the_override_counts_only_the_override_groups_votes(
    connection: GerritConnection, gerrit: FakeGerrit
) -> None:
    """The name is quoted whole: Gerrit ends an unquoted `group=` at a space and finds no
    group by UUID there."""
    gerrit.group_members["Release Managers"] = ["hana"]
    changes = setup(connection, override_group="Release Managers")
    assert any(c.endswith(f"overrideIf {PINNED}") for c in changes)
    assert override_term("Owners-Override", "RM") == 'label:"Owners-Override=MAX,group=RM"'
    with pytest.raises(SetupError, match="rename the group"):
        override_term("Owners-Override", 'Release "Managers"')


@pytest.mark.parametrize(
    "older",
    [
        pytest.param(f"{UNPINNED}", id="written by the older setup"),
        pytest.param(f"(label:Verified=+1) OR ({UNPINNED})", id="beside an admin's term"),
    ],
)
def test_an_older_setups_unpinned_override_is_replaced_by_the_pinned_one(
    connection: GerritConnection, gerrit: FakeGerrit, older: str
) -> None:
    gerrit.group_members["Release Managers"] = ["hana"]
    setup(connection, override_group="Release Managers")
    key = ("nova", "Owner-Approval")
    recorded = gerrit.submit_requirements[key]["description"].replace(PINNED, UNPINNED)
    admins = "(label:Verified=+1) OR " if "Verified" in older else ""
    wanted = f"{admins}({PINNED})" if admins else PINNED
    for description in (recorded, "written by hand, nothing recorded"):
        gerrit.submit_requirements[key].update(override_expression=older, description=description)
        setup(connection, override_group="Release Managers")
        assert gerrit.submit_requirements[key]["override_expression"] == wanted


def test_the_override_group_defaults_to_the_services_and_must_agree_with_it(
    connection: GerritConnection, gerrit: FakeGerrit
) -> None:
    gerrit.group_members["Release Managers"] = ["hana"]
    ours = settings(override_group="Release Managers")
    configure_project(ours, "nova", SERVICE, gerrit=connection)  # type: ignore[arg-type]
    assert gerrit.submit_requirements[("nova", "Owner-Approval")]["override_expression"] == PINNED
    with pytest.raises(SetupError, match="is not OWNERS_OVERRIDE_GROUP 'Release Managers'"):
        configure_project(ours, "nova", SERVICE, gerrit=connection, override_group="Admins")  # type: ignore[arg-type]


def test_the_branch_scope_is_anded_with_an_admins_applicability(
    connection: GerritConnection, gerrit: FakeGerrit
) -> None:
    setup(connection)
    gerrit.submit_requirements[("nova", "Owner-Approval")]["applicability_expression"] = "-is:wip"
    scoped = settings(branches=("master", "stable/*"))
    configure_project(scoped, "nova", SERVICE, gerrit=connection)  # type: ignore[arg-type]
    requirement = gerrit.submit_requirements[("nova", "Owner-Approval")]
    assert requirement["applicability_expression"] == (
        "(-is:wip) AND (branch:master OR branch:^stable/.*)"
    )
    configure_project(settings(branches=("main",)), "nova", SERVICE, gerrit=connection)  # type: ignore[arg-type]
    requirement = gerrit.submit_requirements[("nova", "Owner-Approval")]
    assert requirement["applicability_expression"] == "(-is:wip) AND (branch:main)"


def test_an_administrator_can_set_up_another_bot(
    connection: GerritConnection, gerrit: FakeGerrit
) -> None:
    gerrit.accounts["robot"] = account("robot")
    changes = setup(connection, bot="robot", bot_group="Robots")
    assert changes[0] == "created group 'Robots' with member robot"
    assert gerrit.submit_requirements[("nova", "Owner-Approval")][
        "submittability_expression"
    ] == submittability("Owner-Approval", "robot")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bot": "ghost"}, "there is no Gerrit account 'ghost'"),
        ({"project": "glance"}, "there is no Gerrit project 'glance'"),
        ({"service_url": "owners.example.org"}, "must be http:// or https://"),
    ],
)
def test_errors(connection: GerritConnection, kwargs: dict, message: str) -> None:
    project = kwargs.pop("project", "nova")
    url = kwargs.pop("service_url", SERVICE)
    with pytest.raises(SetupError, match=message):
        configure_project(settings(), project, url, gerrit=connection, **kwargs)


def test_a_token_is_required(connection: GerritConnection) -> None:
    with pytest.raises(SetupError, match="OWNERS_WEBHOOK_TOKEN is required"):
        configure_project(settings(webhook_token=None), "nova", SERVICE, gerrit=connection)


def test_set_remote_keeps_other_sections_and_is_read_back_by_git(tmp_path) -> None:  # type: ignore[no-untyped-def]
    original = b'[remote "ci"]\n\turl = https://ci.example.org/hook\n\tevent = patchset-created\n'
    updated = set_remote(original, "owners", "https://o.example.org/e/T", ("a", "b"))
    assert set_remote(updated, "owners", "https://o.example.org/e/T", ("a", "b")) == updated
    path = tmp_path / "webhooks.config"
    path.write_bytes(updated)
    listed = subprocess.run(
        ["git", "config", "-f", str(path), "--list"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert listed == [
        "remote.ci.url=https://ci.example.org/hook",
        "remote.ci.event=patchset-created",
        "remote.owners.url=https://o.example.org/e/T",
        "remote.owners.event=a",
        "remote.owners.event=b",
    ]


def test_a_refused_meta_config_push_says_why() -> None:
    """A new Gerrit 3.11 site refuses the admin's push to refs/meta/config; the error must
    carry Gerrit's reason, not git's closing "failed to push some refs"."""
    stderr = (
        b"remote: error: branch refs/meta/config:\n"
        b"remote: Configuration changes can only be pushed by project owners\n"
        b"To http://127.0.0.1:1/a/nova\n"
        b" ! [remote rejected] abc -> refs/meta/config"
        b" (prohibited by Gerrit: not permitted: update)\n"
        b"error: failed to push some refs to 'http://127.0.0.1:1/a/nova'\n"
    )
    assert git_error(stderr) == (
        "! [remote rejected] abc -> refs/meta/config (prohibited by Gerrit: not permitted: update)"
    )
    assert git_error(b"fatal: repository not found\n") == "fatal: repository not found"
    assert git_error(b"") == "failed"
