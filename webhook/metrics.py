"""Prometheus metrics of the service: `GET /metrics`, and `owners worker --metrics-port`.

Counters live in the process that counts them: the web process counts events, the workers
count evaluations, votes and Gerrit errors.  `owners serve` runs both in one process, so its
`/metrics` has everything.  Where web and workers run apart, each worker process serves its
own (`owners worker --metrics-port`); gunicorn's web processes share theirs through
prometheus_client's multiprocess mode when `PROMETHEUS_MULTIPROC_DIR` is set
(`deploy/gunicorn.conf.py` does it).  The queue depth, the jobs running and the dead letters
are not counted anywhere: they are read from the backend at scrape time, so every process
reports the same, true figure for the whole cluster.

No label value comes from a request, and none can hold a secret: events are labelled only
with the handled types (others are `other`), errors with an HTTP status or a fixed word.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from owners.gerrit.events import HANDLED
from owners.gerrit.model import GerritError

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The service's metrics, in a registry of their own (so tests can make many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "owners_events",
            "Webhook events received, by type and outcome (queued, coalesced, ignored)",
            ["type", "outcome"],
            registry=r,
        )
        self.rejected = Counter(
            "owners_rejected_requests",
            "Requests on the event URL refused, by HTTP status",
            ["status"],
            registry=r,
        )
        self.evaluation = Histogram(
            "owners_evaluation_seconds",
            "Time to evaluate one change and post the result",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.gerrit_errors = Counter(
            "owners_gerrit_errors",
            "Failed Gerrit REST calls, by HTTP status (or connection, unexpected)",
            ["status"],
            registry=r,
        )
        self.votes = Counter(
            "owners_votes_cast",
            "Votes the bot posted on the owners label, by value",
            ["value"],
            registry=r,
        )
        self.comments = Counter(
            "owners_comments_posted", "Status comments the bot posted", registry=r
        )
        self.overrides = Counter(
            "owners_overrides",
            "Changes the bot first saw overridden with the break-glass label",
            registry=r,
        )
        self.jobs = Counter(
            "owners_jobs",
            "Jobs run, by outcome (done, retried, busy, superseded, dead, recovered)",
            ["outcome"],
            registry=r,
        )
        self.unreadable = Counter(
            "owners_unreadable_changes",
            "Change evaluations that ended because the bot may not read the change (no vote)",
            registry=r,
        )
        self.reconciled = Counter(
            "owners_reconcile_changes",
            "Open changes seen by the reconciler, by action (skipped: inputs unchanged; queued)",
            ["action"],
            registry=r,
        )
        self.submit_checks = Counter(
            "owners_submit_checks",
            "Submit-time checks answered, by outcome (APPROVED, PENDING, BLOCKED, ERROR, "
            "NOT_ENFORCED, UNAUTHORIZED, BAD_REQUEST)",
            ["outcome"],
            registry=r,
        )
        self.submit_check_seconds = Histogram(
            "owners_submit_check_seconds",
            "Time to answer one submit-time check (Gerrit waits for it to merge)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._sources: list[Callable[[], Iterator[Metric]]] = []

    def event(self, kind: str, outcome: str) -> None:
        self.events.labels(kind if kind in HANDLED else "other", outcome).inc()

    def gerrit_error(self, error: GerritError) -> None:
        self.gerrit_errors.labels(error.kind).inc()

    def watch_queue(
        self, depth: Callable[[], int], running: Callable[[], int], dead: Callable[[], int]
    ) -> None:
        """Report the queue's depth, the jobs running and the dead letters, read from the
        backend at each scrape."""
        collector = _QueueCollector(depth, running, dead)
        self.registry.register(collector)
        self._sources.append(collector.collect)

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            for source in self._sources:
                registry.register(_Adapter(source))
            return generate_latest(registry)
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    def __init__(
        self, depth: Callable[[], int], running: Callable[[], int], dead: Callable[[], int]
    ):
        self.depth, self.running, self.dead = depth, running, dead

    def collect(self) -> Iterator[Metric]:
        up = 1
        try:
            depth, running, dead = self.depth(), self.running(), self.dead()
        except Exception as exc:  # the backend is down: say so rather than fail the scrape
            log.warning("cannot read the queue for metrics: %s", type(exc).__name__)
            depth = running = dead = 0
            up = 0
        yield GaugeMetricFamily("owners_queue_up", "1 when the queue backend answered", up)
        yield GaugeMetricFamily(
            "owners_queue_depth", "Jobs waiting in the queue or scheduled for a retry", depth
        )
        yield GaugeMetricFamily(
            "owners_jobs_running", "Jobs a worker has taken and not yet finished", running
        )
        yield GaugeMetricFamily("owners_dead_letters", "Jobs that failed for good", dead)


class _Adapter(Collector):
    def __init__(self, source: Callable[[], Iterator[Metric]]):
        self.source = source

    def collect(self) -> Iterator[Any]:
        return self.source()
