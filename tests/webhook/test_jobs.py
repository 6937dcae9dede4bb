"""The queue: coalescing, leases, retries, dead letters and recovery, on a real SQLite file
(and a real Redis for what a killed worker leaves behind)."""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import devredis
import pytest
import requests
from huey.registry import Message

from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import Actor, ChangeEvent, RefUpdated
from tests.webhook.conftest import (
    LATER,
    FakeGerrit,
    HTTPStatus,
    change_info,
    drain,
    queued_jobs,
    settings,
)
from webhook.jobs import (
    BRANCH,
    CHANGE,
    DEAD_AFTER_SECONDS,
    PROJECT,
    Job,
    Jobs,
    JsonSerializer,
    Store,
    WalStorage,
    backoff,
    job_for,
)
from webhook.service import OwnersService

HYPERV = {"nova/virt/hyperv/vmops.py": {}}
NOVA42 = Job(CHANGE, "nova", 42)


def evaluations(gerrit: FakeGerrit, number: int = 42) -> int:
    return [path for _, path in gerrit.log].count(f"changes/nova~{number}")


def test_jobs_name_what_events_name() -> None:
    actor = Actor("alice")
    assert job_for(ChangeEvent("comment-added", "nova", "master", 42, "I1", actor)) == NOVA42
    meta = RefUpdated("nova", "refs/meta/config", "1" * 40, "2" * 40, actor)
    assert job_for(meta) == Job(PROJECT, "nova")
    branch = RefUpdated("nova", "refs/heads/master", "1" * 40, "2" * 40, actor)
    assert job_for(branch) == Job(
        BRANCH, "nova", ref="refs/heads/master", old="1" * 40, new="2" * 40
    )
    assert job_for(RefUpdated("nova", "refs/tags/v1", "1" * 40, "2" * 40, actor)) is None
    assert job_for(RefUpdated("nova", "refs/heads/x", "1" * 40, "0" * 40, actor)) is None


def test_job_keys_are_safe_for_odd_names() -> None:
    job = Job(CHANGE, "a/b c~d:\u00e9\x7f", 7)
    assert job.key == "change:a%2Fb%20c~d%3A%C3%A9%7F~7"
    assert Job.from_dict(job.to_dict()) == job


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"kind": "change", "project": "nova"},
        {"kind": "x", "project": "p"},
        {"kind": "change", "project": "nova", "number": "42"},
        {"kind": "change", "project": "nova", "number": 42, "evil": 1},
    ],
)
def test_only_well_formed_jobs_are_read_back(data: object) -> None:
    with pytest.raises(ValueError):
        Job.from_dict(data)


def test_huey_messages_are_stored_as_json_not_pickle() -> None:
    eta = datetime.datetime(2030, 1, 2, 3, 4, 5, 600)
    message = Message("id-1", "owners_job", eta, 0, 0, None, ({"kind": "change"}, 1), {})
    raw = JsonSerializer().serialize(message)
    assert json.loads(raw)["message"]["eta"] == {"$datetime": "2030-01-02T03:04:05.000600"}
    assert JsonSerializer().deserialize(raw) == message


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    assert [backoff(n, 300, lambda: 1.0) for n in range(4)] == [1, 2, 4, 8]
    assert [backoff(n, 300, lambda: 0.0) for n in range(4)] == [0.5, 1, 2, 4]
    assert backoff(20, 300, lambda: 1.0) == 300 and backoff(20, 300, lambda: 0.0) == 150


def test_an_event_during_an_evaluation_queues_one_follow_up(jobs: Jobs, gerrit: FakeGerrit) -> None:
    evaluate = jobs.service.process_change
    arrivals = []

    def slow_evaluation(project: str, number: int) -> object:
        result = evaluate(project, number)
        if not arrivals:  # three events arrive while the first evaluation runs
            arrivals.extend(jobs.submit(NOVA42) for _ in range(3))
        return result

    jobs.service.process_change = slow_evaluation  # type: ignore[method-assign]
    assert jobs.submit(NOVA42) and not jobs.submit(NOVA42)
    assert drain(jobs) == 2
    assert arrivals == [True, False, False]
    assert evaluations(gerrit) == 2


