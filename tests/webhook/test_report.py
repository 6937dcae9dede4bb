"""The status comment as golden text, and the fingerprint that decides whether to post it."""

from __future__ import annotations

import dataclasses

import pytest

from owners.engine import Verdict
from owners.gerrit.verdict import Outcome, assess
from tests.webhook.conftest import settings
from tests.webhook.test_decide import CONFIG, HYPERV, LIBVIRT, VMWARE, XENAPI, snap
from webhook.report import find_fingerprint, fingerprint, render

BROKEN = b"version: 1\nroot:\n  owners: carol\n"


@pytest.fixture
def pending(nova_config: bytes) -> Outcome:
    change = snap({**HYPERV, **LIBVIRT, **XENAPI}, {"bob": 2, "lena": 2}, owner="uma")
    return assess(change, nova_config, settings())


def test_pending(pending: Outcome) -> None:
    assert render(pending) == (
        "Owners: PENDING: 1 of 3 requirements not yet met.\n"
        "\n"
        "* ✔ virt: approved by lena\n"
        "* ✔ hyperv: approved by bob, lena\n"
        "* ✘ libvirt: needs 1 more approval; approved by lena\n"
        "* ✔ xenapi (advisory): approved by lena\n"
        "\n"
        "Suggested reviewers: luke\n"
        "\n"
        f"owners-fingerprint: {fingerprint(pending)}"
    )


def test_blocked_by_a_veto(nova_config: bytes) -> None:
    outcome = assess(
        snap({**HYPERV, **VMWARE}, {"bob": 2, "victor": -2}, owner="uma"), nova_config, settings()
    )
    assert render(outcome, "0123456789ab") == (
        "Owners: BLOCKED: vetoed by victor.\n"
        "\n"
        "* ✘ hyperv: vetoed by victor; approved by bob\n"
        "* ✘ vmware: vetoed by victor; needs 1 more approval\n"
        "\n"
        "Suggested reviewers: wendy\n"
        "\n"
        "owners-fingerprint: 0123456789ab"
    )


def test_approved(nova_config: bytes) -> None:
    outcome = assess(snap(HYPERV, {"lena": 2}, owner="uma"), nova_config, settings())
    assert render(outcome, "0123456789ab") == (
        "Owners: APPROVED: every owning subsystem approved.\n"
        "\n"
        "* ✔ hyperv: approved by lena\n"
        "\n"
        "owners-fingerprint: 0123456789ab"
    )


def test_invalid_proposal(nova_config: bytes) -> None:
    proposal = b"version: 2\nroot: {owners: [carol]}\n"
    outcome = assess(
        snap(CONFIG, {"carol": 2}, owner="uma"), nova_config, settings(), None, proposal
    )
    assert render(outcome, "0123456789ab") == (
        "Owners: BLOCKED: the OWNERS.yaml proposed by this change is invalid.\n"
        "\n"
        "The OWNERS.yaml proposed by this change:\n"
        "* OWNERS.yaml:1:10: unsupported version 2 (hint: this tool reads version 1)\n"
        "\n"
        "* ✘ root: needs 1 more approval; approved by carol\n"
        "\n"
        "Suggested reviewers: erin\n"
        "\n"
        "owners-fingerprint: 0123456789ab"
    )


def test_invalid_branch_config_and_an_invisible_group() -> None:
    config = settings(fallback_owners=("root-admin", "gerrit:Admins"))
    outcome = assess(snap(HYPERV, owner="uma"), BROKEN, config, lambda group: None)
    assert render(outcome, "0123456789ab") == (
        "Owners: PENDING: 1 of 1 requirement not yet met.\n"
        "\n"
        "The OWNERS.yaml on branch master is invalid, so the fallback owners (root-admin, "
        "gerrit:Admins) must approve every file:\n"
        "* OWNERS.yaml:3:11: root owners must be a list (hint: write root owners: [a, b])\n"
        "\n"
        "* ✘ root: needs 1 more approval\n"
        "\n"
        "Could not read the members of gerrit:Admins, so their votes do not count.\n"
        "\n"
        "Suggested reviewers: gerrit:Admins\n"
        "\n"
        "owners-fingerprint: 0123456789ab"
    )


def test_no_config_and_no_fallback_owners() -> None:
    outcome = assess(snap(HYPERV, owner="uma"), None, settings(fallback_owners=()))
    assert render(outcome, "0123456789ab") == (
        "Owners: BLOCKED: no one may approve this change.\n"
        "\n"
        "There is no OWNERS.yaml on branch master and no fallback owners are configured "
        "(OWNERS_FALLBACK_OWNERS), so nobody can approve this change.\n"
        "\n"
        "owners-fingerprint: 0123456789ab"
    )


# -- the fingerprint ------------------------------------------------------------------------


def test_fingerprint_is_stable_and_short(pending: Outcome) -> None:
    assert fingerprint(pending) == fingerprint(dataclasses.replace(pending))
    assert len(fingerprint(pending)) == 12


def test_fingerprint_ignores_advice_and_order(pending: Outcome) -> None:
    evaluation = pending.evaluation
    reordered = tuple(
        dataclasses.replace(r, approved_by=tuple(reversed(r.approved_by)))
        for r in evaluation.requirements
    )
    other = dataclasses.replace(
        pending,
        evaluation=dataclasses.replace(
            evaluation, requirements=reordered, suggested_reviewers=("someone-else",)
        ),
        unstaffed=("libvirt",),
    )
    assert fingerprint(other) == fingerprint(pending)


@pytest.mark.parametrize(
    "change",
    [
        {"verdict": Verdict.BLOCKED},
        {"notes": ("something new",)},
        {"unresolved_groups": ("gerrit:X",)},
        {"proposal_problems": ("OWNERS.yaml:1:1: bad",)},
        {"fallback": "there is no OWNERS.yaml on branch master"},
    ],
)
def test_fingerprint_follows_the_verdict_and_its_reasons(pending: Outcome, change: dict) -> None:
    assert fingerprint(dataclasses.replace(pending, **change)) != fingerprint(pending)


def test_fingerprint_follows_approvals(pending: Outcome) -> None:
    first, *rest = pending.evaluation.requirements
    fewer = dataclasses.replace(first, approved_by=())
    evaluation = dataclasses.replace(pending.evaluation, requirements=(fewer, *rest))
    assert fingerprint(dataclasses.replace(pending, evaluation=evaluation)) != fingerprint(pending)


def test_find_fingerprint() -> None:
    assert (
        find_fingerprint("Patch Set 2: Owner-Approval+1\n\nok\n\nowners-fingerprint: 0a1b2c3d4e5f")
        == "0a1b2c3d4e5f"
    )
    assert (
        find_fingerprint("owners-fingerprint: 000000000000\nowners-fingerprint: 111111111111")
        == "111111111111"
    )
    assert find_fingerprint("Patch Set 2: Owner-Approval+1") is None
    assert find_fingerprint("owners-fingerprint: XYZ") is None
