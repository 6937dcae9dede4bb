"""`owners gerrit-setup --dashboards`: the map it reads and the dashboard files it writes.

Whether each regex gives the engine's answer is tests/test_dashboard_regex.py's; whether
Gerrit's queries return the right changes is tests/e2e/test_web.py's.
"""

from __future__ import annotations

import pytest

from owners.gerrit.dashboards import branch_ownership, dashboards, region
from owners.gerrit.model import GerritError
from owners.gerrit.projects import Projects
from owners.gerrit.rest import Rest
from tests import lucene_regexp
from tests.webhook.conftest import HEAD, FakeGerrit, settings

ROOT_FILE = b"""version: 1
include: [nova/virt/hyperv/OWNERS.yaml]
groups:
  nova-core: [carol, dave]
root:
  owners: [nova-core]
subsystems:
  - name: virt
    paths: [nova/virt/]
    owners: [lena]
"""
INCLUDED = b"""version: 1
groups:
  hv-team: [alice, hana]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/, "!nova/virt/hyperv/README.rst"]
    owners: [hv-team]
    parent: virt
"""


def delegating(gerrit: FakeGerrit, included: bytes | None = INCLUDED) -> Projects:
    """nova's master names an included file (absent when `included` is None)."""
    gerrit.branches[("nova", "master")] = HEAD
    files = {"OWNERS.yaml": ROOT_FILE}
    if included is not None:
        files["nova/virt/hyperv/OWNERS.yaml"] = included
    gerrit.trees[("nova", HEAD)] = files
    return Projects(Rest(settings(), rest=gerrit))


def test_a_branch_that_delegates_is_read_with_its_included_files(gerrit: FakeGerrit) -> None:
    """Setup compiled OWNERS.yaml alone, which cannot parse without the file it includes,
    and stopped: "the OWNERS.yaml of nova master is invalid"."""
    ownership = branch_ownership(delegating(gerrit), "nova", "master")
    files = dashboards(ownership, "master", "Owner-Approval")
    assert set(files) == {"root", "virt", "hyperv"}
    hyperv = region(ownership, "hyperv")
    assert lucene_regexp.fullmatch(hyperv, "nova/virt/hyperv/driver.py")
    assert not lucene_regexp.fullmatch(hyperv, "nova/virt/hyperv/README.rst")
    assert lucene_regexp.fullmatch(region(ownership, "virt"), "nova/virt/hyperv/README.rst")
    text = files["hyperv"].decode()
    assert '[section "Needs hyperv"]' in text  # a subsystem of the included file


def test_a_missing_included_file_stops_setup_and_names_it(gerrit: FakeGerrit) -> None:
    projects = delegating(gerrit, included=None)
    with pytest.raises(GerritError, match=r"invalid: .*nova/virt/hyperv/OWNERS\.yaml"):
        branch_ownership(projects, "nova", "master")


def test_a_dashboard_file(gerrit: FakeGerrit) -> None:
    ownership = branch_ownership(delegating(gerrit), "nova", "master")
    text = dashboards(ownership, "master", "Owner-Approval")["hyperv"].decode()
    # the regex's `\.` once escaped for the query's quotes and once for git config's
    regex = r"(nova/virt/hyperv/.*)&~(nova/virt/hyperv/README\\\\.rst(/.*)?)"
    waits = r"hashtag:\"owners-needs-hyperv\""
    files = rf"file:\"^{regex}\""
    assert text.splitlines() == [
        "[dashboard]",
        '\ttitle = "Owners: hyperv"',
        '\tdescription = "Changes needing hyperv"',
        '\tforeach = "project:${project} branch:master status:open"',
        '[section "Needs hyperv"]',
        f'\tquery = "{waits}"',
        '[section "Approved by hyperv, waiting for others"]',
        f'\tquery = "{files} -{waits} -label:Owner-Approval=1"',
        '[section "Approved by every owner (hyperv among them)"]',
        f'\tquery = "{files} label:Owner-Approval=1"',
    ]