def test_gerrit_down_retries_with_backoff_then_succeeds(jobs: Jobs, gerrit: FakeGerrit) -> None:
    gerrit.outage = requests.ConnectionError("refused")
    jobs.submit(NOVA42)
    drain(jobs, later=False)  # the evaluation fails, its retry is scheduled
    assert jobs.huey.scheduled_count() == 1 and jobs.dead_letters() == []
    assert not jobs.submit(NOVA42)  # the scheduled retry is the one pending job
    gerrit.outage = HTTPStatus(503, "<html>down for maintenance</html>")
    assert jobs.huey.read_schedule(LATER) == []  # the retry's time has come: it is queued
    jobs.huey.execute(jobs.huey.dequeue(), LATER)
    assert jobs.depth() == 1  # failed again: the next retry waits
    gerrit.outage = None
    drain(jobs)
    assert len(gerrit.reviews()) == 1 and jobs.depth() == 0
    assert jobs.metrics.jobs.labels("retried")._value.get() == 2
    assert jobs.metrics.gerrit_errors.labels("503")._value.get() == 1
    assert jobs.metrics.gerrit_errors.labels("connection")._value.get() == 1


def test_a_failed_job_with_a_newer_one_queued_ends_as_superseded(
    jobs: Jobs, gerrit: FakeGerrit
) -> None:
    """Every job ends once (done, dead or superseded), so a count of queued against ended
    jobs tells when the service is idle."""
    evaluate = jobs.service.process_change

    def failing_after_an_event(project: str, number: int) -> object:
        jobs.service.process_change = evaluate  # type: ignore[method-assign]
        assert jobs.submit(NOVA42)  # an event arrives while this evaluation runs
        gerrit.outage = requests.ConnectionError("refused")
        try:
            return evaluate(project, number)
        finally:
            gerrit.outage = None

    jobs.service.process_change = failing_after_an_event  # type: ignore[method-assign]
    jobs.submit(NOVA42)
    drain(jobs)
    ended = {o: jobs.metrics.jobs.labels(o)._value.get() for o in ("done", "superseded")}
    assert ended == {"done": 1, "superseded": 1}
    assert jobs.metrics.jobs.labels("retried")._value.get() == 0
    assert len(gerrit.reviews()) == 1 and jobs.depth() == 0


def test_a_proxy_page_instead_of_json_is_retried(jobs: Jobs, gerrit: FakeGerrit) -> None:
    gerrit.garbage = "<html><title>502 Bad Gateway</title></html>"
    jobs.submit(NOVA42)
    drain(jobs, later=False)
    assert jobs.huey.scheduled_count() == 1
    gerrit.garbage = None
    drain(jobs)
    assert len(gerrit.reviews()) == 1


def test_a_job_that_keeps_failing_becomes_a_dead_letter_and_can_be_replayed(
    gerrit: FakeGerrit, nova_config: bytes, tmp_path: Path
) -> None:
    gerrit.set_branch("nova", "master", "a" * 40, nova_config)
    gerrit.add_change(change_info(42, HYPERV, {"bob": 2}, owner="uma"))
    jobs = queued_jobs(gerrit, tmp_path / "q.db", job_attempts=3)
    gerrit.outage = HTTPStatus(500, "Internal server error")
    jobs.submit(NOVA42)
    drain(jobs)
    (letter,) = jobs.dead_letters()
    assert letter["key"] == "change:nova~42" and letter["attempts"] == 3
    assert letter["error"] == (
        "GET changes/nova~42: HTTP 500 from http://gerrit.invalid: Internal server error"
    )
    assert evaluations(gerrit) == 3 and jobs.depth() == 0
    gerrit.outage = None
    assert jobs.replay() == [NOVA42]
    drain(jobs)
    assert jobs.dead_letters() == [] and len(gerrit.reviews()) == 1


def test_a_permanent_error_is_not_retried(jobs: Jobs, gerrit: FakeGerrit) -> None:
    jobs.submit(Job(CHANGE, "nova", 404))
    drain(jobs)
    assert [letter["attempts"] for letter in jobs.dead_letters()] == [1]


