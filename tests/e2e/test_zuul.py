"""Gating with a real Zuul 14 (issue 23): Zuul never gates what the owners did not approve.

One Zuul for the module (deploy/devzuul.py: ZooKeeper over TLS, PostgreSQL, scheduler and
merger) in front of the module's Gerrit, which listens for SSH so that Zuul reads its
stream-events. The demo project runs noop jobs in the check and gate pipelines of
deploy/zuul/zuul.yaml; the service votes Owner-Approval and the submit check plugin asks it
again when Zuul submits. "Enqueued" is read from the scheduler's log, which logs every
enqueue, after a probe event has gone through Zuul (`Zuul.wait_for_events_read`).

Run with ``-m zuul``; deploy/test.sh installs Zuul's virtualenv and Debian packages.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import devgerrit
import devzuul
import novademo
import pytest

from tests.e2e.conftest import serve_copy

pytestmark = [pytest.mark.e2e, pytest.mark.zuul]

FIGURES: dict[str, str] = {}
"""Measured figures, printed at the end of the module (no test asserts on time)."""

MERGE_TIMEOUT = 90.0


@pytest.fixture(scope="module")
def gerrit(
    gerrit_dist: devgerrit.GerritDist,
    gerrit_site_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[devgerrit.GerritServer]:
    """This module's Gerrit, with SSH on loopback for Zuul's event stream."""
    yield from serve_copy(gerrit_dist, gerrit_site_template, tmp_path_factory, ssh=True)


@pytest.fixture(scope="module")
def zuul(
    gerrit: devgerrit.GerritServer,
    nova: novademo.Nova,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[devzuul.Zuul]:
    lacks = devzuul.missing()
    assert not lacks, f"the Zuul tests need {', '.join(lacks)}: run deploy/test.sh"
    with devzuul.running(gerrit, tmp_path_factory.mktemp("zuul")) as running:
        FIGURES["harness start (to the first event read)"] = f"{running.started_in:.1f}s"
        yield running
    print("\nZuul figures: " + "; ".join(f"{k}: {v}" for k, v in FIGURES.items()))


# -- helpers ---------------------------------------------------------------------------------


def hyperv_change(nova: novademo.Nova, name: str, author: str = "zed") -> int:
    """A change touching only the Hyper-V driver (one file per name, so changes never conflict)."""
    return nova.push_change(
        author, {f"nova/virt/hyperv/{name}.py": f"# {name}\n"}, f"Hyper-V: {name}"
    )


def owners_approve(nova: novademo.Nova, number: int, *lieutenants: str) -> None:
    """Code-Review +2 from each lieutenant, then wait for the bot's Owner-Approval +1."""
    for lieutenant in lieutenants or ("alice",):
        nova.vote(lieutenant, number, 2)
    assert nova.wait_for_bot(number, 1) == 1, nova.bot_messages(number)


def workflow(nova: novademo.Nova, number: int, core: str = "carol") -> None:
    nova.vote(core, number, 1, label="Workflow")


def status(nova: novademo.Nova, number: int) -> str:
    return nova.gerrit.rest.get(f"changes/{number}")["status"]


def wait_merged(nova: novademo.Nova, number: int) -> dict:
    nova.wait_for(
        f"change {number} merged",
        lambda: status(nova, number) == "MERGED",
        timeout=MERGE_TIMEOUT,
        interval=0.2,
    )
    return nova.gerrit.rest.get(f"changes/{number}?o=DETAILED_ACCOUNTS")


def submit_checks(nova: novademo.Nova) -> list[str]:
    """The service's log lines for the submit checks it answered, oldest first."""
    return [
        line
        for line in nova.service_log.read_text(errors="replace").splitlines()
        if "submit check" in line
    ]


def checks_of(nova: novademo.Nova, number: int) -> list[str]:
    """The submit checks of change `number`: each line names the change's number."""
    pattern = re.compile(rf"submit check \S*\b{number}\b")
    return [line for line in submit_checks(nova) if pattern.search(line)]


