"""Smoke tests of the dev Gerrit harness, and the recorder of the webhook payload fixtures.

tests/fixtures/events/<type>.json are real payloads, not hand-written ones. They were produced
by running this module with recording switched on::

    OWNERS_RECORD_EVENTS=1 python -m pytest tests/e2e/test_gerrit_harness.py -k lifecycle

which drives a devgerrit Gerrit (3.10.2) and its webhooks plugin through one change's whole
life (upload, reviewer, votes, WIP, private, topic, hashtags, abandon/restore, submit) and
writes the first payload of each type, pretty-printed; for ref-updated, the branch update made
by the submit. Re-record after changing Gerrit version; timestamps, ids and shas will differ.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import devgerrit
import pytest

from tests.e2e.conftest import serve_copy

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"

PASSWORDS = {"alice": "alice-http-pw", "bob": "bob-http-pw"}


@pytest.fixture(scope="module")
def gerrit(
    gerrit_dist: devgerrit.GerritDist,
    gerrit_site_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[devgerrit.GerritServer]:
    """The harness alone: no owners service runs here, so no submit-check plugin either."""
    yield from serve_copy(gerrit_dist, gerrit_site_template, tmp_path_factory, submit_check=False)


def _user(gerrit: devgerrit.GerritServer, username: str) -> devgerrit.GerritRest:
    """Create ``username`` (if needed) and return a REST client acting as that user."""
    password = PASSWORDS[username]
    try:
        gerrit.rest.create_account(username, http_password=password)
    except devgerrit.RestError as error:
        if error.status != 409:  # already created by an earlier test of the module
            raise
    return devgerrit.GerritRest(gerrit.url, (username, password))


def _upload_change(
    gerrit: devgerrit.GerritServer, project: str, workdir: Path, subject: str
) -> str:
    """Push one new commit as alice to refs/for/master; returns git's output."""
    repo = devgerrit.git_clone(
        gerrit.git_url(project), workdir / "clone", ("alice", PASSWORDS["alice"])
    )
    devgerrit.git_commit(
        repo,
        subject,
        {"src/core/engine.py": "print('hello')\n"},
        author=("Alice", "alice@example.com"),
    )
    return devgerrit.git_push(
        repo, gerrit.git_url(project), "alice", PASSWORDS["alice"], "HEAD:refs/for/master"
    )


def test_webhooks_plugin_is_loaded(gerrit: devgerrit.GerritServer) -> None:
    plugins = gerrit.rest.get("plugins/")
    assert "webhooks" in plugins
    assert plugins["webhooks"]["version"].endswith("-devgerrit")


def test_push_for_review_creates_a_change(gerrit: devgerrit.GerritServer, tmp_path: Path) -> None:
    _user(gerrit, "alice")
    gerrit.rest.create_project("smoke/push")

    output = _upload_change(gerrit, "smoke/push", tmp_path, "Add the engine")

    assert PASSWORDS["alice"] not in output
    changes = gerrit.rest.query_changes("project:smoke/push")
    assert [(c["subject"], c["branch"], c["status"]) for c in changes] == [
        ("Add the engine", "master", "NEW")
    ]
    assert changes[0]["owner"]["_account_id"] == gerrit.rest.get("accounts/alice")["_account_id"]


def test_webhooks_report_a_change_lifecycle(
    gerrit: devgerrit.GerritServer, tmp_path: Path, event_receiver: devgerrit.EventReceiver
) -> None:
    project = "smoke/events"
    alice, bob, admin = _user(gerrit, "alice"), _user(gerrit, "bob"), gerrit.rest
    admin.create_project(project)
    devgerrit.set_webhook(gerrit.url, gerrit.admin_auth, project, "owners", event_receiver.url)

    _upload_change(gerrit, project, tmp_path, "Teach the engine a trick")
    number = admin.query_changes(f"project:{project}")[0]["_number"]
    change = f"{devgerrit.quote(project)}~{number}"

    def expect(event_type: str, nth: int = 1) -> dict[str, Any]:
        def matches(event: dict[str, Any]) -> bool:
            return event["type"] == event_type and event.get("change", {}).get("number") == number

        return event_receiver.wait_for(matches, count=nth)

    steps: list[tuple[Callable[[], object], str]] = [
        (lambda: None, "patchset-created"),
        (lambda: admin.post(f"changes/{change}/reviewers", {"reviewer": "bob"}), "reviewer-added"),
        (
            lambda: bob.post(
                f"changes/{change}/revisions/current/review",
                {"message": "Looks fine", "labels": {"Code-Review": 1}},
            ),
            "comment-added",
        ),
        (lambda: admin.delete(f"changes/{change}/reviewers/bob/votes/Code-Review"), "vote-deleted"),
        (lambda: admin.delete(f"changes/{change}/reviewers/bob"), "reviewer-deleted"),
        (lambda: alice.post(f"changes/{change}/wip"), "wip-state-changed"),
        (lambda: alice.post(f"changes/{change}/ready"), "wip-state-changed"),
        (lambda: alice.post(f"changes/{change}/private"), "private-state-changed"),
        (lambda: alice.delete(f"changes/{change}/private"), "private-state-changed"),
        (lambda: alice.put(f"changes/{change}/topic", {"topic": "engine"}), "topic-changed"),
        (lambda: alice.post(f"changes/{change}/hashtags", {"add": ["owners"]}), "hashtags-changed"),
        (lambda: alice.post(f"changes/{change}/abandon"), "change-abandoned"),
        (lambda: alice.post(f"changes/{change}/restore"), "change-restored"),
        (
            lambda: admin.post(
                f"changes/{change}/revisions/current/review", {"labels": {"Code-Review": 2}}
            ),
            "comment-added",
        ),
        (lambda: admin.post(f"changes/{change}/submit"), "change-merged"),
    ]
    seen: dict[str, int] = {}
    for action, event_type in steps:
        action()
        seen[event_type] = seen.get(event_type, 0) + 1
        expect(event_type, seen[event_type])
    branch_update = event_receiver.wait_for(
        lambda e: e["type"] == "ref-updated" and e["refUpdate"]["refName"] == "refs/heads/master"
    )

    merged = expect("change-merged")
    assert merged["change"]["project"] == project
    assert merged["change"]["branch"] == "master"
    assert branch_update["refUpdate"]["newRev"] == merged["newRev"]
    assert expect("comment-added", 2)["approvals"][0]["value"] == "2"

    if os.environ.get("OWNERS_RECORD_EVENTS"):
        _record(event_receiver.events, branch_update)


def _record(events: list[dict[str, Any]], branch_update: dict[str, Any]) -> None:
    """Write the first payload of each event type (see the module docstring)."""
    chosen: dict[str, dict[str, Any]] = {"ref-updated": branch_update}
    for event in events:
        chosen.setdefault(event["type"], event)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for event_type, payload in sorted(chosen.items()):
        text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        (FIXTURES / f"{event_type}.json").write_text(text)


def test_restart_keeps_state_and_port(gerrit: devgerrit.GerritServer) -> None:
    gerrit.rest.create_project("smoke/restart")
    url = gerrit.url

    gerrit.restart()

    assert gerrit.url == url
    assert gerrit.rest.get(f"projects/{devgerrit.quote('smoke/restart')}")["state"] == "ACTIVE"
