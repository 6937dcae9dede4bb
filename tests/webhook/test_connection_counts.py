"""The REST-call count of an evaluation is its own, even when worker threads share a connection."""

import threading
import time

from owners.gerrit.connection import GerritConnection
from owners.gerrit.settings import Settings


class SlowRest:
    """Answers every GET after a pause, so that two threads' calls interleave."""

    def get(self, path: str, **kw: object) -> dict[str, object]:
        time.sleep(0.02)
        return {}


def test_each_thread_counts_only_its_own_calls() -> None:
    gerrit = GerritConnection(Settings("http://gerrit.invalid", "bot", "pw"), rest=SlowRest())
    costs: dict[int, int] = {}

    def evaluate(worker: int, calls: int) -> None:
        before = gerrit.calls
        for _ in range(calls):
            gerrit.get("changes/1")
        costs[worker] = gerrit.calls - before

    threads = [threading.Thread(target=evaluate, args=(i, 3 + i)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert costs == {0: 3, 1: 4, 2: 5}