def push_to_master(nova: novademo.Nova, files: dict[str, str], workdir: Path) -> None:
    """The administrator commits `files` straight to master (no review), as an admin may."""
    clone = devgerrit.git_clone(
        nova.gerrit.git_url(nova.project), workdir / "admin", nova.gerrit.admin_auth
    )
    me = nova.gerrit.rest.get("accounts/self")
    devgerrit.git_commit(clone, "Update OWNERS.yaml", files, author=(me["name"], me["email"]))
    devgerrit.git_push(
        clone, nova.gerrit.git_url(nova.project), *nova.gerrit.admin_auth, "HEAD:refs/heads/master"
    )


# -- 1. gated and merged through the submit check --------------------------------------------


def test_zuul_reads_gerrits_real_version_and_its_submit_requirements(
    zuul: devzuul.Zuul,
) -> None:
    """The pitfall of docs/deployment.md: with "(dev)" Zuul takes Gerrit for version 0 and
    ignores submit requirements; the harness's Gerrit reports its release."""
    version = zuul.gerrit.rest.get("config/server/version")
    assert version == zuul.gerrit.dist.version
    assert f"Remote version is: {version} (parsed as (" in zuul.log_text()


def test_an_approved_and_workflowed_hyperv_change_is_gated_and_merged_by_zuul(
    zuul: devzuul.Zuul, nova: novademo.Nova
) -> None:
    """Lieutenant's +2, bot's +1, then core's Workflow +1: Zuul gates and submits it, and the
    submit check approves Zuul's submit. Ten rounds give the median from the last approval
    (the Workflow vote) to the merge."""
    seconds = []
    for round_ in range(10):
        number = hyperv_change(nova, f"gated_{round_}")
        owners_approve(nova, number)
        started = time.monotonic()
        workflow(nova, number)
        merged = wait_merged(nova, number)
        seconds.append(time.monotonic() - started)
        assert merged["submitter"]["username"] == devzuul.ACCOUNT
        assert zuul.enqueued(number), "merged without going through the gate"
        assert any("APPROVED" in line for line in checks_of(nova, number)), submit_checks(nova)
    FIGURES["last approval to merge through Zuul (median of 10)"] = (
        f"{statistics.median(seconds):.1f}s (min {min(seconds):.1f}s, max {max(seconds):.1f}s)"
    )
    metrics = nova.service_metrics()
    count = metrics.get("owners_submit_check_seconds_count", 0.0)
    if count:
        mean = metrics["owners_submit_check_seconds_sum"] / count * 1000
        FIGURES["submit check per Zuul submit (service side, mean)"] = (
            f"{mean:.0f} ms over {count:.0f} checks"
        )


# -- 2. never enqueued without the owners' approval -------------------------------------------


def test_a_workflowed_change_lacking_the_owners_approval_is_never_enqueued(
    zuul: devzuul.Zuul, nova: novademo.Nova
) -> None:
    """Core's Workflow +1 on a root change that one core reviewer approved (the root needs
    two): the bot does not vote +1, so Zuul's gate never takes the change, however briefly."""
    number = nova.push_change("zed", {"nova/compute/api.py": "# compute API v2\n"}, "Compute")
    nova.vote("carol", number, 2)
    workflow(nova, number, core="dave")
    zuul.wait_for_events_read()
    assert nova.bot_vote(number) != 1
    assert nova.requirement(number) != "SATISFIED"
    assert zuul.enqueued(number, "check"), "the check pipeline did see the change"
    assert zuul.enqueued(number) == []
    assert status(nova, number) == "NEW"


# -- 3. the owners' approval arrives after the Workflow vote ----------------------------------


