"""Durable jobs: what the web process hands over, and how a worker runs it.

The web process validates an event and `submit`s a `Job` naming a change (or a change and those
built on it, a branch, a project, a group or an account, which fan out into change jobs);
workers, in this process or in others, run it with `OwnersService`. The queue is huey's: a
SQLite file by default, or Redis so that processes on several machines share the work
(`OWNERS_QUEUE`). On huey's key-value store this module keeps what a queue alone does not give:

* a *pending* marker per job, set with put-if-empty before enqueueing and cleared when a worker
  starts the job: a burst of events on one change is one job, and an event arriving during an
  evaluation queues exactly one follow-up;
* a *lease* per change while a worker evaluates it, so that two workers never evaluate one
  change at once (the older evaluation posting last would leave a stale vote).  A lease names
  its worker; every worker process writes a heartbeat, and the lease of a worker that stopped
  beating (killed, machine gone) is taken back;
* a *held* record of every task a worker has taken from the queue, written in the same
  transaction (or Redis command) that takes it, and deleted once huey is done with it (run,
  or put back on the schedule for a retry); due retries move from the schedule to the queue
  in one step too.  The tasks held by a worker that stopped beating are queued again, so that
  a `kill -9` loses no job whatever it interrupts: a job waiting for another evaluation's
  lease, or taken but not yet leased, has no lease of its own to be recovered by;
* retries with exponential backoff and jitter while Gerrit is unreachable, failing or answering
  garbage, and a *dead-letter* list for jobs that keep failing (`owners dead-letters`);
* the record of each change's inputs at its last verdict (`webhook.inputs`), whatever asked
  for it, so that the reconciler's sweep (`webhook.reconcile`) skips what did not change;
* the *fan-out* of a ref update or a project's config change: the open changes it may
  re-decide are read in bulk (one query per 500, the branch's OWNERS.yaml once) and judged
  under each change's lease, rather than queued and read one by one.

Every value in the store is JSON, huey's task messages included (`JsonSerializer`): nothing
read back from a shared Redis is unpickled.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import quote

from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Huey
from huey.constants import EmptyData
from huey.exceptions import RetryTask
from huey.registry import Message
from huey.serializer import Serializer
from huey.storage import BaseStorage, MemoryStorage, RedisStorage, SqliteStorage

from owners.gerrit.changes import open_changes_query
from owners.gerrit.compiled import Entries, RedisEntries, SharedMaps, folder_entries
from owners.gerrit.events import (
    MOVES_DEPENDENTS,
    AccountChanged,
    ChangeEvent,
    Event,
    GroupChanged,
    RefUpdated,
)
from owners.gerrit.model import BranchConfig, ChangeSnapshot, GerritError
from webhook.groups import affected_changes
from webhook.metrics import Metrics
from webhook.service import BranchConfigs, OwnersService, Result
from webhook.settings import MEMORY_QUEUE, ServiceSettings

log = logging.getLogger(__name__)

CHANGE, BRANCH, PROJECT = "change", "branch", "project"
GROUP = "group"  # a Gerrit group changed: re-evaluate the open changes whose owners name it
ACCOUNT = "account"  # an account changed (deactivated?): re-evaluate the changes it reviews
STACK = "stack"  # a change moved: re-evaluate it and the open changes built on it
QUEUE_NAME = "owners"

HEARTBEAT_SECONDS = 3.0  # how often a worker process says it is alive
DEAD_AFTER_SECONDS = 15.0  # silent for this long: its leases are taken back
BUSY_WAIT_SECONDS = 2.0  # a change another worker is evaluating: wait this long for it
BUSY_RETRY_SECONDS = 1.0  # then give the thread back and look again after this
STALE_PENDING_SECONDS = 600.0  # a pending marker this much past due lost its job: re-enqueue
BACKOFF_BASE_SECONDS = 1.0
# Gerrit reports a group or account change (its All-Users ref moved) before it evicts that
# group or account from its caches, so what the bot reads at once can still be the old state
# (a removed member still counted): each such change is fanned out again this much later.
CACHE_SETTLE_SECONDS = 2.0
# How far the clocks of two workers may disagree: a fan-out does not post for a change judged
# less than this before it read the change, since that verdict may rest on newer votes.
CLOCK_SKEW_SECONDS = 2.0


@dataclass(frozen=True)
class Job:
    """Something to re-evaluate: one change; a change and the open changes built on any of
    its patch sets (STACK); the open changes of a branch whose OWNERS.yaml may have changed
    (`ref`, `old`, `new`); every open change of a project; those a group or an account
    change may re-decide."""

    kind: str
    project: str
    number: int = 0
    ref: str = ""
    old: str = ""
    new: str = ""
    inputs: str = ""  # unused: each verdict records its own inputs; read from older queues
    refresh: bool = False  # read group members afresh (the reconciler saw them change)
    group: str = ""  # the UUID of a changed group (GROUP jobs)
    account: int = 0  # the ID of a changed account (ACCOUNT jobs)
    again: bool = False  # the second fan-out of a group or account change (CACHE_SETTLE_SECONDS)

    @property
    def key(self) -> str:
        """Identity for coalescing: equal keys are the same work."""
        project = quote(self.project, safe="")
        if self.kind == CHANGE:
            return f"change:{project}~{self.number}"
        if self.kind == STACK:
            return f"stack:{project}~{self.number}"
        if self.kind == BRANCH:
            return f"branch:{project}:{quote(self.ref, safe='')}:{self.old}:{self.new}"
        if self.kind == GROUP:
            return f"group:{quote(self.group, safe='')}"
        if self.kind == ACCOUNT:
            return f"account:{self.account}"
        return f"project:{project}"

    def __str__(self) -> str:
        if self.kind == CHANGE:
            return f"{self.project}~{self.number}"
        if self.kind == STACK:
            return f"{self.project}~{self.number} and the changes built on it"
        if self.kind == BRANCH:
            return f"{self.project} {self.ref} {self.old[:8]}..{self.new[:8]}"
        if self.kind == GROUP:
            return f"group {self.group}"
        if self.kind == ACCOUNT:
            return f"account {self.account}"
        return f"project {self.project}"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", 0, False)}

    @classmethod
    def from_dict(cls, data: Any) -> Job:
        """The job a stored dict describes; ValueError for anything else."""
        if not isinstance(data, dict):
            raise ValueError("a job is a JSON object")
        fields = {
            "kind": str,
            "project": str,
            "number": int,
            "ref": str,
            "old": str,
            "new": str,
            "inputs": str,
            "refresh": bool,
            "group": str,
            "account": int,
            "again": bool,
        }
        for name, value in data.items():
            if name not in fields or type(value) is not fields[name]:
                raise ValueError(f"job field {name!r} is not a {fields.get(name, 'field')}")
        job = cls(**data)
        if job.kind not in (CHANGE, STACK, BRANCH, PROJECT, GROUP, ACCOUNT) or not job.project:
            raise ValueError("a job needs a kind and a project")
        if job.kind == GROUP and not job.group:
            raise ValueError("a group job needs a group UUID")
        if job.kind == ACCOUNT and job.account <= 0:
            raise ValueError("an account job needs an account ID")
        if job.kind in (CHANGE, STACK) and job.number <= 0:
            raise ValueError("a change job needs a change number")
        return job

    @property
    def fields(self) -> dict[str, Any]:
        """Context for structured log lines."""
        found: dict[str, Any] = {"job": self.kind, "project": self.project}
        if self.kind in (CHANGE, STACK):
            found["change"] = self.number
        if self.kind == GROUP:
            found["group"] = self.group
        if self.kind == ACCOUNT:
            found["account"] = self.account
        return found


def job_for(event: Event) -> Job | None:
    """The job an event asks for; None when it needs none (a deleted branch, a tag...)."""
    if isinstance(event, ChangeEvent):
        kind = STACK if event.type in MOVES_DEPENDENTS else CHANGE
        return Job(kind, event.project, event.change_number)
    if isinstance(event, GroupChanged):
        return Job(GROUP, event.project, group=event.group_uuid)
    if isinstance(event, AccountChanged):
        return Job(ACCOUNT, event.project, account=event.account_id)
    assert isinstance(event, RefUpdated)
    if event.ref == "refs/meta/config":
        return Job(PROJECT, event.project)
    if event.branch is None or event.deleted:
        return None
    return Job(BRANCH, event.project, ref=event.ref, old=event.old_rev, new=event.new_rev)


def backoff(attempt: int, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry number `attempt + 1`: doubling from one second up to `cap`, with
    the upper half jittered so that jobs failing together do not retry together."""
    delay = min(cap, BACKOFF_BASE_SECONDS * 2.0 ** min(attempt, 30))
    return delay / 2 + rand() * delay / 2


