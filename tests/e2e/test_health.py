"""End to end: the ownership health of `owners report` on the dev Gerrit.

victor sets an away status over REST and the administrator deactivates wendy: VMware's paths
then have nobody to review them (Orphan), the owners' availability read in one account query
of Gerrit's own syntax; a change waiting past the file's `review_sla` counts as escalated.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from novademo import NOVA_OWNERS, Nova

pytestmark = pytest.mark.e2e

BRANCH = "health"
AWAY = "Out of office until 4 January"


def owners_report(nova: Nova, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "owners.cli", "report", "--project", nova.project, *args],
        env=nova.service_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_paths_whose_every_owner_is_away_or_inactive_are_orphaned(nova: Nova) -> None:
    text = NOVA_OWNERS.read_text().replace("policy:\n", "policy:\n  review_sla: 1h\n", 1)
    nova.create_branch(BRANCH, {"OWNERS.yaml": text})
    assert nova.rest("victor").put("accounts/self/status", {"status": AWAY}) == AWAY
    nova.gerrit.rest.delete("accounts/wendy/active")
    number = nova.push_change("zed", {"nova/virt/hyperv/a.py": "# x\n"}, "hyperv: x", BRANCH)
    nova.wait_for_comment(number)

    data = owners_report(nova, "--branch", BRANCH, "--since", "1d", "--json")
    health = {s["subsystem"]: s for s in data["health"]["subsystems"]}
    assert health["vmware"]["status"] == "Orphan"
    assert health["vmware"]["unavailable"] == {"victor": AWAY, "wendy": "inactive account"}
    assert "vmware" in data["health"]["orphaned"]
    assert health["virt"]["available"] == ["lena"]  # victor is away
    assert "virt" in data["health"]["bus_factor_one"]
    assert sorted(health["root"]["available"]) == ["carol", "dave", "erin"]
    hyperv = next(s for s in data["subsystems"] if s["subsystem"] == "hyperv")
    assert hyperv["review_sla"] == "1h"
    assert hyperv["first_review"]["count"] == 0
    assert hyperv["escalated"] == 0  # not an hour old yet

    text_report = subprocess.run(
        [sys.executable, "-m", "owners.cli", "report", "--project", nova.project,
         "--branch", BRANCH, "--since", "1d"],
        env=nova.service_env(), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "paths whose every owner is inactive or away:" in text_report
    assert f"victor: {AWAY}; wendy: inactive account" in text_report
