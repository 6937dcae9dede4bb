"""`POST /submit-check`: the fresh verdict the Gerrit plugin asks for before a merge.

Every answer but APPROVED keeps the change unmerged, so these tests check that each kind of
doubt (a wrong token, a stale revision, Gerrit down, a member just removed from a group)
answers something else, and that nothing is ever posted to Gerrit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from tests.webhook.conftest import HEAD, TOKEN, FakeGerrit, account, change_info, queued_jobs
from webhook.app import create_app
from webhook.jobs import Jobs

HYPERV_ONLY = "version: 1\nroot:\n  owners: [carol]\nsubsystems:\n" + (
    "  - name: hyperv\n    paths: [nova/virt/hyperv/]\n    owners: ['gerrit:Hyper-V Team']\n"
    "    noparent: true\n"
)


@pytest.fixture
def client(jobs: Jobs) -> FlaskClient:
    return create_app(jobs.settings, jobs=jobs).test_client()


def ask(
    client: FlaskClient,
    change: Any = 42,
    revision: str | None = None,
    token: str = TOKEN,
    **overrides: Any,
) -> Any:
    body = {
        "project": "nova",
        "change": change,
        "revision": revision or f"{42 if isinstance(change, str) else change:040x}",
        "branch": "refs/heads/master",
        **overrides,
    }
    return client.post(
        "/submit-check",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def metric(client: FlaskClient, outcome: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    line = f'owners_submit_checks_total{{outcome="{outcome}"}} '
    found = [row for row in text.splitlines() if row.startswith(line)]
    return float(found[0].split()[-1]) if found else 0.0


def test_an_approved_change_is_approved_without_posting(
    client: FlaskClient, gerrit: FakeGerrit
) -> None:
    answer = ask(client)
    assert answer.status_code == 200, answer.json
    assert answer.json["verdict"] == "APPROVED"
    assert answer.json["enforced"] is True
    assert all(method == "GET" for method, _ in gerrit.log)
    assert metric(client, "APPROVED") == 1


def test_a_pending_change_is_refused_with_the_unmet_requirement(
    client: FlaskClient, gerrit: FakeGerrit
) -> None:
    gerrit.add_change(change_info(7, {"nova/compute/api.py": {}}, {"carol": 2}, owner="uma"))
    answer = ask(client, 7)
    assert answer.status_code == 200
    assert answer.json["verdict"] == "PENDING"
    assert "nova-core" in answer.json["reason"] or "root" in answer.json["reason"]
    assert "\n" not in answer.json["reason"]
    assert metric(client, "PENDING") == 1


def test_a_deactivated_approvers_vote_is_refused_at_once(
    client: FlaskClient, gerrit: FakeGerrit
) -> None:
    """No event needed: Gerrit marks bob inactive on the change the check reads."""
    gerrit.changes[42]["labels"]["Code-Review"]["all"][0]["inactive"] = True
    answer = ask(client)
    assert answer.status_code == 200
    assert answer.json["verdict"] == "PENDING"


def test_a_wrong_or_missing_token_is_refused(client: FlaskClient, gerrit: FakeGerrit) -> None:
    assert ask(client, token="wrong-token-0123456789").status_code == 401
    answer = client.post("/submit-check", json={"project": "nova"})
    assert answer.status_code == 401
    assert answer.json["verdict"] == "ERROR"
    assert TOKEN not in answer.get_data(as_text=True)
    assert gerrit.log == []
    assert metric(client, "UNAUTHORIZED") == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {"change": "42"},
        {"change": 0},
        {"revision": "abc"},
        {"project": ""},
        {"branch": None},
    ],
)
def test_a_malformed_request_is_refused(client: FlaskClient, overrides: dict[str, Any]) -> None:
    answer = ask(client, **overrides)
    assert answer.status_code == 400
    assert answer.json["verdict"] == "ERROR"


def test_a_revision_that_is_not_the_current_patch_set_is_refused(client: FlaskClient) -> None:
    answer = ask(client, revision="e" * 40)
    assert answer.status_code == 503
    assert answer.json["verdict"] == "ERROR"
    assert "not the current patch set" in answer.json["reason"]


def test_another_branch_or_a_closed_change_is_refused(
    client: FlaskClient, gerrit: FakeGerrit
) -> None:
    assert ask(client, branch="stable").json["verdict"] == "ERROR"
    gerrit.changes[42]["status"] = "MERGED"
    answer = ask(client)
    assert answer.json["verdict"] == "ERROR" and "merged" in answer.json["reason"]


def test_gerrit_down_fails_closed(client: FlaskClient, gerrit: FakeGerrit) -> None:
    gerrit.outage = requests.ConnectionError("refused")
    answer = ask(client)
    assert answer.status_code == 503
    assert answer.json["verdict"] == "ERROR"
    assert "could not read the change" in answer.json["reason"]
    assert metric(client, "ERROR") == 1


def test_an_unwatched_project_is_not_enforced(
    gerrit: FakeGerrit, jobs: Jobs, tmp_path: Path
) -> None:
    other = queued_jobs(gerrit, tmp_path / "other.db", projects=frozenset({"neutron"}))
    client = create_app(other.settings, jobs=other).test_client()
    gerrit.log.clear()
    answer = ask(client)
    assert answer.status_code == 200
    assert answer.json == {
        "verdict": "APPROVED",
        "reason": "project nova is not enforced by the owners service",
        "enforced": False,
    }
    assert gerrit.log == []
    assert metric(client, "NOT_ENFORCED") == 1


def test_groups_are_read_fresh_not_from_the_cache(
    client: FlaskClient, gerrit: FakeGerrit, jobs: Jobs
) -> None:
    gerrit.set_branch("nova", "master", "b" * 40, HYPERV_ONLY.encode())
    gerrit.groups["Hyper-V Team"] = [account("hana")]
    gerrit.add_change(change_info(9, {"nova/virt/hyperv/x.py": {}}, {"hana": 2}, owner="uma"))
    # The bot's evaluation fills the group cache...
    jobs.service.process_change("nova", 9)
    assert ask(client, 9).json["verdict"] == "APPROVED"
    # ...then hana leaves the group: the cache still says member, the check must not.
    gerrit.groups["Hyper-V Team"] = []
    answer = ask(client, 9)
    assert answer.json["verdict"] == "PENDING", answer.json
    assert jobs.service.gerrit.accounts.group_members("Hyper-V Team") == ()


def test_a_branch_outside_the_scope_is_not_enforced(gerrit: FakeGerrit, tmp_path: Path) -> None:
    scoped = queued_jobs(gerrit, tmp_path / "scoped.db", branches=("stable/*",))
    client = create_app(scoped.settings, jobs=scoped).test_client()
    answer = ask(client)
    assert answer.json["verdict"] == "APPROVED" and answer.json["enforced"] is False
    assert "outside OWNERS_BRANCHES" in answer.json["reason"]
    assert ask(client, branch="refs/heads/stable/2024").json["enforced"] is True


@pytest.mark.parametrize(
    ("members", "verdict"),
    [
        pytest.param(["rita"], "APPROVED", id="a-member-of-the-override-group"),
        pytest.param(["hana"], "PENDING", id="granted-the-label-but-not-a-member"),
        pytest.param(None, "PENDING", id="override-group-unreadable"),
    ],
)
def test_only_the_override_groups_vote_overrides(
    gerrit: FakeGerrit,
    nova_config: bytes,
    tmp_path: Path,
    members: list[str] | None,
    verdict: str,
) -> None:
    gerrit.set_branch("nova", "master", HEAD, nova_config)
    jobs = queued_jobs(gerrit, tmp_path / "queue.db", override_group="Release Managers")
    client = create_app(jobs.settings, jobs=jobs).test_client()
    if members is not None:
        gerrit.groups["Release Managers"] = [account(m) for m in members]
    info = change_info(7, {"nova/compute/api.py": {}}, {}, owner="uma")
    info["labels"]["Owners-Override"] = {"all": [dict(account("rita"), value=1)]}
    gerrit.add_change(info)
    answer = ask(client, 7)
    assert answer.json["verdict"] == verdict
    if verdict == "APPROVED":
        assert answer.json["reason"].startswith("overridden by rita (")
        assert "root" in answer.json["reason"]  # what the override bypassed


def test_without_an_override_group_no_vote_overrides(
    client: FlaskClient, gerrit: FakeGerrit
) -> None:
    info = change_info(7, {"nova/compute/api.py": {}}, {}, owner="uma")
    info["labels"]["Owners-Override"] = {"all": [dict(account("rita"), value=1)]}
    gerrit.add_change(info)
    assert ask(client, 7).json["verdict"] == "PENDING"
