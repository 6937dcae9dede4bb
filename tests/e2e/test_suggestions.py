"""End to end: the reviewers the bot adds and `owners suggest --project` ranks know people.

dave sets his Gerrit account status to an away text over REST; the bot's auto-added
reviewers, `owners suggest` and the change page (read as zed) then ask the other nova-core
owners, and the ranking changes
who is asked, never who must approve: one approval still cannot submit.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
from novademo import NOVA_OWNERS, Nova, password

from owners.engine import Change, ChangedFile, Ownership, evaluate, load_config

pytestmark = pytest.mark.e2e

CORE = "nova/compute/api.py"  # root: nova-core (carol, dave, erin), two approvals
AWAY = "away until 12 Dec"


def added_reviewers(nova: Nova, number: int) -> set[str]:
    change = nova.change(number)
    return {a.get("username") for a in change.get("reviewers", {}).get("REVIEWER", [])}


def test_an_away_owner_is_neither_added_nor_suggested_and_approval_is_unchanged(
    nova: Nova, tmp_path
) -> None:
    assert nova.rest("dave").put("accounts/self/status", {"status": AWAY}) == AWAY
    numbers = [
        nova.push_change("zed", {CORE: f"# change {i}\n"}, f"compute: change {i}") for i in range(4)
    ]
    # the test can fail: the distance-only ranking asks dave on at least one of them
    ownership = Ownership(load_config(NOVA_OWNERS.read_bytes()))
    plain = [
        evaluate(ownership, Change.of([ChangedFile(CORE)], number=n), suggestions=3)
        for n in numbers
    ]
    assert any("dave" in e.suggested_reviewers for e in plain)

    for number in numbers:
        nova.wait_for_comment(number)
        asked = nova.wait_for(
            f"the bot to add reviewers to {number}",
            lambda number=number: added_reviewers(nova, number) - {"owners-bot", "zed"},
        )
        assert asked == {"carol", "erin"}

    env = nova.service_env()
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "owners.cli",
            "suggest",
            "--config",
            str(NOVA_OWNERS),
            "--project",
            nova.project,
            "--why",
            "--json",
            "--files",
            CORE,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tmp_path,
    )
    answer = json.loads(cli.stdout)
    assert sorted(answer["reviewers"]) == ["carol", "erin"]
    assert f"dave: {AWAY}" in answer["why"]

    # the change page ranks as the bot does, read as its viewer: zed's page skips dave too
    number = next(n for n, e in zip(numbers, plain, strict=True) if "dave" in e.suggested_reviewers)
    page = requests.get(f"{nova.service_url}/api/v1/c/{number}",
                        auth=("zed", password("zed")), timeout=60).json()  # fmt: skip
    assert sorted(page["suggestion"]["reviewers"]) == ["carol", "erin"]
    assert page["check"]["suggested_reviewers"] == page["suggestion"]["reviewers"]
    assert f"dave: {AWAY}" in page["suggestion"]["why"]

    # who is asked changed; who must approve did not: one nova-core +2 cannot submit
    nova.vote("carol", numbers[0], 2)
    nova.submit_refused("carol", numbers[0])