def test_a_change_the_bot_may_not_read_is_counted_and_named(
    jobs: Jobs, gerrit: FakeGerrit, caplog: pytest.LogCaptureFixture
) -> None:
    jobs.submit(Job(CHANGE, "nova", 404))  # e.g. private, and the bot lacks the right
    drain(jobs)
    assert jobs.metrics.unreadable._value.get() == 1
    (line,) = [r.getMessage() for r in caplog.records if "may not read" in r.getMessage()]
    assert "nova~404" in line and "View Private Changes" in line


def test_a_change_in_another_workers_hands_waits(
    jobs: Jobs, gerrit: FakeGerrit, tmp_path: Path
) -> None:
    other = queued_jobs(gerrit, tmp_path / "queue.db")  # another process on the same queue
    other.beat()
    assert other._acquire(NOVA42) is not None
    jobs.submit(NOVA42)
    drain(jobs, later=False)
    assert evaluations(gerrit) == 0 and jobs.huey.scheduled_count() == 1
    assert not jobs.submit(NOVA42)  # still pending: further events coalesce into it
    other.leases.delete(NOVA42.key)
    drain(jobs)
    assert evaluations(gerrit) == 1


def test_the_jobs_of_a_stopped_worker_are_recovered(
    jobs: Jobs, gerrit: FakeGerrit, tmp_path: Path
) -> None:
    now = [1000.0]
    jobs.clock = lambda: now[0]
    killed = queued_jobs(gerrit, tmp_path / "queue.db")
    killed.clock = jobs.clock
    killed.beat()
    killed._acquire(NOVA42)  # ... and then kill -9: the lease stays
    jobs.beat()
    assert jobs.recover() == []  # its heartbeat is fresh: maybe it is only slow
    now[0] += DEAD_AFTER_SECONDS + 1
    jobs.beat()
    assert jobs.recover() == [NOVA42]
    assert list(jobs.leases.items()) == []
    drain(jobs)
    assert len(gerrit.reviews()) == 1


