"""Fault 1: Gerrit stops for 30 s in the middle of a burst of 100 events over 20 changes.

The votes are cast while the service is stopped, so only the burst tells it about them.  The
burst is accepted throughout (the web part does not need Gerrit); the evaluations that fail
while Gerrit is down are retried with backoff.  Once Gerrit is back every change carries the
right label and exactly one status comment for its final verdict.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from tests.faults.harness import Project, figures, metric, queue_report, wait

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

CHANGES, EVENTS, OUTAGE = 20, 100, 30.0


def test_gerrit_down_for_30s_mid_burst(project: Project) -> None:
    with figures("gerrit_outage") as found:
        service = project.serve()
        numbers = project.push_changes(CHANGES)
        wait("the first status comments", project.commented, 60)
        service.stop()
        for number in numbers[::2]:
            project.vote("bob", number, 2)  # approved
        for number in numbers[1::2]:
            project.vote("zed", number, 1)  # not an owner: still pending
        service = project.serve()

        kinds = itertools.cycle(
            [
                "comment-added",
                "patchset-created",
                "reviewer-added",
                "vote-deleted",
                "wip-state-changed",
            ]
        )
        burst = [project.event(n, next(kinds)) for n in numbers * (EVENTS // CHANGES)]
        statuses: list[int] = []
        halfway = threading.Event()

        def send_burst() -> None:
            for i, payload in enumerate(burst):
                if i == 30:
                    halfway.set()
                    time.sleep(3)  # Gerrit is stopping meanwhile
                statuses.append(project.send(payload))
                time.sleep(0.05)

        sender = threading.Thread(target=send_burst)
        sender.start()
        assert halfway.wait(30)
        stopped = time.monotonic()
        project.gerrit.stop()
        sender.join(60)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped)))
        project.gerrit.start()
        found["outage_seconds"] = round(time.monotonic() - stopped, 1)
        back = time.monotonic()
        project.wait_labels_right(120)
        wait(
            "an empty queue",
            lambda: metric(project.url, "owners_queue_depth") == 0,
            60,
            explain=lambda: queue_report(project.workdir / "queue.db"),
        )
        found["repaired_seconds_after_restart"] = round(time.monotonic() - back, 1)

        found.update(project.outcome(statuses))
        found["retries"] = metric(project.url, "owners_jobs_total", outcome="retried")
        assert len(statuses) == EVENTS and found["events_lost"] == 0
        assert found["wrong_labels"] == 0 and found["duplicate_comments"] == 0
        assert set(project.final_comments().values()) == {1}
        assert found["dead_letters"] == 0
