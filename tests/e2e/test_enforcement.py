"""End to end: a real Gerrit (deploy/devgerrit.py), `configure_project`, and the webhook app
serving on loopback.  Lieutenants hold Code-Review +2 on the whole project; the owners label
and its submit requirement confine each +2 to the paths its holder owns.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import devgerrit
import pytest
from werkzeug.serving import make_server

from webhook.app import create_app
from webhook.gerrit import GerritConnection
from webhook.model import BOT_TAG
from webhook.service import OwnersService, check_change
from webhook.settings import Settings
from webhook.setup import configure_project

pytestmark = pytest.mark.e2e

PROJECT = "e2e/nova"
BOT = "owners-bot"
PEOPLE = ("alice", "bob", "carol", "dave")
PASSWORD = "pw-" + secrets.token_hex(8)
TOKEN = secrets.token_hex(16)

OWNERS_YAML = """\
version: 1
root:
  owners: [carol, dave]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [bob]
"""


def _rest(gerrit: devgerrit.GerritServer, user: str) -> devgerrit.GerritRest:
    return devgerrit.GerritRest(gerrit.url, (user, PASSWORD))


def _wait(what: str, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def world(
    gerrit: devgerrit.GerritServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    admin = gerrit.rest
    for user in (*PEOPLE, BOT):
        admin.create_account(user, http_password=PASSWORD)
    admin.create_project(PROJECT)
    # The model: every lieutenant gets Code-Review +2 on the whole project.
    admin.post(
        f"projects/{devgerrit.quote(PROJECT)}/access",
        {
            "add": {
                "refs/heads/*": {
                    "permissions": {
                        "label-Code-Review": {
                            "rules": {
                                "global:Registered-Users": {"action": "ALLOW", "min": -2, "max": 2}
                            }
                        },
                        "submit": {"rules": {"global:Registered-Users": {"action": "ALLOW"}}},
                    }
                }
            }
        },
    )
    workdir = tmp_path_factory.mktemp("e2e-clone")
    me = admin.get("accounts/self")
    repo = devgerrit.git_clone(gerrit.git_url(PROJECT), workdir / "admin", gerrit.admin_auth)
    devgerrit.git_commit(
        repo, "Add OWNERS.yaml", {"OWNERS.yaml": OWNERS_YAML}, author=(me["name"], me["email"])
    )
    devgerrit.git_push(repo, gerrit.git_url(PROJECT), *gerrit.admin_auth, "HEAD:refs/heads/master")

    bot_settings = Settings(gerrit_url=gerrit.url, user=BOT, password=PASSWORD, webhook_token=TOKEN)
    service = OwnersService(bot_settings)
    server = make_server("127.0.0.1", 0, create_app(bot_settings, service), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    service_url = f"http://127.0.0.1:{server.server_port}"
    admin_settings = Settings(
        gerrit_url=gerrit.url,
        user=gerrit.admin_auth[0],
        password=gerrit.admin_auth[1],
        webhook_token=TOKEN,
    )
    try:
        yield {
            "admin_settings": admin_settings,
            "bot_settings": bot_settings,
            "service": service,
            "service_url": service_url,
            "workdir": workdir,
        }
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _configure(gerrit: devgerrit.GerritServer, world: dict[str, Any]) -> list[str]:
    return configure_project(
        world["admin_settings"],
        PROJECT,
        world["service_url"],
        bot=BOT,
        gerrit=GerritConnection(world["admin_settings"]),
    )


def _upload(gerrit: devgerrit.GerritServer, world: dict[str, Any], files: dict[str, str]) -> int:
    name = f"alice-{secrets.token_hex(4)}"
    repo = devgerrit.git_clone(
        gerrit.git_url(PROJECT), world["workdir"] / name, ("alice", PASSWORD)
    )
    devgerrit.git_commit(repo, f"Change {name}", files, author=("Alice", "alice@example.com"))
    devgerrit.git_push(repo, gerrit.git_url(PROJECT), "alice", PASSWORD, "HEAD:refs/for/master")
    changes = gerrit.rest.query_changes(f'project:{PROJECT} message:"Change {name}"')
    return int(changes[0]["_number"])


def _change(gerrit: devgerrit.GerritServer, number: int) -> dict[str, Any]:
    return gerrit.rest.get(
        f"changes/{number}?o=DETAILED_LABELS&o=MESSAGES&o=SUBMITTABLE&o=DETAILED_ACCOUNTS"
    )


def _bot_vote(change: dict[str, Any]) -> int:
    votes = change["labels"].get("Owner-Approval", {}).get("all", [])
    return next((v.get("value", 0) for v in votes if v.get("username") == BOT), 0)


def _bot_messages(change: dict[str, Any]) -> list[str]:
    return [
        m["message"]
        for m in change.get("messages", [])
        if m.get("tag") == BOT_TAG and m["author"].get("username") == BOT
    ]


def test_setup_is_idempotent(gerrit: devgerrit.GerritServer, world: dict[str, Any]) -> None:
    first = _configure(gerrit, world)
    assert len(first) == 5, first
    assert _configure(gerrit, world) == []
    label = gerrit.rest.get(f"projects/{devgerrit.quote(PROJECT)}/labels/Owner-Approval")
    assert label["function"] == "NoBlock"


def test_a_lieutenant_approves_only_their_own_paths(
    gerrit: devgerrit.GerritServer, world: dict[str, Any]
) -> None:
    _configure(gerrit, world)
    bob = _rest(gerrit, "bob")

    own = _upload(gerrit, world, {"nova/virt/hyperv/vmops.py": "x = 1\n"})
    pending = _wait("the bot's first comment", lambda: _bot_messages(_change(gerrit, own)))
    assert "Owners: PENDING" in pending[0]
    reviewers = _change(gerrit, own)["reviewers"]["REVIEWER"]
    assert "bob" in {r.get("username") for r in reviewers}  # suggested and added

    bob.post(f"changes/{own}/revisions/current/review", {"labels": {"Code-Review": 2}})
    approved = _wait("the bot's +1", lambda: _bot_vote(_change(gerrit, own)) == 1)
    assert approved
    change = _change(gerrit, own)
    assert change["submittable"] is True
    assert "Owners: APPROVED" in _bot_messages(change)[-1]

    foreign = _upload(gerrit, world, {"nova/compute/manager.py": "y = 2\n"})
    _wait("the bot's comment", lambda: _bot_messages(_change(gerrit, foreign)))
    bob.post(f"changes/{foreign}/revisions/current/review", {"labels": {"Code-Review": 2}})
    # bob's +2 is no reason to change anything: nothing is posted, so evaluate once more here
    result = world["service"].process_change(PROJECT, foreign)
    assert result.verdict is not None and result.verdict.value == "PENDING"
    assert (result.voted, result.commented) == (None, False)
    change = _change(gerrit, foreign)
    assert _bot_vote(change) == 0
    assert change["submittable"] is False
    with pytest.raises(devgerrit.GerritError) as refused:
        bob.post(f"changes/{foreign}/submit")
    assert refused.value.status == 409

    # `owners check --change N` agrees with the bot
    assert check_change(world["bot_settings"], foreign).verdict.value == "PENDING"
    assert check_change(world["bot_settings"], own).verdict.value == "APPROVED"


def test_only_the_bot_may_vote_on_the_owners_label(
    gerrit: devgerrit.GerritServer, world: dict[str, Any]
) -> None:
    _configure(gerrit, world)
    number = _upload(gerrit, world, {"nova/virt/hyperv/a.py": "z = 3\n"})
    _wait("the bot's comment", lambda: _bot_messages(_change(gerrit, number)))
    with pytest.raises(devgerrit.GerritError):
        _rest(gerrit, "carol").post(
            f"changes/{number}/revisions/current/review", {"labels": {"Owner-Approval": 1}}
        )


def test_a_replayed_evaluation_posts_nothing(
    gerrit: devgerrit.GerritServer, world: dict[str, Any]
) -> None:
    _configure(gerrit, world)
    number = _upload(gerrit, world, {"nova/virt/hyperv/b.py": "w = 4\n"})
    _wait("the bot's comment", lambda: _bot_messages(_change(gerrit, number)))
    time.sleep(1)
    before = _change(gerrit, number)["messages"]
    service: OwnersService = world["service"]
    result = service.process_change(PROJECT, number)
    assert (result.voted, result.commented, result.reviewers) == (None, False, ())
    assert result.calls == 2
    assert _change(gerrit, number)["messages"] == before


def test_an_invalid_owners_yaml_is_blocked_with_its_location(
    gerrit: devgerrit.GerritServer, world: dict[str, Any]
) -> None:
    _configure(gerrit, world)
    number = _upload(gerrit, world, {"OWNERS.yaml": "version: 1\nroot:\n  owners: carol\n"})
    _wait("the bot's -1", lambda: _bot_vote(_change(gerrit, number)) == -1)
    message = _bot_messages(_change(gerrit, number))[-1]
    assert "OWNERS.yaml:3:11: root owners must be a list" in message


def test_a_new_owners_yaml_on_the_branch_re_evaluates_open_changes(
    gerrit: devgerrit.GerritServer, world: dict[str, Any]
) -> None:
    _configure(gerrit, world)
    number = _upload(gerrit, world, {"nova/scheduler/filters.py": "v = 5\n"})
    _wait("the bot's comment", lambda: _bot_messages(_change(gerrit, number)))
    _rest(gerrit, "bob").post(
        f"changes/{number}/revisions/current/review", {"labels": {"Code-Review": 2}}
    )
    assert _bot_vote(_change(gerrit, number)) == 0

    # Pushed straight to the branch: only the ref-updated event tells the bot.
    me = gerrit.rest.get("accounts/self")
    repo = devgerrit.git_clone(
        gerrit.git_url(PROJECT), world["workdir"] / "admin-2", gerrit.admin_auth
    )
    widened = OWNERS_YAML.replace("[nova/virt/hyperv/]", "[nova/virt/hyperv/, nova/scheduler/]")
    devgerrit.git_commit(
        repo, "bob owns the scheduler", {"OWNERS.yaml": widened}, author=(me["name"], me["email"])
    )
    devgerrit.git_push(repo, gerrit.git_url(PROJECT), *gerrit.admin_auth, "HEAD:refs/heads/master")
    _wait("the bot's +1 after the ref update", lambda: _bot_vote(_change(gerrit, number)) == 1)
