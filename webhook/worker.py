"""Running jobs in a process: huey's consumer threads plus the housekeeping of `webhook.jobs`.

`owners serve` starts one inside the web process; `owners worker` runs one alone (several of
them, on several machines, share a Redis queue).  Besides the consumer's threads a `Worker`
keeps one housekeeping thread that writes this process's heartbeat, takes back the leases of
workers that stopped beating and queues again the jobs they held, and runs the reconciler's
sweep when this process wins the current interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from huey.consumer import Consumer

from webhook.jobs import HEARTBEAT_SECONDS, Jobs
from webhook.reconcile import Reconciler

log = logging.getLogger(__name__)

RECOVER_SECONDS = 5.0
SHUTDOWN_SECONDS = 20.0


class _Consumer(Consumer):
    """huey's consumer without its signal handlers: the process that embeds it owns those."""

    def _set_signal_handlers(self) -> None:
        pass


class Worker:
    def __init__(self, jobs: Jobs, threads: int, reconcile_interval: float = 0.0):
        self.jobs = jobs
        self.threads = threads
        self.reconcile_interval = reconcile_interval
        self.reconciler = Reconciler(jobs)
        self.consumer: Consumer | None = None
        self._stop = threading.Event()
        self._housekeeping = threading.Thread(
            target=self._loop, name="owners-housekeeping", daemon=True
        )

    def start(self) -> Worker:
        self.jobs.beat()  # before any lease is taken
        if self.threads > 0:
            self.consumer = _Consumer(
                self.jobs.huey,
                workers=self.threads,
                worker_type="thread",
                periodic=False,
                # Both queues' dequeue blocks (see WalStorage); these delays only pace the
                # retries after the queue's backend failed to answer.
                initial_delay=0.01,
                backoff=1.5,
                max_delay=0.1,
                check_worker_health=False,
                shutdown_timeout=SHUTDOWN_SECONDS,
            )
            self.consumer.start()
        self._housekeeping.start()
        log.info(
            "worker %s: %d threads on %s, reconciling %s",
            self.jobs.worker_id,
            self.threads,
            self.jobs.settings.queue_display,
            f"every {self.reconcile_interval:g}s" if self.reconcile_interval else "never",
            extra={"worker": self.jobs.worker_id},
        )
        return self

    def stop(self) -> None:
        """Finish the jobs in hand (up to a timeout), then stop."""
        self._stop.set()
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
        self._housekeeping.join(timeout=10)

    def _loop(self) -> None:
        due: dict[str, float] = {}

        def every(name: str, seconds: float, action: Callable[[], object]) -> None:
            now = time.monotonic()
            if now < due.get(name, 0.0):
                return
            due[name] = now + seconds
            try:
                action()
            except Exception as exc:  # keep going: the backend or Gerrit may come back
                log.warning("%s failed: %s: %s", name, type(exc).__name__, exc)

        while True:
            every("heartbeat", HEARTBEAT_SECONDS, self.jobs.beat)
            if self.threads > 0:
                every("recovery", RECOVER_SECONDS, self.jobs.recover)
            if self.reconcile_interval > 0:
                check = min(self.reconcile_interval / 10, 5.0)
                every("reconciler", check, self._maybe_sweep)
            if self._stop.wait(0.5):
                return

    def _maybe_sweep(self) -> None:
        claim = self.reconciler.claim(self.reconcile_interval)
        if claim is None:
            return
        try:
            self.reconciler.sweep()
        except Exception:
            self.reconciler.release(claim)
            raise
