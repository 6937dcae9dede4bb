"""Fault 2: `kill -9` of the worker process in the middle of a burst.

The web part (`owners serve --web-only`) and the worker (`owners worker`) run apart on one
SQLite queue.  The worker is killed while it holds leases, sometimes with jobs taken from the
queue but not yet leased; a new worker takes the leases back once the old one's heartbeat is
stale, and queues again every job the old one held.  Every job completes, and none twice with
visible effect: no status comment is posted twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from tests.faults.harness import Project, figures, queue_report, wait
from webhook.jobs import Job

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def leases(project: Project) -> int:
    with sqlite3.connect(project.workdir / "queue.db", timeout=10) as db:
        (count,) = db.execute("select count(*) from kv where queue = 'owners.leases'").fetchone()
    return int(count)


def pending(project: Project) -> int:
    """Jobs not done yet: queued, scheduled, coalesced into a pending marker, or held by a
    worker (the killed worker's until another queues them again)."""
    with sqlite3.connect(project.workdir / "queue.db", timeout=10) as db:
        rows = db.execute(
            "select (select count(*) from task where queue = 'owners')"
            " + (select count(*) from schedule where queue = 'owners')"
            " + (select count(*) from kv where queue in ('owners.pending', 'owners.held'))"
        ).fetchone()
    return int(rows[0])


def taken_not_leased(project: Project) -> int:
    """Jobs the killed worker had taken from the queue without a lease on their change: those
    a lease alone could not recover (they were lost, and later events on their change
    coalesced into them, before the queue held its workers' tasks)."""
    with sqlite3.connect(project.workdir / "queue.db", timeout=10) as db:
        leased = {key for (key,) in db.execute("select key from kv where queue = 'owners.leases'")}
        held = db.execute("select value from kv where queue = 'owners.held'").fetchall()
    jobs = [Job.from_dict(json.loads(raw)["message"]["args"][0]) for (raw,) in held]
    return sum(1 for job in jobs if job.key not in leased)


def test_kill_9_of_the_worker_mid_burst(project: Project) -> None:
    with figures("worker_killed") as found:
        web = project.serve("--web-only")
        worker = project.process("worker", name="worker-1").start()
        numbers = project.push_changes(20)
        wait("the first status comments", project.commented, 60)
        web.stop()
        for number in numbers[::2]:
            project.vote("bob", number, 2)
        for number in numbers[1::2]:
            project.vote("zed", number, -1)
        web = project.serve("--web-only")

        statuses: list[int] = []
        burst = [project.event(number) for number in numbers * 5]
        sender = threading.Thread(target=lambda: statuses.extend(project.send(p) for p in burst))
        sender.start()
        deadline = time.monotonic() + 30
        killed_holding = 0
        while time.monotonic() < deadline and not killed_holding:
            killed_holding = leases(project)
            if killed_holding:
                worker.kill9()  # in the middle of evaluations: leases held
            time.sleep(0.002)
        sender.join(60)
        found["leases_held_at_kill"] = killed_holding
        found["jobs_taken_not_leased_at_kill"] = taken_not_leased(project)
        killed = time.monotonic()
        project.process("worker", name="worker-2").start()
        project.wait_labels_right(120)
        wait(
            "every job done",
            lambda: pending(project) == 0 and leases(project) == 0,
            60,
            explain=lambda: queue_report(project.workdir / "queue.db"),
        )
        found["completed_seconds_after_restart"] = round(time.monotonic() - killed, 1)

        found.update(project.outcome(statuses))
        assert killed_holding > 0 and len(statuses) == 100
        assert found["events_lost"] == 0 and found["wrong_labels"] == 0
        assert found["duplicate_comments"] == 0 and found["dead_letters"] == 0
        assert set(project.final_comments().values()) == {1}
