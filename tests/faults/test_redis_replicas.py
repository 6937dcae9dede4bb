"""Fault 6: two service replicas and two workers share a real Redis; one replica is killed
mid-burst.

The sender plays the load balancer: a delivery the dead replica cannot take goes to the
other one.  Nothing is lost: every change ends with the right label, the queue empties, no
job is a dead letter and no status comment is posted twice.
"""

from __future__ import annotations

import time

import devgerrit
import pytest
import redis
import requests

from tests.faults.harness import Project, figures, metric, wait

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def test_two_replicas_and_two_workers_on_redis(project: Project, redis_server: str) -> None:
    with figures("redis_replicas") as found:
        queue = {"OWNERS_QUEUE": redis_server}
        other_port = devgerrit.free_port()
        replicas = [
            project.serve("--web-only", **queue),
            project.serve("--web-only", port=other_port, **queue),
        ]
        urls = [project.url, f"http://127.0.0.1:{other_port}"]
        for n in (1, 2):
            project.process("worker", name=f"worker-{n}", **queue).start()
        numbers = project.push_changes(20)
        wait("the first status comments", project.commented, 60)
        replicas[0].stop()
        for number in numbers[::2]:
            project.vote("bob", number, 2)
        for number in numbers[1::2]:
            project.vote("zed", number, 1)
        replicas[0] = project.serve("--web-only", **queue)

        statuses, failovers = [], 0
        for i, number in enumerate(numbers * 5):
            if i == 50:
                replicas[0].kill9()
            first = i % 2
            try:
                statuses.append(project.send(project.event(number), urls[first], timeout=5))
            except requests.ConnectionError:
                failovers += 1
                statuses.append(project.send(project.event(number), urls[1 - first], timeout=5))
        client = redis.Redis.from_url(redis_server)
        started = time.monotonic()
        project.wait_labels_right(120)
        wait("an empty queue", lambda: metric(urls[1], "owners_queue_depth") == 0, 60)
        found["completed_seconds"] = round(time.monotonic() - started, 1)
        found["failovers"] = failovers
        found.update(project.outcome(statuses, metrics_url=urls[1]))
        found["workers_seen"] = len(client.hkeys("huey.results.owners_workers"))
        assert failovers > 0 and found["events_lost"] == 0
        assert found["wrong_labels"] == 0 and found["duplicate_comments"] == 0
        assert found["dead_letters"] == 0
