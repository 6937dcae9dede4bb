"""What the fault tests share: projects on a real Gerrit, the service as real processes, the
webhook deliveries a test sends itself, and the figures each test reports.

A project here has a two-level OWNERS.yaml: carol owns everything, the Gerrit group
`Hyper-V Core` (bob) owns `nova/virt/hyperv/`.  Its changes each touch one Hyper-V file, so
bob's Code-Review +2 makes one APPROVED (+1) and anyone else's vote leaves it PENDING (0).
Everything listens on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import devgerrit
import novademo
import requests
from prometheus_client.parser import text_string_to_metric_families

from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import CHANGE_EVENTS
from owners.gerrit.model import BOT_TAG
from owners.gerrit.settings import Settings
from owners.gerrit.setup import configure_project
from tests.webhook.conftest import hyperv_map
from webhook.report import find_fingerprint

REPO = Path(__file__).resolve().parents[2]
BOT = "owners-bot"
PASSWORD = "pw-" + secrets.token_hex(8)
PEOPLE = ("bob", "carol", "victor", "zed")
GROUP = "Hyper-V Core"
OWNERS_YAML = hyperv_map(f"gerrit:{GROUP}").decode()
FIGURES: dict[str, dict[str, Any]] = {}  # test name -> its figures, printed at the end


def provision_accounts(gerrit: devgerrit.GerritServer) -> None:
    admin = gerrit.rest
    for user in (*PEOPLE, BOT):
        admin.create_account(user, http_password=PASSWORD)
    admin.create_group(GROUP, ["bob"])
    admin.put(f"groups/{devgerrit.quote(GROUP)}/options", {"visible_to_all": True})
    admin.post(
        "projects/All-Projects/access",
        {
            "add": {
                "refs/heads/*": {
                    "permissions": {
                        "label-Code-Review": {
                            "rules": {
                                "global:Registered-Users": {"action": "ALLOW", "min": -2, "max": 2}
                            }
                        }
                    }
                }
            }
        },
    )


def rest(gerrit: devgerrit.GerritServer, user: str) -> devgerrit.GerritRest:
    return devgerrit.GerritRest(gerrit.url, (user, PASSWORD))


def wait(
    what: str,
    probe: Callable[[], Any],
    timeout: float,
    every: float = 0.5,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll `probe` until it is true; on timeout fail naming what is still wrong (`explain`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(every)


def queue_report(path: Path, now: float | None = None) -> str:
    """What a SQLite queue still holds, in lines: leases (and whose), pending markers, tasks
    held by workers, queued and scheduled tasks, and each worker's last heartbeat."""
    if not path.exists():
        return f"queue {path}: no file"
    now = time.time() if now is None else now
    with sqlite3.connect(path, timeout=10) as db:
        kv: dict[str, list[tuple[str, bytes]]] = {}
        for queue, key, value in db.execute("select queue, key, value from kv"):
            kv.setdefault(queue, []).append((key, bytes(value)))
        (queued,) = db.execute("select count(*) from task where queue = 'owners'").fetchone()
        scheduled = db.execute(
            "select data, timestamp from schedule where queue = 'owners'"
        ).fetchall()

    def job(message: bytes) -> str:
        try:
            job, attempt = json.loads(message)["message"]["args"]
            return f"{job['project']}~{job.get('number', job['kind'])} (attempt {attempt + 1})"
        except (ValueError, KeyError, TypeError):
            return "?"

    leases = [f"{k} by {json.loads(v).get('worker')}" for k, v in kv.get("owners.leases", [])]
    beats = [f"{k} {now - float(json.loads(v)):.1f}s ago" for k, v in kv.get("owners.workers", [])]
    due = [f"{job(d)} in {t - now:.1f}s" for d, t in scheduled]
    return "\n".join(
        [
            f"leases held: {', '.join(leases) or 'none'}",
            f"pending markers: {', '.join(k for k, _ in kv.get('owners.pending', [])) or 'none'}",
            "tasks held by workers: "
            + (
                ", ".join(f"{job(v)} by {k.split()[0]}" for k, v in kv.get("owners.held", []))
                or "none"
            ),
            f"tasks queued: {queued}; scheduled: {', '.join(due) or 'none'}",
            f"workers' last heartbeats: {', '.join(beats) or 'none'}",
        ]
    )


# -- the service as processes ------------------------------------------------------------------


@dataclass
class Process:
    """One `python -m owners.cli ...` process, its output in a log file."""

    args: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "owners.cli", *self.args],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        """SIGTERM: finish what is in hand, then exit (SIGKILL after 30 s)."""
        if self.alive:
            assert self.popen is not None
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)

    def kill9(self) -> None:
        if self.alive:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def wait_healthy(url: str, process: Process, timeout: float = 30) -> None:
    assert process.popen is not None
    if not novademo.wait_healthy(url, process.popen, timeout):
        raise AssertionError(f"{process.args[0]} did not answer {url}/healthz: see {process.log}")


