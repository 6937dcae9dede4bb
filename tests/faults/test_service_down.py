"""Fault 4: the service is down while Gerrit sends events, and Gerrit's retries run out.

After the restart the reconciler repairs every change within one interval.  A group change,
of which Gerrit sends no event at all, is repaired within one interval as well.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import GROUP, Project, figures, metric, wait

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

INTERVAL = 20.0


def test_the_reconciler_repairs_what_was_missed(project: Project) -> None:
    with figures("service_down") as found:
        interval = {"OWNERS_RECONCILE_INTERVAL": str(INTERVAL)}
        service = project.serve(**interval)
        numbers = project.push_changes(10)
        wait("the first status comments", project.commented, 60)
        service.stop()
        for number in numbers[:5]:
            project.vote("bob", number, 2)
        for number in numbers[5:]:
            project.vote("victor", number, 2)  # not (yet) a member of the group
        time.sleep(3)  # the webhooks plugin gives up after 3 tries, 0.5 s apart
        found["wrong_labels_while_down"] = len(project.wrong())
        assert found["wrong_labels_while_down"] == 5

        restarted = time.monotonic()
        project.serve(**interval)
        project.wait_labels_right(INTERVAL + 15)
        found["repaired_seconds_after_restart"] = round(time.monotonic() - restarted, 1)

        project.gerrit.rest.add_group_members(GROUP, ["victor"])
        for number in numbers[5:]:
            project.expected[number] = 1
        changed = time.monotonic()
        project.wait_labels_right(INTERVAL + 15, "every label right after the group change")
        found["group_change_repaired_seconds"] = round(time.monotonic() - changed, 1)
        found["interval_seconds"] = INTERVAL
        found["reconciled_skipped"] = metric(
            project.url, "owners_reconcile_changes_total", action="skipped"
        )
        found["reconciled_queued"] = metric(
            project.url, "owners_reconcile_changes_total", action="queued"
        )
        found["duplicate_comments"] = project.duplicates()
        assert found["repaired_seconds_after_restart"] <= INTERVAL + 5
        assert found["group_change_repaired_seconds"] <= INTERVAL + 5
        assert found["duplicate_comments"] == 0
