"""End to end: `owners report` against a real Gerrit, on the demo's Nova project.

Five changes by zed are reviewed in a known order; `owners report --json` then runs as a
subprocess with the service's settings and must find who approved first, the waits, the
stale owners, the trial's verdict and, with `--page-size 2`, read the five changes in three
pages (so pagination is really followed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from novademo import Nova

pytestmark = pytest.mark.e2e

HYPERV = "nova/virt/hyperv/vmops.py"
CORE = "nova/compute/api.py"

# (files, votes in order, subject)
CHANGES = [
    ({HYPERV: "# a\n"}, [("alice", 2)], "hyperv only"),
    ({HYPERV: "# b\n", CORE: "# b\n"}, [("alice", 2), ("carol", 2), ("dave", 2)], "both"),
    ({CORE: "# c\n"}, [("carol", 1), ("erin", 2), ("carol", 2)], "core only"),
    ({"nova/virt/xenapi/vm.py": "# d\n"}, [("xavier", 2)], "xenapi trial"),
    ({"nova/virt/vmwareapi/vm.py": "# e\n"}, [("victor", 2)], "vmware"),
]


@pytest.fixture(scope="module")
def reviewed(nova: Nova) -> list[int]:
    numbers = []
    for files, votes, subject in CHANGES:
        number = nova.push_change("zed", files, subject)
        for who, value in votes:
            nova.vote(who, number, value)
        numbers.append(number)
    return numbers


def owners_report(nova: Nova, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "owners.cli", "report", "--project", nova.project, *args],
        env=nova.service_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_report_json_over_three_pages(nova: Nova, reviewed: list[int], tmp_path: Path) -> None:
    page, chart = tmp_path / "report.html", tmp_path / "waits.png"
    done = owners_report(
        nova,
        "--since",
        "1h",
        "--page-size",
        "2",
        "--json",
        "--html",
        str(page),
        "--plot",
        str(chart),
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)

    assert (data["project"], data["branch"]) == ("nova", "master")
    by_number = {c["change"]: c for c in data["changes"]}
    assert sorted(by_number) == sorted(reviewed)
    first = [
        (by_number[n]["first_approver"], by_number[n]["first_root_approver"]) for n in reviewed
    ]
    assert first == [
        ("alice", None),
        ("alice", "carol"),
        ("erin", "erin"),
        ("xavier", None),
        ("victor", None),
    ]
    assert [by_number[n]["enough"] for n in reviewed] == [True, False, False, True, True]

    subsystems = {s["subsystem"]: s for s in data["subsystems"]}
    hyperv, root = subsystems["hyperv"], subsystems["root"]
    assert (hyperv["changes"], hyperv["enough"], hyperv["approvals"]) == (2, 1, {"alice": 2})
    assert (hyperv["lieutenant_wait"]["count"], hyperv["root_wait"]["count"]) == (2, 1)
    assert root["changes"] == 2
    assert root["approvals"] == {"carol": 2, "dave": 1, "erin": 1}
    assert hyperv["bus_factor_one"] == "one approver: alice approved all 2 changes"

    assert data["advisory"] == [
        {
            "subsystem": "xenapi",
            "change": reviewed[3],
            "verdict": "PENDING",
            "if_enforced": "APPROVED",
        }
    ]
    assert [p["person"] for p in data["load"]] == [
        "alice",
        "carol",
        "dave",
        "erin",
        "victor",
        "xavier",
    ]
    assert [s["owner"] for s in data["stale_owners"]] == [
        "lena", "dora", "bob@example.org", "wendy", "luke", "yuri",
    ]  # fmt: skip

    # three pages of 2, 2 and 1 changes, after the HEAD branch, its head and OWNERS.yaml, then
    # the one query for break-glass overrides, and one account query for the owners' health
    assert data["gerrit"] == {"rest_calls": 8, "changes_read": 5}
    assert "<h1>Review report: nova master</h1>" in page.read_text()
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_report_text_in_one_page(nova: Nova, reviewed: list[int]) -> None:
    done = owners_report(nova, "--since", "1h", "--branch", "master")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("nova master: 5 changes uploaded since ")
    assert "\nxenapi (advisory)  1 " in done.stdout


def test_an_unknown_branch_is_one_line(nova: Nova) -> None:
    done = owners_report(nova, "--branch", "nope")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "owners: project nova has no branch nope\n"