# -- a project and its changes -------------------------------------------------------------------


@dataclass
class Project:
    gerrit: devgerrit.GerritServer
    name: str
    workdir: Path
    port: int = field(default_factory=devgerrit.free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    processes: list[Process] = field(default_factory=list)
    expected: dict[int, int] = field(default_factory=dict)  # change -> the bot's right vote
    info: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            **os.environ,
            "OWNERS_GERRIT_URL": self.gerrit.url,
            "OWNERS_GERRIT_USER": BOT,
            "OWNERS_GERRIT_PASSWORD": PASSWORD,
            "OWNERS_WEBHOOK_TOKEN": self.token,
            "OWNERS_PROJECTS": self.name,
            "OWNERS_ADD_REVIEWERS": "false",
            "OWNERS_QUEUE": str(self.workdir / "queue.db"),
            "OWNERS_RECONCILE_INTERVAL": "0",
            "OWNERS_RETRY_MAX_DELAY": "4",
            "OWNERS_JOB_ATTEMPTS": "40",
            "OWNERS_WORKERS": "4",
            **overrides,
        }

    def process(self, *args: str, name: str, **env: str) -> Process:
        process = Process(list(args), self.env(**env), self.workdir / f"{name}.log", self.workdir)
        self.processes.append(process)
        return process

    def serve(self, *extra: str, port: int | None = None, **env: str) -> Process:
        port = port or self.port
        process = self.process("serve", "--port", str(port), *extra, name=f"serve-{port}", **env)
        process.start()
        wait_healthy(f"http://127.0.0.1:{port}", process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    # -- Gerrit side ---------------------------------------------------------------------

    def create(self, configure: bool = True) -> Project:
        """The project with its OWNERS.yaml on master, and (`configure`) the owners label,
        submit requirement and webhook pointing at `url`."""
        admin = self.gerrit.rest
        admin.create_project(self.name)
        me = admin.get("accounts/self")
        seed = devgerrit.git_clone(
            self.gerrit.git_url(self.name), self.workdir / "seed", self.gerrit.admin_auth
        )
        devgerrit.git_commit(
            seed, "OWNERS.yaml", {"OWNERS.yaml": OWNERS_YAML}, author=(me["name"], me["email"])
        )
        devgerrit.git_push(
            seed, self.gerrit.git_url(self.name), *self.gerrit.admin_auth, "HEAD:refs/heads/master"
        )
        return self.configure() if configure else self

    def configure(self) -> Project:
        admin_settings = Settings(
            gerrit_url=self.gerrit.url,
            user=self.gerrit.admin_auth[0],
            password=self.gerrit.admin_auth[1],
            webhook_token=self.token,
        )
        configure_project(
            admin_settings,
            self.name,
            self.url,
            bot=BOT,
            gerrit=GerritConnection(admin_settings),
        )
        return self

    def push_changes(self, count: int) -> list[int]:
        """`count` changes in one push (a series), each touching its own Hyper-V file."""
        clone = self.workdir / "zed"
        if not clone.exists():
            devgerrit.git_clone(self.gerrit.git_url(self.name), clone, ("zed", PASSWORD))
        tag = secrets.token_hex(3)
        series = fast_import_series(
            clone,
            [
                (f"Change {tag}-{i}", f"nova/virt/hyperv/f{tag}{i}.py", f"x = {i}\n")
                for i in range(count)
            ],
            author="Zed <zed@example.com>",
        )
        devgerrit.git_push(
            clone, self.gerrit.git_url(self.name), "zed", PASSWORD, f"{series}:refs/for/master"
        )
        found = self.changes(f"project:{self.name} message:{tag}")
        numbers = sorted(int(c["_number"]) for c in found)
        assert len(numbers) == count
        for info in found:
            self.info[int(info["_number"])] = info
            self.expected[int(info["_number"])] = 0
        return numbers

    def changes(self, query: str, *options: str) -> list[dict[str, Any]]:
        """Every change a query finds, page by page (Gerrit answers 500 at most at once)."""
        found: list[dict[str, Any]] = []
        while True:
            params = [("q", query), ("n", "500"), ("S", str(len(found)))]
            page = self.gerrit.rest.get(
                "changes/?" + urlencode([*params, *(("o", option) for option in options)])
            )
            found.extend(page)
            if not page or not page[-1].get("_more_changes"):
                return found

    def vote(self, user: str, number: int, value: int) -> None:
        rest(self.gerrit, user).post(
            f"changes/{number}/revisions/current/review", {"labels": {"Code-Review": value}}
        )
        if user == "bob":
            self.expected[number] = 1 if value == 2 else (-1 if value == -2 else 0)

    def state(self) -> dict[int, tuple[int, list[str]]]:
        """Each change's bot vote and the fingerprints of the bot's status comments."""
        found = self.changes(
            f"project:{self.name}", "DETAILED_LABELS", "MESSAGES", "DETAILED_ACCOUNTS"
        )
        state = {}
        for change in found:
            votes = change["labels"].get("Owner-Approval", {}).get("all", [])
            vote = next((v.get("value", 0) for v in votes if v.get("username") == BOT), 0)
            prints = [
                find_fingerprint(m["message"]) or "?"
                for m in change.get("messages", [])
                if m.get("tag") == BOT_TAG and m.get("author", {}).get("username") == BOT
            ]
            state[int(change["_number"])] = (vote, prints)
        return state

    def wrong(self) -> list[int]:
        """Changes whose bot vote is not what it should be."""
        state = self.state()
        return [n for n, want in self.expected.items() if state.get(n, (None,))[0] != want]

    def why(self, queue: Path | None = None) -> str:
        """What is wrong now, for a failure message: each change whose bot vote is wrong (the
        vote expected, the vote found, the status comments) and what the queue still holds."""
        state = self.state()
        lines = []
        for number, want in sorted(self.expected.items()):
            vote, prints = state.get(number, (None, []))
            if vote != want:
                found = "no change" if number not in state else f"{vote:+d}"
                lines.append(
                    f"change {number}: label should be {want:+d}, is {found}"
                    f" ({len(prints)} status comments)"
                )
        wrong = "\n".join(lines) or "every label right"
        return f"{wrong}\n{queue_report(queue or self.workdir / 'queue.db')}"

    def wait_labels_right(
        self, timeout: float, what: str = "every label right", queue: Path | None = None
    ) -> None:
        wait(what, lambda: not self.wrong(), timeout, explain=lambda: self.why(queue))

    def commented(self) -> bool:
        """Every change carries at least one status comment."""
        state = self.state()
        return all(state.get(n, (0, []))[1] for n in self.expected)

    def duplicates(self) -> int:
        """Status comments repeating the one before (nothing changed, yet posted again)."""
        count = 0
        for _, prints in self.state().values():
            count += sum(1 for a, b in itertools.pairwise(prints) if a == b)
        return count

    def outcome(self, statuses: list[int], metrics_url: str | None = None) -> dict[str, Any]:
        """The figures every burst reports: deliveries sent and refused, changes left with a
        wrong label, repeated status comments, and jobs given up on."""
        return {
            "events_sent": len(statuses),
            "events_lost": sum(1 for s in statuses if s != 202),
            "wrong_labels": len(self.wrong()),
            "duplicate_comments": self.duplicates(),
            "dead_letters": metric(metrics_url or self.url, "owners_dead_letters"),
        }

    def final_comments(self) -> dict[int, int]:
        """How many status comments carry each change's final fingerprint."""
        return {n: prints.count(prints[-1]) for n, (_, prints) in self.state().items() if prints}

    # -- deliveries ------------------------------------------------------------------------

    def event(self, number: int, kind: str = "comment-added") -> dict[str, Any]:
        """A delivery as the webhooks plugin posts it for change `number`."""
        info = self.info[number]
        return {
            "type": kind,
            "change": {
                "project": self.name,
                "branch": info["branch"],
                "id": info["change_id"],
                "number": number,
                "status": "NEW",
            },
            CHANGE_EVENTS[kind]: {"username": "zed", "email": "zed@example.com"},
            "eventCreatedOn": int(time.time()),
        }

    def send(self, payload: Any, url: str | None = None, timeout: float = 10) -> int:
        response = requests.post(
            f"{url or self.url}/gerrit/events/{self.token}",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        )
        return response.status_code


def fast_import_series(clone: Path, commits: list[tuple[str, str, str]], author: str) -> str:
    """Commit a series on the clone's HEAD in one `git fast-import` (a thousand commits take
    a second, where `git commit` takes a minute): each (subject, path, content) is a commit
    adding one file, with a Change-Id of its own.  Returns the ref the series ends on."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    when = f"{int(time.time())} +0000"
    stream = []
    for i, (subject, path, content) in enumerate(commits):
        message = f"{subject}\n\nChange-Id: I{secrets.token_hex(20)}\n".encode()
        blob = content.encode()
        parent = f"from {head}\n" if i == 0 else ""
        stream.append(
            f"commit refs/heads/series\nauthor {author} {when}\ncommitter {author} {when}\n"
            f"data {len(message)}\n".encode()
            + message
            + f"{parent}M 100644 inline {path}\ndata {len(blob)}\n".encode()
            + blob
            + b"\n"
        )
    subprocess.run(
        ["git", "fast-import", "--quiet", "--force"],
        cwd=clone,
        input=b"".join(stream),
        check=True,
    )
    return "refs/heads/series"


def metric(url: str, name: str, **labels: str) -> float:
    """One sample of a service's /metrics, 0 when absent."""
    text = requests.get(f"{url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@contextlib.contextmanager
def figures(test: str) -> Iterator[dict[str, Any]]:
    found: dict[str, Any] = {}
    started = time.monotonic()
    try:
        yield found
    finally:
        found["seconds"] = round(time.monotonic() - started, 1)
        FIGURES[test] = found