@pytest.fixture(params=["sqlite", "redis"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the jobs of the worker-killing tests wait: a SQLite file, or a Redis of their own."""
    if request.param == "sqlite":
        yield str(tmp_path / "queue.db")
        return
    if not devredis.available():
        pytest.skip("redis-server is not installed (deploy/test.sh installs it)")
    with devredis.redis_server(tmp_path) as url:
        yield url


@pytest.fixture
def two_workers(
    gerrit: FakeGerrit, nova_config: bytes, queue: str
) -> tuple[Jobs, Jobs, list[float]]:
    """Two workers on one queue and one clock: the one that lives, and one to be killed."""
    gerrit.set_branch("nova", "master", "a" * 40, nova_config)
    gerrit.add_change(change_info(42, HYPERV, {"bob": 2}, owner="uma"))
    now = [1000.0]
    config = settings(queue=queue)
    jobs, killed = (
        Jobs(config, OwnersService(config, GerritConnection(config, rest=gerrit))) for _ in range(2)
    )
    jobs.clock = killed.clock = lambda: now[0]
    jobs.huey.storage.read_timeout = killed.huey.storage.read_timeout = 0.1  # (Redis)
    killed.beat()
    return jobs, killed, now


def held(jobs: Jobs) -> list[str]:
    """The jobs of the tasks workers hold, with the worker."""
    storage = jobs.huey.storage
    if isinstance(storage, WalStorage):
        rows = Store(WalStorage(WalStorage.HELD, filename=storage.filename)).items()
        found = [(key.split()[0], raw) for key, raw in rows]
    else:
        prefix = f"huey.held.{storage.name}:"
        found = [
            (key.decode()[len(prefix) :], raw)
            for key in storage.conn.scan_iter(match=prefix + "*")
            for raw in storage.conn.lrange(key, 0, -1)
        ]
    return [f"{jobs._job_of(raw)} by {worker}" for worker, raw in found]


def test_a_job_taken_by_a_worker_killed_before_its_lease_is_recovered(
    two_workers: tuple[Jobs, Jobs, list[float]], gerrit: FakeGerrit
) -> None:
    """The window that made the kill -9 fault test flaky: huey's dequeue commits, the job's
    pending marker stays until the lease is taken, and a kill -9 in between used to leave the
    job nowhere while later events on the change coalesced into the marker of the lost job."""
    jobs, killed, now = two_workers
    jobs.submit(NOVA42)
    assert killed.huey.dequeue() is not None  # ... then kill -9, before its lease
    assert jobs.depth() == 0 and not jobs.submit(NOVA42)  # events coalesce into it
    jobs.beat()
    assert jobs.recover() == [] and drain(jobs) == 0  # it may only be slow
    now[0] += DEAD_AFTER_SECONDS + 1
    jobs.beat()
    assert jobs.recover() == [NOVA42]
    assert drain(jobs) == 1 and len(gerrit.reviews()) == 1
    assert list(jobs.pending.items()) == [] and jobs.depth() == 0 and held(jobs) == []


def test_a_job_waiting_for_a_lease_when_its_worker_is_killed_is_recovered(
    two_workers: tuple[Jobs, Jobs, list[float]], gerrit: FakeGerrit
) -> None:
    """Killed while its job waited for the lease of another evaluation of the change, which
    then ended: no lease of the killed worker is left to recover the job by."""
    jobs, killed, now = two_workers
    other = killed._acquire(NOVA42)  # the killed worker's other thread evaluates 42
    assert other is not None
    jobs.submit(NOVA42)  # an event during that evaluation
    assert killed.huey.dequeue() is not None
    assert killed._acquire(NOVA42) is None  # (the waiting thread's last look at the lease)
    killed.leases.delete_if(NOVA42.key, other)  # that evaluation ends; kill -9 now
    assert list(jobs.leases.items()) == [] and held(jobs) == [f"nova~42 by {killed.worker_id}"]
    now[0] += DEAD_AFTER_SECONDS + 1
    jobs.beat()
    assert jobs.recover() == [NOVA42]
    assert drain(jobs) == 1 and len(gerrit.reviews()) == 1 and jobs.depth() == 0


def test_a_task_is_held_by_its_worker_until_huey_is_done_with_it(
    two_workers: tuple[Jobs, Jobs, list[float]], gerrit: FakeGerrit
) -> None:
    jobs, other = two_workers[0], two_workers[1]
    jobs.submit(NOVA42)
    assert jobs.running() == 0 and jobs.depth() == 1
    task = jobs.huey.dequeue()
    assert held(jobs) == [f"nova~42 by {jobs.worker_id}"]
    assert jobs.running() == other.running() == 1 and jobs.depth() == 0  # (as /metrics says)
    jobs.huey.execute(task)
    assert held(jobs) == [] and len(gerrit.reviews()) == 1 and jobs.running() == 0
    gerrit.outage = requests.ConnectionError("refused")
    jobs.submit(NOVA42)
    jobs.huey.execute(jobs.huey.dequeue())  # its retry is queued for later ...
    assert jobs.huey.pending_count() == 1 and held(jobs) == []
    jobs.huey.execute(jobs.huey.dequeue())  # ... so the worker taking it puts it on the schedule
    assert jobs.huey.scheduled_count() == 1 and held(jobs) == []
    jobs.huey.dequeue()
    jobs.beat()
    assert jobs.recover() == []  # a live worker's tasks stay where they are


def test_a_due_retry_moves_from_the_schedule_to_the_queue_in_one_step(
    two_workers: tuple[Jobs, Jobs, list[float]], gerrit: FakeGerrit
) -> None:
    """huey reads due tasks out of the schedule, then queues them: two commits, a kill -9
    between them lost the tasks.  The storage moves them in one transaction instead."""
    jobs = two_workers[0]
    gerrit.outage = requests.ConnectionError("refused")
    jobs.submit(NOVA42)
    drain(jobs, later=False)
    assert jobs.huey.scheduled_count() == 1 and jobs.huey.pending_count() == 0
    assert jobs.huey.read_schedule() == []  # not due yet
    assert jobs.huey.scheduled_count() == 1
    assert jobs.huey.read_schedule(LATER) == []  # due: nothing for huey's scheduler to queue
    assert jobs.huey.scheduled_count() == 0 and jobs.huey.pending_count() == 1


def test_a_job_whose_lease_the_queue_fails_to_take_is_retried_not_dropped(
    jobs: Jobs, gerrit: FakeGerrit, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(key: str, value: object) -> None:
        monkeypatch.undo()
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(jobs.leases, "add", locked)
    jobs.submit(NOVA42)
    drain(jobs, later=False)
    assert evaluations(gerrit) == 0 and jobs.huey.scheduled_count() == 1  # its retry
    assert not jobs.submit(NOVA42)  # still pending: events coalesce into the retry
    drain(jobs)
    assert len(gerrit.reviews()) == 1 and jobs.depth() == 0


def test_a_lease_the_queue_fails_to_release_is_released_later(
    jobs: Jobs, gerrit: FakeGerrit, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(key: str, raw: bytes) -> bool:
        monkeypatch.undo()
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(jobs.leases, "delete_if", locked)
    jobs.submit(NOVA42)
    drain(jobs)
    assert len(gerrit.reviews()) == 1 and len(list(jobs.leases.items())) == 1
    jobs.beat()
    jobs.recover()  # the worker's housekeeping, a few seconds later
    assert list(jobs.leases.items()) == []
    gerrit.add_change(change_info(42, HYPERV, {"bob": 1}, owner="uma"))
    jobs.submit(NOVA42)
    drain(jobs)
    assert evaluations(gerrit) == 2 and len(gerrit.reviews()) == 2


def test_a_lease_of_a_stopped_worker_is_taken_over(
    jobs: Jobs, gerrit: FakeGerrit, tmp_path: Path
) -> None:
    killed = queued_jobs(gerrit, tmp_path / "queue.db")
    killed._acquire(NOVA42)  # never beat: as good as dead
    jobs.submit(NOVA42)
    drain(jobs)
    assert len(gerrit.reviews()) == 1


def test_a_pending_marker_whose_job_was_lost_is_replaced(jobs: Jobs, gerrit: FakeGerrit) -> None:
    now = [1000.0]
    jobs.clock = lambda: now[0]
    jobs.pending.put(NOVA42.key, {"due": now[0]})  # its job vanished with a crash
    assert not jobs.submit(NOVA42)
    now[0] += 601
    assert jobs.submit(NOVA42)
    drain(jobs)
    assert len(gerrit.reviews()) == 1


def test_a_branch_job_fans_out_to_its_open_changes(
    jobs: Jobs, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    gerrit.add_change(change_info(43, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.add_change(change_info(44, HYPERV, {"bob": 2}, owner="uma", branch="stable"))
    gerrit.set_branch("nova", "master", "b" * 40, nova_config + b"\n# changed\n")
    jobs.submit(Job(BRANCH, "nova", ref="refs/heads/master", old="a" * 40, new="b" * 40))
    assert drain(jobs) == 1  # judged in bulk: no job per change
    assert sorted(r["message"] is not None for r in gerrit.reviews()) == [True, True]


def test_a_fan_out_reads_its_changes_in_pages_and_the_branch_once(
    jobs: Jobs, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    for number in range(43, 43 + 59):
        gerrit.add_change(change_info(number, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.set_branch("nova", "master", "b" * 40, nova_config + b"\n# changed\n")
    gerrit.log.clear()
    jobs.submit(Job(BRANCH, "nova", ref="refs/heads/master", old="a" * 40, new="b" * 40))
    drain(jobs)
    gets = [path for method, path in gerrit.log if method == "GET"]
    posts = [path for method, path in gerrit.log if method == "POST"]
    assert len(posts) == 60  # each verdict moved: one review each
    # both trees compared, one query, the branch head, its parent on the branch: nothing per change
    assert gets.count("changes/") == 1
    assert gets.count("projects/nova/branches/master") == 1
    assert len(gets) == 5
    assert len(gets) / 60 <= 1.2
    assert list(jobs.leases.items()) == []
    # every verdict recorded its inputs: an unchanged sweep finds nothing to do
    assert all(jobs.recorded_inputs(f"change:nova~{n}") for n in range(42, 43 + 59))


def test_a_fan_out_votes_on_changes_indexed_before_the_label_existed(
    jobs: Jobs, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    # `owners gerrit-setup` on a project with open changes: Gerrit's queries show them
    # without the new label until each is reindexed; a change read alone has it.
    for number in (43, 44):
        gerrit.add_change(change_info(number, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.unindexed_labels = {"Owner-Approval"}
    gerrit.set_branch("nova", "master", "b" * 40, nova_config + b"\n# changed\n")
    jobs.submit(Job(BRANCH, "nova", ref="refs/heads/master", old="a" * 40, new="b" * 40))
    drain(jobs)
    labels = {n: gerrit.changes[n]["labels"]["Owner-Approval"]["all"] for n in (43, 44)}
    assert {n: [v["value"] for v in votes] for n, votes in labels.items()} == {43: [1], 44: [1]}


def test_a_fan_out_leaves_a_change_another_worker_judges_to_its_own_job(
    jobs: Jobs, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    gerrit.add_change(change_info(43, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.set_branch("nova", "master", "b" * 40, nova_config + b"\n# changed\n")
    jobs.workers.put("other-worker", jobs.clock())
    busy = Job(CHANGE, "nova", 43)
    jobs.leases.put(busy.key, {"worker": "other-worker", "at": jobs.clock()})
    gerrit.log.clear()
    jobs.submit(Job(BRANCH, "nova", ref="refs/heads/master", old="a" * 40, new="b" * 40))
    jobs.huey.execute(jobs.huey.dequeue())
    # 42 judged in bulk; 43 is not judged twice at once: it waits in a job of its own
    posted = [path.split("/")[1] for method, path in gerrit.log if method == "POST"]
    assert posted == ["nova~42"]
    assert jobs.pending.get(busy.key) is not None
    jobs.leases.delete(busy.key)  # the other worker is done
    drain(jobs)
    assert evaluations(gerrit, 43) == 1  # read afresh by its own job, then judged
    assert len(gerrit.reviews()) == 2


def test_a_fan_out_never_posts_over_a_verdict_newer_than_its_read(
    jobs: Jobs, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    """A change judged after the fan-out read it may have had its votes changed since: the
    fan-out's snapshot is older than that verdict, so the change is read again, alone."""
    gerrit.add_change(change_info(43, HYPERV, {"bob": 2}, owner="uma"))
    gerrit.set_branch("nova", "master", "b" * 40, nova_config + b"\n# changed\n")
    jobs.inputs.put("change:nova~43", {"inputs": "x", "at": jobs.clock()})  # judged just now
    gerrit.log.clear()
    jobs.submit(Job(BRANCH, "nova", ref="refs/heads/master", old="a" * 40, new="b" * 40))
    drain(jobs)
    assert evaluations(gerrit, 42) == 0 and evaluations(gerrit, 43) == 1
    assert len(gerrit.reviews()) == 2


def test_a_fan_out_whose_post_fails_leaves_the_change_to_a_retried_job(
    jobs: Jobs, gerrit: FakeGerrit, nova_config: bytes
) -> None:
    gerrit.set_branch("nova", "master", "b" * 40, nova_config + b"\n# changed\n")
    real_post = gerrit.post
    failures = [HTTPStatus(503)]

    def post_once_failing(path: str, json: object = None, **kw: object) -> object:
        if failures:
            raise failures.pop()
        return real_post(path, json, **kw)

    gerrit.post = post_once_failing  # type: ignore[method-assign]
    jobs.submit(Job(BRANCH, "nova", ref="refs/heads/master", old="a" * 40, new="b" * 40))
    drain(jobs)
    assert evaluations(gerrit, 42) == 1  # judged again alone, after the failed post
    assert len(gerrit.reviews()) == 1
    assert jobs.dead_letters() == []


def test_a_job_that_crashes_the_code_is_a_dead_letter_not_a_loop(jobs: Jobs) -> None:
    def broken(project: str, number: int) -> object:
        raise KeyError("surprise")

    jobs.service.process_change = broken  # type: ignore[method-assign]
    jobs.submit(NOVA42)
    drain(jobs)
    assert [letter["error"] for letter in jobs.dead_letters()] == ["KeyError: 'surprise'"]
    assert list(jobs.leases.items()) == []