def test_the_lieutenants_approval_after_the_workflow_vote_still_enters_the_gate(
    zuul: devzuul.Zuul, nova: novademo.Nova
) -> None:
    number = hyperv_change(nova, "late_approval")
    workflow(nova, number)
    zuul.wait_for_events_read()
    assert zuul.enqueued(number) == []
    owners_approve(nova, number)
    merged = wait_merged(nova, number)
    assert merged["submitter"]["username"] == devzuul.ACCOUNT
    assert zuul.enqueued(number)


# -- 4. the verdict turns pending while the change waits in the gate --------------------------


def test_an_approval_withdrawn_while_in_the_gate_dequeues_the_change(
    zuul: devzuul.Zuul, nova: novademo.Nova
) -> None:
    """The merger is paused, so the change waits in the gate; the lieutenant withdraws their
    +2, the bot's vote goes back to 0, and Zuul dequeues it. Nothing merges."""
    number = hyperv_change(nova, "withdrawn")
    owners_approve(nova, number)
    with zuul.merger_paused():
        offset = zuul.log_offset()
        workflow(nova, number)
        zuul.wait_for_log(
            rf"Adding \[.*nova {number},1>\] to queue .* <Pipeline gate>", after=offset
        )
        nova.delete_vote("alice", number)
        nova.wait_for("the bot's +1 taken back", lambda: nova.bot_vote(number) != 1)
        zuul.wait_for_log(
            rf"Dequeuing .*nova {number},1.* because it can no longer merge", after=offset
        )
    zuul.wait_for_events_read()
    assert status(nova, number) == "NEW"
    assert nova.requirement(number) != "SATISFIED"


def test_a_new_owners_file_landing_while_in_the_gate_stops_the_change(
    zuul: devzuul.Zuul, nova: novademo.Nova, tmp_path: Path
) -> None:
    """While the change waits in the gate, master gets an OWNERS.yaml in which the approving
    lieutenant no longer owns Hyper-V, and the bot takes its +1 back. Either Zuul reads that
    first and dequeues the change, or it submits on what it read before and Gerrit refuses
    (the Owner-Approval requirement, or the submit check if the bot had not re-voted yet).
    Nothing merges either way."""
    original = nova.file("OWNERS.yaml")
    owners = original.replace(
        "hyperv-core: [alice, bob@example.org]", "hyperv-core: [bob@example.org]"
    )
    assert owners != original
    number = hyperv_change(nova, "owners_changed")
    owners_approve(nova, number)
    try:
        with zuul.merger_paused():
            offset = zuul.log_offset()
            workflow(nova, number)
            zuul.wait_for_log(
                rf"Adding \[.*nova {number},1>\] to queue .* <Pipeline gate>", after=offset
            )
            push_to_master(nova, {"OWNERS.yaml": owners}, tmp_path / "new")
            nova.wait_for("the bot's +1 taken back", lambda: nova.bot_vote(number) != 1)
        # However it ends, the item leaves the gate's queue.
        zuul.wait_for_log(
            rf"Removing <QueueItem .*nova {number},1>\] in gate> from queue", after=offset
        )
        zuul.wait_for_events_read()
        assert status(nova, number) == "NEW"
        log = zuul.log_text()[offset:]
        dequeued = re.search(rf"Dequeuing .*nova {number},1.* because it can no longer merge", log)
        submit_failed = re.search(
            rf"Changes for <QueueItem .*nova {number},1>\] in gate> did not merge because it"
            " failed to merge",
            log,
        )
        assert dequeued or submit_failed, log[-3000:]
        refused_by_check = [line for line in checks_of(nova, number) if "APPROVED" not in line]
        FIGURES["new OWNERS.yaml while in the gate"] = (
            "dequeued by Zuul"
            if dequeued
            else "Zuul's submit refused by "
            + ("the submit check" if refused_by_check else "Gerrit's Owner-Approval requirement")
        )
    finally:
        # The next tests need alice in hyperv-core again, and this change out of the way (her
        # vote would count again and send it back to the gate).
        nova.gerrit.rest.post(f"changes/{number}/abandon")
        push_to_master(nova, {"OWNERS.yaml": original}, tmp_path / "restore")


