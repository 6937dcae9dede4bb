"""Fault 3: duplicated, reordered and replayed deliveries end in the same state as the clean
sequence.

Ten changes in five pairs get the same votes.  The first of each pair is told by the clean
sequence of its events, once, in order; the second by the same events duplicated three times,
shuffled, and replayed once more after all was processed.  Each pair ends alike: the same
vote, the same number of status comments, the same last one.
"""

from __future__ import annotations

import random

import pytest

from tests.faults.harness import Project, figures, metric, queue_report, wait

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

SEQUENCE = ("patchset-created", "reviewer-added", "comment-added", "vote-deleted", "comment-added")


def test_duplicated_reordered_and_replayed_deliveries(project: Project) -> None:
    with figures("deliveries") as found:
        service = project.serve()
        numbers = project.push_changes(10)
        wait("the first status comments", project.commented, 60)
        service.stop()
        pairs = list(zip(numbers[0::2], numbers[1::2], strict=True))
        for k, pair in enumerate(pairs):
            for number in pair:
                if k % 2 == 0:
                    project.vote("bob", number, 2)
                project.vote("carol" if k == 4 else "zed", number, -1)
        service = project.serve()

        clean = [project.event(a, kind) for a, _ in pairs for kind in SEQUENCE]
        chaos = [project.event(b, kind) for _, b in pairs for kind in SEQUENCE] * 3
        random.Random(4).shuffle(chaos)
        statuses = [project.send(p) for p in clean + chaos]
        wait(
            "the queue empty",
            lambda: metric(project.url, "owners_queue_depth") == 0,
            60,
            explain=lambda: queue_report(project.workdir / "queue.db"),
        )
        project.wait_labels_right(60)
        statuses += [project.send(p) for p in chaos[:15]]  # replayed later
        wait(
            "the queue empty",
            lambda: metric(project.url, "owners_queue_depth") == 0,
            60,
            explain=lambda: queue_report(project.workdir / "queue.db"),
        )

        state = project.state()
        differ = [
            (a, b)
            for a, b in pairs
            if (state[a][0], len(state[a][1])) != (state[b][0], len(state[b][1]))
            or state[a][1][-1:] != state[b][1][-1:]
        ]
        found["pairs_differing"] = len(differ)
        found.update(project.outcome(statuses))
        found["evaluations"] = metric(project.url, "owners_evaluation_seconds_count")
        assert differ == [] and found["wrong_labels"] == 0 and found["duplicate_comments"] == 0
        assert found["events_lost"] == 0
