"""Fault 5: 10,000 hostile requests against a running service.

Wrong tokens, bodies over the limit, truncated JSON, wrong types, deep nesting, bad UTF-8,
unknown events, events of projects it does not serve, wrong methods.  Every answer is a 4xx
or the 202 of an ignored event, the process stays up, its memory stays flat, and nothing is
queued.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from collections.abc import Callable

import pytest
import requests

from tests.faults.harness import Project, figures, metric, wait

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

REQUESTS = 10_000


def hostile(project: Project, rng: random.Random) -> list[tuple[str, str, bytes, str]]:
    """(kind, url, body, method) for every request, in a shuffled order."""
    url = f"{project.url}/gerrit/events/{project.token}"
    good = project.event(next(iter(project.info)))
    text = json.dumps(good)

    def wrong_token() -> tuple[str, bytes, str]:
        token = rng.choice(
            [
                project.token[:-1],
                project.token + "0",
                "x" * rng.randint(1, 300),
                project.token.upper(),
                "%00" + project.token,
                "é" * 20,
            ]
        )
        return f"{project.url}/gerrit/events/{token}", text.encode(), "POST"

    def oversized() -> tuple[str, bytes, str]:
        return url, b"[" + b"1," * (600_000) + b"1]", "POST"

    def truncated() -> tuple[str, bytes, str]:
        return url, text[: rng.randint(0, len(text) - 1)].encode(), "POST"

    def wrong_types() -> tuple[str, bytes, str]:
        payload = json.loads(text)
        where, keys = rng.choice(
            [
                (payload, ["type", "change"]),
                (payload["change"], ["project", "branch", "id", "number"]),
            ]
        )
        where[rng.choice(keys)] = rng.choice(
            [None, 1.5, -7, 0, [], {}, "", True, "\ud800", "a\nb", 10**30]
        )
        return url, json.dumps(payload).encode(), "POST"

    def nesting() -> tuple[str, bytes, str]:
        depth = rng.choice([1_000, 10_000, 100_000])
        return url, (b'{"a":' * depth) + b"1" + (b"}" * depth), "POST"

    def garbage() -> tuple[str, bytes, str]:
        return url, rng.randbytes(rng.randint(0, 2000)), "POST"

    def unknown_event() -> tuple[str, bytes, str]:
        kind = rng.choice(["topic-changed", "assignee-changed", "change-deleted", "x" * 200])
        return url, json.dumps({**json.loads(text), "type": kind}).encode(), "POST"

    def unserved() -> tuple[str, bytes, str]:
        payload = json.loads(text)
        payload["change"]["project"] = "someone-else"
        return url, json.dumps(payload).encode(), "POST"

    def method() -> tuple[str, bytes, str]:
        return url, text.encode(), rng.choice(["GET", "PUT", "DELETE", "PATCH"])

    kinds: dict[str, tuple[int, Callable[[], tuple[str, bytes, str]]]] = {
        "wrong_token": (2000, wrong_token),
        "oversized": (100, oversized),
        "truncated": (1500, truncated),
        "wrong_types": (1500, wrong_types),
        "deep_nesting": (900, nesting),
        "garbage_bytes": (1500, garbage),
        "unknown_event": (1000, unknown_event),
        "unserved_project": (1000, unserved),
        "wrong_method": (500, method),
    }
    assert sum(count for count, _ in kinds.values()) == REQUESTS
    built = [(name, *make()) for name, (count, make) in kinds.items() for _ in range(count)]
    rng.shuffle(built)
    return built


def test_ten_thousand_hostile_requests(project: Project) -> None:
    with figures("hostile") as found:
        service = project.serve()
        project.push_changes(1)
        wait("the first status comment", project.commented, 60)
        before = metric(project.url, "owners_events_total", outcome="queued")
        rng = random.Random(5)
        requests_ = hostile(project, rng)
        session = requests.Session()
        answers: Counter[str] = Counter()
        bad = []
        rss = []
        for i, (kind, url, body, method) in enumerate(requests_):
            if i in (1000, REQUESTS - 1):
                rss.append(service.rss_kib())
            response = session.request(
                method, url, data=body, headers={"Content-Type": "application/json"}, timeout=30
            )
            ok = 400 <= response.status_code < 500 or (
                response.status_code == 202 and response.json().get("status") == "ignored"
            )
            answers[str(response.status_code)] += 1
            if not ok:
                bad.append((kind, response.status_code, response.text[:200]))
        assert service.alive
        with sqlite3.connect(project.workdir / "queue.db") as db:
            queued = db.execute(
                "select (select count(*) from task) + (select count(*) from schedule)"
                " + (select count(*) from kv where queue = 'owners.pending')"
            ).fetchone()[0]
        found["requests"] = len(requests_)
        found["answers"] = dict(sorted(answers.items()))
        found["not_4xx_or_ignored"] = len(bad)
        found["crashes"] = 0 if service.alive else 1
        found["rss_kib_after_1000"], found["rss_kib_at_end"] = rss
        found["rss_growth_kib"] = rss[1] - rss[0]
        found["jobs_queued"] = queued
        found["events_queued_metric"] = (
            metric(project.url, "owners_events_total", outcome="queued") - before
        )
        assert bad == []
        assert queued == 0 and found["events_queued_metric"] == 0
        assert found["rss_growth_kib"] < 20_000, rss