# -- 5. a Hyper-V change stacked on an unapproved core change ---------------------------------


def test_a_hyperv_change_stacked_on_an_unapproved_core_change_waits_for_core(
    zuul: devzuul.Zuul, nova: novademo.Nova
) -> None:
    parent = nova.push_change("zed", {"nova/compute/api.py": "# compute API v3\n"}, "Core")
    parent_sha = nova.gerrit.rest.get(f"changes/{parent}?o=CURRENT_REVISION")["current_revision"]
    child = nova.push_commit(
        "zed", [parent_sha], {"nova/virt/hyperv/stacked.py": "# stacked\n"}, "Hyper-V: stacked"
    )
    owners_approve(nova, child)
    workflow(nova, child)
    zuul.wait_for_events_read()
    assert zuul.enqueued(child) == [] and zuul.enqueued(parent) == []
    assert (status(nova, parent), status(nova, child)) == ("NEW", "NEW")
    # Core approves the parent (the root needs two of nova-core), then sends it to the gate.
    owners_approve(nova, parent, "carol", "dave")
    workflow(nova, parent, core="erin")
    for number in (parent, child):
        assert wait_merged(nova, number)["submitter"]["username"] == devzuul.ACCOUNT


# -- 6. a speculative merge of several approved changes ---------------------------------------


def test_several_approved_changes_gated_together_all_merge_each_through_its_check(
    zuul: devzuul.Zuul, nova: novademo.Nova
) -> None:
    """Three approved changes enter the gate while the merger is paused, so Zuul tests them as
    one speculative queue (each on top of the ones ahead). Zuul submits them one by one; each
    submit check judges its own change against the branch as it is then, and approves it."""
    numbers = [hyperv_change(nova, f"queued_{i}") for i in range(3)]
    for number in numbers:
        owners_approve(nova, number)
    before = len(submit_checks(nova))
    with zuul.merger_paused():
        offset = zuul.log_offset()
        for number in numbers:
            workflow(nova, number)
        for number in numbers:
            zuul.wait_for_log(
                rf"Adding \[.*nova {number},1>\] to queue .* <Pipeline gate>", after=offset
            )
    for number in numbers:
        assert wait_merged(nova, number)["submitter"]["username"] == devzuul.ACCOUNT
    seen = submit_checks(nova)[before:]
    for number in numbers:
        assert [line for line in checks_of(nova, number) if "APPROVED" in line], seen
    FIGURES["speculative queue of 3: submit checks seen"] = " | ".join(
        re.sub(r".*(submit check .*)", r"\1", line)[:120] for line in seen
    )


def test_the_documented_gerrit_configuration_is_what_the_harness_made(
    zuul: devzuul.Zuul, nova: novademo.Nova, tmp_path: Path
) -> None:
    """deploy/zuul/project.config.example (shown in docs/deployment.md) against the live
    project.config: every key it shows is set so on the project Zuul gates."""
    clone = tmp_path / "meta"
    devgerrit.git(tmp_path, "init", "--quiet", str(clone))
    devgerrit.git(
        clone,
        "fetch",
        "--quiet",
        nova.gerrit.git_url(nova.project),
        "refs/meta/config",
        auth=nova.gerrit.admin_auth,
    )
    devgerrit.git(clone, "checkout", "--quiet", "FETCH_HEAD")
    live = git_config(clone / "project.config")
    documented = git_config(Path(devzuul.__file__).parent / "zuul" / "project.config.example")
    missing = {
        key: values
        for key, values in documented.items()
        if not set(values) <= set(live.get(key, []))
    }
    assert not missing, (missing, live)


def git_config(path: Path) -> dict[str, list[str]]:
    listed = subprocess.run(
        ["git", "config", "-f", str(path), "--list"], capture_output=True, text=True, check=True
    ).stdout
    found: dict[str, list[str]] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        found.setdefault(key, []).append(" ".join(value.split()))
    return found