# -- storage ---------------------------------------------------------------------------------


class JsonSerializer(Serializer):
    """huey's messages as JSON instead of pickle (datetimes as tagged ISO strings)."""

    def _serialize(self, data: Any) -> bytes:
        wrapped = {"message": data._asdict()} if isinstance(data, Message) else {"value": data}
        return json.dumps(wrapped, default=_encode_datetime, separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        decoded = json.loads(data, object_hook=_decode_datetime)
        if "message" in decoded:
            fields = decoded["message"]
            fields["args"] = tuple(fields.get("args") or ())
            return Message(**fields)
        return decoded["value"]


def _encode_datetime(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _decode_datetime(value: dict[str, Any]) -> Any:
    if set(value) == {"$datetime"}:
        return datetime.datetime.fromisoformat(value["$datetime"])
    return value


_REDIS_DELETE_IF = """\
if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
    return redis.call('hdel', KEYS[1], ARGV[1])
end
return 0"""


class Store:
    """One namespace of the backend's key-value store, holding JSON values."""

    def __init__(self, storage: BaseStorage):
        self.storage = storage
        self._lock = threading.Lock()  # compare-and-delete on the in-memory storage
        if isinstance(storage, RedisStorage):
            self._redis_delete_if = storage.conn.register_script(_REDIS_DELETE_IF)

    @staticmethod
    def encode(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

    def get(self, key: str) -> Any:
        raw = self.get_raw(key)
        return None if raw is None else json.loads(raw)

    def get_raw(self, key: str) -> bytes | None:
        raw = self.storage.peek_data(key)
        return None if raw is EmptyData else bytes(raw)

    def put(self, key: str, value: Any) -> None:
        self.storage.put_data(key, self.encode(value))

    def add(self, key: str, value: Any) -> bytes | None:
        """Store `value` only if `key` holds nothing; the stored bytes, or None."""
        raw = self.encode(value)
        return raw if self.storage.put_if_empty(key, raw) else None

    def delete(self, key: str) -> None:
        self.storage.delete_data(key)

    def delete_if(self, key: str, raw: bytes) -> bool:
        """Delete `key` only while it still holds `raw` (what a lease-taker read)."""
        storage = self.storage
        if isinstance(storage, SqliteStorage):
            with storage.db(commit=True) as cursor:
                cursor.execute(
                    "delete from kv where queue = ? and key = ? and value = ?",
                    (storage.name, key, raw),
                )
                return cursor.rowcount == 1
        if isinstance(storage, RedisStorage):
            return bool(self._redis_delete_if(keys=[storage.result_key], args=[key, raw]))
        with self._lock:
            if self.get_raw(key) != raw:
                return False
            self.delete(key)
            return True

    def items(self) -> Iterator[tuple[str, bytes]]:
        for key, raw in self.storage.result_items().items():
            yield key, bytes(raw)

    def count(self) -> int:
        return int(self.storage.result_store_size())


class Doorbell:
    """Wakes this process's idle workers the moment a job is queued in this process.

    A counter under a condition: a worker reads it before finding the queue empty and
    waits only while it is unchanged, so a job queued between the two is never slept on.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.rings = 0

    def ring(self) -> None:
        with self._condition:
            self.rings += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Return once rung after `seen` was read, or after `timeout` seconds."""
        with self._condition:
            self._condition.wait_for(lambda: self.rings != seen, timeout)


class WalStorage(SqliteStorage):
    """huey's SQLite storage (write-ahead log) with `synchronous=NORMAL`, a blocking dequeue
    and held tasks.

    An idle worker used to poll the queue every 10 to 100 ms, and that wait was most of the
    bot's latency beyond Gerrit's own REST time.  Now a job queued in this process (`owners
    serve`: the web part and the workers share it) rings a `Doorbell` that the waiting
    workers' dequeue returns on at once; a job queued by another process (gunicorn beside
    `owners worker`) is found by the next look, at most `POLL_SECONDS` later.  (On Redis,
    huey's dequeue is already a blocking pop.)

    A commit is then written to the log but not fsynced; the log is synced at checkpoints.
    A job survives the crash or `kill -9` of any process (the OS holds the written pages), and
    the database stays consistent whatever happens; what a power cut or kernel crash can
    lose is the last commits before it, events that Gerrit's webhooks plugin then does not
    re-send.  The reconciler's sweep re-evaluates such changes.  In exchange an enqueue costs
    no fsync, which is most of its time on a disk that honours them.

    A task leaves the queue only into a *held* row naming its worker (`holder`), in one
    transaction; `release` deletes the row once huey is done with the task.  A due task leaves
    the schedule only into the queue, in one transaction too (huey would read it out, then
    queue it: two commits, with a `kill -9` between them losing it).
    """

    blocking = True  # dequeue waits itself: huey's worker loops on without sleeping
    POLL_SECONDS = 0.1
    HELD = f"{QUEUE_NAME}.held"  # kv rows "<worker> <token>" -> a task that worker holds

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.doorbell = Doorbell()
        self.holder = ""  # the worker whose tasks this storage takes (`Jobs` sets it)
        self._hand = threading.local()  # the held row of the task this thread runs

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        super().enqueue(data, priority)
        self.doorbell.ring()

    def dequeue(self) -> bytes | None:
        seen = self.doorbell.rings
        task = self._take()
        if task is None:
            self.doorbell.wait(seen, self.POLL_SECONDS)
        return task

    def _take(self) -> bytes | None:
        """The next task, moved from the queue into a row held by this worker."""
        if not self.sql("select 1 from task where queue = ? limit 1", (self.name,), results=True):
            return None  # a quick look without the write lock
        with self.db(commit=True) as cursor:
            cursor.execute(
                "select id, data from task where queue = ? order by priority desc, id limit 1",
                (self.name,),
            )
            found = cursor.fetchone()
            if found is None:
                return None
            tid, data = found
            cursor.execute("delete from task where id = ?", (tid,))
            if self.holder:
                key = f"{self.holder} {secrets.token_hex(8)}"
                cursor.execute(
                    "insert into kv (queue, key, value) values (?, ?, ?)", (self.HELD, key, data)
                )
                self._hand.key = key
            return bytes(data)

    def release(self) -> None:
        """This thread is done with the task it took: drop its held row."""
        key = getattr(self._hand, "key", None)
        if key is not None:
            self.sql("delete from kv where queue = ? and key = ?", (self.HELD, key), commit=True)
            self._hand.key = None

    def held_count(self) -> int:
        """Tasks taken by a worker and not yet released, in every process."""
        rows = self.sql("select count(*) from kv where queue = ?", (self.HELD,), results=True)
        return int(rows[0][0])

    def give_back(self, stopped: Callable[[str], bool]) -> list[tuple[str, bytes]]:
        """Queue again the tasks held by the workers `stopped` says are gone: (worker, task)."""
        rows = self.sql("select key from kv where queue = ?", (self.HELD,), results=True)
        returned = []
        for (key,) in rows:
            worker = key.rsplit(" ", 1)[0]
            if not stopped(worker):
                continue
            with self.db(commit=True) as cursor:
                cursor.execute("select value from kv where queue = ? and key = ?", (self.HELD, key))
                found = cursor.fetchone()
                if found is None:
                    continue  # another worker gave it back first
                cursor.execute("delete from kv where queue = ? and key = ?", (self.HELD, key))
                cursor.execute(
                    "insert into task (queue, data, priority) values (?, ?, 0)",
                    (self.name, found[0]),
                )
                returned.append((worker, bytes(found[0])))
        if returned:
            self.doorbell.ring()
        return returned

    def read_schedule(self, ts: datetime.datetime) -> list[bytes]:
        """Move the tasks due by `ts` from the schedule into the queue, in one transaction;
        nothing is left for huey's scheduler to queue."""
        with self.db(commit=True) as cursor:
            due = (self.name, ts.timestamp())
            cursor.execute(
                "insert into task (queue, data, priority) select queue, data, 0 from schedule"
                " where queue = ? and timestamp <= ? order by timestamp, id",
                due,
            )
            moved = cursor.rowcount
            cursor.execute("delete from schedule where queue = ? and timestamp <= ?", due)
        if moved:
            self.doorbell.ring()
        return []


_REDIS_MOVE_DUE = """\
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1])
for _, task in ipairs(due) do
    redis.call('lpush', KEYS[2], task)
    redis.call('zrem', KEYS[1], task)
end
return #due"""


class HeldRedisStorage(RedisStorage):
    """huey's Redis storage with held tasks, as `WalStorage`: a task leaves the queue only into
    a list of its worker's (`BLMOVE`), and a due task leaves the schedule only into the queue
    (one script)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.holder = ""  # the worker whose tasks this storage takes (`Jobs` sets it)
        self._hand = threading.local()  # the task this thread runs
        self._held_prefix = f"huey.held.{self.name}:"
        self._move_due = self.conn.register_script(_REDIS_MOVE_DUE)

    def dequeue(self) -> bytes | None:
        if not self.holder:
            return super().dequeue()  # type: ignore[no-any-return]
        held = self._held_prefix + self.holder
        try:
            data = self.conn.blmove(self.queue_key, held, self.read_timeout, "RIGHT", "LEFT")
        except TimeoutError:  # as huey's: empty; a ConnectionError propagates for backoff
            return None
        if data is not None:
            self._hand.task = (held, data)
        return data  # type: ignore[no-any-return]

    def release(self) -> None:
        """This thread is done with the task it took: drop it from the worker's list."""
        task = getattr(self._hand, "task", None)
        if task is not None:
            self.conn.lrem(task[0], 1, task[1])
            self._hand.task = None

    def held_count(self) -> int:
        """Tasks taken by a worker and not yet released, in every process."""
        held = self.conn.scan_iter(match=self._held_prefix + "*")
        return sum(self.conn.llen(key) for key in held)

    def give_back(self, stopped: Callable[[str], bool]) -> list[tuple[str, bytes]]:
        """Queue again the tasks held by the workers `stopped` says are gone: (worker, task)."""
        returned = []
        for key in self.conn.scan_iter(match=self._held_prefix + "*"):
            worker = key.decode()[len(self._held_prefix) :]
            if not stopped(worker):
                continue
            while (data := self.conn.lmove(key, self.queue_key, "RIGHT", "RIGHT")) is not None:
                returned.append((worker, bytes(data)))
        return returned

    def read_schedule(self, ts: datetime.datetime) -> list[bytes]:
        """Move the tasks due by `ts` from the schedule into the queue in one script; nothing
        is left for huey's scheduler to queue."""
        self._move_due(keys=[self.schedule_key, self.queue_key], args=[self.convert_ts(ts)])
        return []


HOLDING = (WalStorage, HeldRedisStorage)  # storages that hold the tasks their workers took


class _Releasing(Huey):
    def execute(self, task: Any, timestamp: datetime.datetime | None = None) -> Any:
        """Run a task, then let go of it: whatever huey still owes it (a retry on the
        schedule) is written by now.  A task whose run raised stays held, to be queued again
        once this worker stops."""
        result = super().execute(task, timestamp)
        self.storage.release()
        return result


class WalHuey(_Releasing, SqliteHuey):
    storage_class = WalStorage


class HeldRedisHuey(_Releasing, RedisHuey):
    storage_class = HeldRedisStorage


def _open(settings: ServiceSettings) -> Huey:
    options: dict[str, Any] = {"results": False, "serializer": JsonSerializer(), "utc": True}
    if settings.queue == MEMORY_QUEUE:
        return MemoryHuey(QUEUE_NAME, immediate=True, **options)
    if settings.uses_redis:
        return HeldRedisHuey(QUEUE_NAME, url=settings.queue, **options)
    return WalHuey(QUEUE_NAME, filename=settings.queue, **options)


def _namespace(huey: Huey, name: str) -> Store:
    """Another namespace next to the queue's, in the same backend."""
    storage = huey.storage
    if isinstance(storage, RedisStorage):
        return Store(RedisStorage(f"{QUEUE_NAME}_{name}", connection_pool=storage.pool))
    if isinstance(storage, SqliteStorage):
        return Store(type(storage)(f"{QUEUE_NAME}.{name}", filename=storage.filename))
    return Store(MemoryStorage(f"{QUEUE_NAME}.{name}"))


def _map_entries(huey: Huey) -> Entries | None:
    """Where compiled OWNERS.yaml maps are shared: beside the queue, in the same backend."""
    storage = huey.storage
    if isinstance(storage, RedisStorage):
        return RedisEntries(storage.conn, f"{QUEUE_NAME}_compiled:")
    if isinstance(storage, SqliteStorage):
        return folder_entries(storage.filename)
    return None


# -- the jobs --------------------------------------------------------------------------------


class Jobs:
    """The queue of one service: submit jobs, run them, and look after what went wrong."""

    def __init__(
        self,
        settings: ServiceSettings,
        service: OwnersService | None = None,
        metrics: Metrics | None = None,
        *,
        huey: Huey | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.metrics = metrics if metrics is not None else Metrics()
        self.service = service if service is not None else OwnersService(settings)
        self.service.gerrit.on_error = self.metrics.gerrit_error
        self.huey = huey if huey is not None else _open(settings)
        self.clock = clock
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        if isinstance(self.huey.storage, HOLDING):
            self.huey.storage.holder = self.worker_id
        self.pending = _namespace(self.huey, "pending")
        self.leases = _namespace(self.huey, "leases")
        self.workers = _namespace(self.huey, "workers")
        self.dead = _namespace(self.huey, "dead")
        self.inputs = _namespace(self.huey, "inputs")
        self.sweeps = _namespace(self.huey, "sweeps")
        # The generation of Gerrit's groups: a token replaced on every group change, so that
        # each process drops its cached members before its next evaluation (see _evaluate).
        self.groups = _namespace(self.huey, "groups")
        self._groups_seen: Any = None
        self._unreleased: dict[str, bytes] = {}  # leases the backend failed to delete
        self.service.maps = SharedMaps(_map_entries(self.huey), settings.map_cache)
        self.service.gerrit.projects.cache_size = settings.file_cache
        self.service.gerrit.bound(settings.gerrit_concurrency)
        self._task = self.huey.task(name="owners_job")(self._run)

    # -- the web side ---------------------------------------------------------------------

    def submit(self, job: Job) -> bool:
        """Queue `job` unless the same job already waits; True when it was queued."""
        now = self.clock()
        if self.pending.add(job.key, {"due": now}) is None:
            marker = self.pending.get(job.key)
            if marker is not None and _number(marker.get("due")) + STALE_PENDING_SECONDS > now:
                return False
            log.warning("re-queueing %s: its pending job was lost", job, extra=job.fields)
            self.pending.put(job.key, {"due": now})
        try:
            self._task(job.to_dict(), 0)
        except Exception:
            self.pending.delete(job.key)
            raise
        return True

    def depth(self) -> int:
        """Jobs waiting: queued now, or scheduled for a retry."""
        return int(self.huey.pending_count()) + int(self.huey.scheduled_count())

    def running(self) -> int:
        """Jobs a worker has taken and not finished: evaluating a change, fanning out, or
        waiting for another evaluation's lease.  0 where the queue does not hold them."""
        storage = self.huey.storage
        return storage.held_count() if isinstance(storage, HOLDING) else 0

    def writable(self) -> str | None:
        """None when the backend takes writes; otherwise why not, in one line."""
        try:
            self.workers.put(f"probe:{self.worker_id}", self.clock())
            self.workers.delete(f"probe:{self.worker_id}")
        except Exception as exc:
            return f"{type(exc).__name__}: {_one_line(exc)}"
        return None

    # -- dead letters ---------------------------------------------------------------------

    def dead_letters(self) -> list[dict[str, Any]]:
        """Jobs that failed for good, oldest first: {key, job, attempts, error, at}."""
        letters = []
        for key, raw in self.dead.items():
            letter = json.loads(raw)
            letters.append({"key": key, **letter})
        return sorted(letters, key=lambda letter: letter.get("at", 0))

    def replay(self, keys: set[str] | None = None) -> list[Job]:
        """Queue dead letters again (all, or those with the given keys), with fresh attempts."""
        replayed = []
        for letter in self.dead_letters():
            if keys is not None and letter["key"] not in keys:
                continue
            job = Job.from_dict(letter["job"])
            self.submit(job)
            self.dead.delete(letter["key"])
            replayed.append(job)
        return replayed

    # -- the worker side ------------------------------------------------------------------

    def _run(self, data: dict[str, Any], attempt: int = 0) -> None:
        """huey's task: run one job, retrying or dead-lettering it when it fails."""
        try:
            job = Job.from_dict(data)
        except ValueError as exc:
            log.error("dropped a job that is not one: %s", exc)
            return
        deadline = time.monotonic() + 60
        if job.kind == GROUP:
            self._run_group(job, attempt)
            return
        if job.kind == ACCOUNT:
            self._run_account(job, attempt)
            return
        if job.kind in (BRANCH, PROJECT):
            self._fan_out(job, attempt)
            return
        if job.kind == STACK:
            self.pending.delete(job.key)
            if attempt == 0:
                # the change itself first, whatever becomes of finding what is built on it
                self.submit(Job(CHANGE, job.project, job.number))
            try:
                for number in self.service.gerrit.changes.dependents(job.project, job.number):
                    self.submit(Job(CHANGE, job.project, number))
            except GerritError as exc:
                self._failed(job, attempt, exc)
            else:
                self.metrics.jobs.labels("done").inc()
            return
        # Wait for the other evaluation of this change, which takes milliseconds: a second
        # approval arriving during the first one's evaluation (now that a worker starts a job
        # the moment it is queued) would otherwise wait for huey's scheduler, a second or more.
        # Without workers to retry later (immediate mode) wait as long as it takes.
        try:
            lease = self._acquire(job)
            waited = time.monotonic() + BUSY_WAIT_SECONDS
            while lease is None and time.monotonic() < (
                deadline if self.huey.immediate else waited
            ):
                time.sleep(0.01)
                lease = self._acquire(job)
        except Exception as exc:  # the queue's backend failed: huey would drop the job
            log.warning("%s: no lease (%s); retry in %gs", job, exc, BUSY_RETRY_SECONDS)
            self.metrics.jobs.labels("retried").inc()
            raise RetryTask(delay=BUSY_RETRY_SECONDS) from exc
        if lease is None:
            # Another live worker evaluates this change now; its snapshot may predate the
            # event behind this job, so look again once it is done.  The pending marker
            # stays, so further events on the change coalesce into this job meanwhile.
            self.metrics.jobs.labels("busy").inc()
            raise RetryTask(delay=BUSY_RETRY_SECONDS)
        try:
            self.pending.delete(job.key)  # from now on, an event queues a follow-up
            self._evaluate(job)
        except GerritError as exc:
            self._failed(job, attempt, exc)
        except Exception as exc:  # a bug: show it among the dead letters, do not loop
            log.exception("job %s failed", job, extra=job.fields)
            self._bury(job, attempt, f"{type(exc).__name__}: {_one_line(exc)}")
        finally:
            self._release(job.key, lease)

    def _run_group(self, job: Job, attempt: int) -> None:
        """Fan a group change out into change jobs.  Cached members are dropped first, in
        every process, so that no evaluation from now on, whether queued here or caused by
        another event, counts a removed member's vote."""
        self.pending.delete(job.key)
        self.groups_changed()
        try:
            impact = affected_changes(self.service.gerrit, self.settings, job.group)
        except GerritError as exc:
            self._failed(job, attempt, exc)
            return
        for project, number in impact.changes:
            self.submit(Job(CHANGE, project, number))
        log.info("%s", impact, extra=job.fields)
        self._look_again(job)
        self.metrics.jobs.labels("done").inc()

    def _run_account(self, job: Job, attempt: int) -> None:
        """Fan an account change out into change jobs: one for each open change the account
        reviews, where a vote it cast may count (or, reactivated, count again)."""
        self.pending.delete(job.key)
        try:
            changes = self.service.gerrit.changes.changes_reviewed_by(job.account)
        except GerritError as exc:
            self._failed(job, attempt, exc)
            return
        for project, number in changes:
            self.submit(Job(CHANGE, project, number))
        log.info(
            "account %s changed: %s open change%s to re-evaluate",
            job.account,
            len(changes),
            "" if len(changes) == 1 else "s",
            extra=job.fields,
        )
        self._look_again(job)
        self.metrics.jobs.labels("done").inc()

    def _look_again(self, job: Job) -> None:
        """Run a group or account job once more, CACHE_SETTLE_SECONDS after its first fan-out:
        the evaluations it queued may have read Gerrit's caches before the change reached them.
        A group job forgets cached members again, so the settled members are what stays."""
        if not job.again:
            again = replace(job, again=True)
            self._task.schedule(args=(again.to_dict(), 0), delay=CACHE_SETTLE_SECONDS)

    def groups_changed(self) -> None:
        """Start a new generation of Gerrit's groups (see `_sync_groups`)."""
        self.groups.put("generation", secrets.token_hex(8))
        self._sync_groups()

    def _sync_groups(self) -> None:
        """Drop this process's cached group members when the generation moved: one read of
        the store per evaluation, against a stale vote counted for up to the cache's TTL."""
        generation = self.groups.get("generation")
        if generation != self._groups_seen:
            self.service.gerrit.accounts.forget_groups()
            self._groups_seen = generation

    def _fan_out(self, job: Job, attempt: int) -> None:
        """Re-judge the open changes a ref update (BRANCH) or a project's config (PROJECT)
        may have re-decided, in bulk: one query per 500 changes reads each with everything
        its verdict needs, each branch's OWNERS.yaml is read once, and the changes are judged
        by as many threads as Gerrit may get calls at once (`OWNERS_GERRIT_CONCURRENCY`, or
        `OWNERS_WORKERS` without a bound), each under the change's lease as a change job is.

        A change whose lease another worker holds, that was judged since the query read it
        (that verdict may rest on newer votes than this snapshot), or whose judging fails is
        queued as a change job instead: read afresh, retried, never lost."""
        self.pending.delete(job.key)
        self._sync_groups()
        read_from = self.clock()
        try:
            query = (
                open_changes_query(job.project)
                if job.kind == PROJECT
                else self.service.revisit_query(job.project, job.ref, job.old, job.new)
            )
            branches = BranchConfigs(self.service.gerrit)
            with ThreadPoolExecutor(self._fan_out_threads) as pool:
                for snapshot, info in self.service.gerrit.changes.snapshots(query) if query else ():
                    branch = branches.of(snapshot)
                    pool.submit(self._judge_read, snapshot, info, branch, read_from)
        except GerritError as exc:
            self._failed(job, attempt, exc)
        else:
            self.metrics.jobs.labels("done").inc()

    @property
    def _fan_out_threads(self) -> int:
        return max(1, self.settings.gerrit_concurrency or self.settings.workers)

    def _judge_read(
        self, snapshot: ChangeSnapshot, info: dict[str, Any], branch: BranchConfig, read_from: float
    ) -> None:
        """Judge a change a fan-out read, or queue it as a change job (see `_fan_out`)."""
        change = Job(CHANGE, snapshot.project, snapshot.number)
        try:
            lease = self._acquire(change)
        except Exception:  # the queue's backend failed: the change job retries
            lease = None
        judged = False
        if lease is not None:
            try:
                if self.judged_at(change.key) < read_from - CLOCK_SKEW_SECONDS:
                    started = time.monotonic()
                    result = self.service.process_snapshot(snapshot, info, branch)
                    self._record(change, result, time.monotonic() - started)
                    judged = True
            except Exception as exc:
                log.warning("%s: judged alone (%s)", change, _one_line(exc), extra=change.fields)
            finally:
                self._release(change.key, lease)
        if not judged:
            self.submit(change)

    def _evaluate(self, job: Job) -> Result:
        self._sync_groups()
        if job.refresh:
            self.service.gerrit.accounts.forget_groups()
        started = time.monotonic()
        result = self.service.process_change(job.project, job.number)
        self._record(job, result, time.monotonic() - started)
        return result

    def _record(self, job: Job, result: Result, seconds: float) -> None:
        """Count a verdict, and record the inputs it was judged from and when."""
        self.metrics.evaluation.observe(seconds)
        if result.voted is not None:
            self.metrics.votes.labels(f"{result.voted:+d}" if result.voted else "0").inc()
        if result.commented:
            self.metrics.comments.inc()
        if result.overridden:
            self.metrics.overrides.inc()
        if result.inputs:
            self.inputs.put(job.key, {"inputs": result.inputs, "at": self.clock()})
        self.metrics.jobs.labels("done").inc()

    def recorded_inputs(self, key: str) -> str | None:
        """The inputs of the last verdict on a change (`Job.key`), if recorded."""
        record = self.inputs.get(key)
        return record.get("inputs") if isinstance(record, dict) else None

    def judged_at(self, key: str) -> float:
        """When the last verdict on a change (`Job.key`) was recorded; 0 if never."""
        record = self.inputs.get(key)
        return _number(record.get("at")) if isinstance(record, dict) else 0.0

    def _failed(self, job: Job, attempt: int, exc: GerritError) -> None:
        fields = {**job.fields, "attempt": attempt + 1}
        if job.kind == CHANGE and exc.status in (403, 404):
            # The change exists (an event named it) but is hidden from the bot: private, or
            # in a project it may not read.  It gets no verdict, so it cannot be submitted.
            self.metrics.unreadable.inc()
            log.error(
                "%s: %s may not read this change (%s); it gets no verdict until the bot may "
                "see it: run `owners gerrit-setup` (View Private Changes) or grant Read",
                job,
                self.settings.user,
                exc,
                extra=fields,
            )
        if not exc.retriable or attempt + 1 >= self.settings.job_attempts:
            self._bury(job, attempt, str(exc))
            return
        delay = backoff(attempt, self.settings.retry_max_delay)
        if self.pending.add(job.key, {"due": self.clock() + delay}) is None:
            log.info("%s failed (%s); a queued job takes over", job, exc, extra=fields)
            self.metrics.jobs.labels("superseded").inc()
            return
        log.warning("%s failed (%s); retry in %.1fs", job, exc, delay, extra=fields)
        self.metrics.jobs.labels("retried").inc()
        self._task.schedule(args=(job.to_dict(), attempt + 1), delay=delay)

    def _bury(self, job: Job, attempt: int, error: str) -> None:
        """Record a job that failed for good; `owners dead-letters --replay` retries it."""
        letter = {"job": job.to_dict(), "attempts": attempt + 1, "error": error, "at": self.clock()}
        self.dead.put(job.key, letter)
        self.metrics.jobs.labels("dead").inc()
        log.error(
            "%s: dead letter after %d attempts: %s", job, attempt + 1, error, extra=job.fields
        )

    # -- leases and heartbeats ------------------------------------------------------------

    def _acquire(self, job: Job) -> bytes | None:
        """The lease on a change for this worker, or None while a live worker holds it."""
        lease = {"worker": self.worker_id, "at": self.clock(), "job": job.to_dict()}
        for _ in range(3):
            taken = self.leases.add(job.key, lease)
            if taken is not None:
                return taken
            held = self.leases.get_raw(job.key)
            if held is None:
                continue  # released in between
            owner = json.loads(held).get("worker")
            if self.alive(owner):
                return None
            if self.leases.delete_if(job.key, held):
                log.warning("took over %s from stopped worker %s", job, owner, extra=job.fields)
        return None

    def _release(self, key: str, lease: bytes) -> None:
        """Let go of a lease; if the backend fails now, `recover` lets go of it later (a live
        worker's lease would keep the change from ever being evaluated again)."""
        try:
            self.leases.delete_if(key, lease)
        except Exception as exc:
            log.warning("could not release the lease on %s (%s); retrying later", key, exc)
            self._unreleased[key] = lease

    def alive(self, worker: Any) -> bool:
        if worker == self.worker_id:
            return True
        beat = self.workers.get(str(worker))
        return beat is not None and self.clock() - _number(beat) < DEAD_AFTER_SECONDS

    def beat(self) -> None:
        """Tell the other workers this process is alive (a worker calls it every few seconds)."""
        self.workers.put(self.worker_id, self.clock())

    def recover(self) -> list[Job]:
        """Queue again the jobs of workers that stopped (kill -9, a machine lost) and free
        their leases.  A job may have posted nothing, or all it had to; a second evaluation
        posts only what is missing.

        Every task a worker took from the queue is held in its name until huey is done with
        it (`WalStorage`, `HeldRedisStorage`): it goes back to the queue as it was, whether its
        job was evaluating, waiting for a lease or not yet leased.  A lease whose job did not
        come back that way (a backend without held tasks, a worker of an older version) has
        its job queued again instead."""
        for key, lease in list(self._unreleased.items()):
            del self._unreleased[key]
            self._release(key, lease)
        recovered = []
        storage = self.huey.storage
        if isinstance(storage, HOLDING):
            for worker, raw in storage.give_back(lambda worker: not self.alive(worker)):
                job = self._job_of(raw)
                if job is not None:
                    self._log_recovered(job, worker)
                    recovered.append(job)
        for key, held in list(self.leases.items()):
            lease = json.loads(held)
            if self.alive(lease.get("worker")) or not self.leases.delete_if(key, held):
                continue
            try:
                job = Job.from_dict(lease.get("job"))
            except ValueError:
                continue
            if job in recovered:
                continue
            self.pending.delete(job.key)  # its marker, if any, belonged to the lost run
            self.submit(job)
            self._log_recovered(job, lease.get("worker"))
            recovered.append(job)
        now = self.clock()
        for worker, raw in list(self.workers.items()):
            if now - _number(json.loads(raw)) > 24 * 3600:
                self.workers.delete(worker)  # long gone
        return recovered

    def _job_of(self, raw: bytes) -> Job | None:
        """The job a stored task runs, if it names one."""
        try:
            return Job.from_dict(self.huey.serializer.deserialize(raw).args[0])
        except (ValueError, TypeError, AttributeError, IndexError, KeyError):
            return None

    def _log_recovered(self, job: Job, worker: Any) -> None:
        self.metrics.jobs.labels("recovered").inc()
        log.warning("recovered %s from stopped worker %s", job, worker, extra=job.fields)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
