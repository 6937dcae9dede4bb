"""Fault 7: two service processes and two workers share a real Redis; in the middle of an
OWNERS.yaml change's fan-out over 1,000 open changes, the process fanning out and one process
of the other kind are killed (`kill -9`).

Each OWNERS.yaml below moves every change's verdict, so each fan-out posts on every change.
The same fan-out runs undisturbed first.  Then, disturbed:
- nothing is lost: every change ends with the right vote and hashtag, the queue empties, no
  job is a dead letter;
- nothing is judged twice at the same time: two evaluations of one change at once would both
  post its new verdict, and no change carries the same status comment twice in a row (an
  expected failure, xfail, when the logs show a live worker's jobs taken over: a known
  defect, see the comment at the end);
- the time to the last right verdict, against the undisturbed one, is a figure printed with
  the fault figures at the end of the run (issue 22's goal: 1.5x), not an assertion: the
  machine is shared.
"""

from __future__ import annotations

import json
import re
import threading
import time

import devgerrit
import pytest
import redis

from tests.faults.harness import BOT, OWNERS_YAML, Process, Project, figures, metric, wait

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

CHANGES = 1000
PENDING_AGAIN = OWNERS_YAML + "# judged from here\n"
"""The first map with a comment: a new OWNERS.yaml for Gerrit, the same verdicts."""
EXEMPT_ZED = OWNERS_YAML.replace("root:", "policy:\n  exempt: [zed]\nroot:", 1)
"""zed (who uploaded every change) exempted: every change approved, every vote +1."""


def test_kill_9_of_two_processes_mid_fan_out(
    project_without_webhook: Project, redis_server: str
) -> None:
    project = project_without_webhook
    with figures("fan_out_killed") as found:
        numbers = project.push_changes(CHANGES)  # before the webhook: no event queued
        project.configure()
        queue = {"OWNERS_QUEUE": redis_server}
        ports = [project.port, *(devgerrit.free_port() for _ in range(3))]
        services = [project.serve(**queue), project.serve(port=ports[1], **queue)]
        workers = [
            project.process("worker", "--metrics-port", str(port), name=f"worker-{n}", **queue)
            for n, port in enumerate(ports[2:], 1)
        ]
        for worker, port in zip(workers, ports[2:], strict=True):
            worker.start()
            wait(f"worker on {port}", lambda port=port: answers(port), 30)
        metrics = {
            p.pid: f"http://127.0.0.1:{port}"
            for p, port in zip(services + workers, ports, strict=True)
        }
        client = redis.Redis.from_url(redis_server)

        def fan_out(text: str, vote: int) -> float:
            """Land `text` as OWNERS.yaml, wait until every change shows `vote`: seconds."""
            started = time.monotonic()
            project.expected.update(dict.fromkeys(numbers, vote))
            land_map(project, text)
            wait(
                "every verdict right and the queue idle",
                lambda: idle(live(services, metrics)) and judged_right(project),
                300,
                every=1,
                explain=project.why,
            )
            return round(time.monotonic() - started, 1)

        found["first_judgement_seconds"] = fan_out(PENDING_AGAIN, 0)
        found["undisturbed_seconds"] = fan_out(EXEMPT_ZED, 1)

        taken_before_kill = taken_over(project)  # every worker was alive until now
        killer = Killer(client, services, workers, metrics)
        killer.start()
        found["disturbed_seconds"] = fan_out(OWNERS_YAML, 0)
        killer.join()
        found.update(killer.figures)
        found["ratio"] = round(found["disturbed_seconds"] / found["undisturbed_seconds"], 2)
        found["wrong_labels"] = len(project.wrong())
        found["duplicate_comments"] = project.duplicates()
        found["dead_letters"] = metric(live(services, metrics), "owners_dead_letters")
        assert killer.figures["killed_after_votes"] < CHANGES  # in the middle, truly
        assert found["wrong_labels"] == 0 and found["dead_letters"] == 0  # nothing lost
        killed = {p.pid for p in services + workers if not p.alive}
        taken_live = taken_before_kill | (taken_over(project) - killed)
        found["live_workers_taken_over"] = sorted(taken_live)
        if found["duplicate_comments"] and found["live_workers_taken_over"]:
            # A known defect, not fixed yet: when every process stalls for over 15 s (seen
            # twice on the loaded machine, in two test runs at the same moment), the first
            # worker to wake finds the others' heartbeats stale and takes over their leases
            # while they go on judging, and both post.  The verdicts stay right.
            pytest.xfail("a live worker's leases were taken over: two judged one change at once")
        assert found["duplicate_comments"] == 0  # nothing judged twice at the same time


class Killer:
    """Once half the fan-out's votes are cast, `kill -9` the process holding the branch job
    and one process of the other kind (a worker if it was a service process, else the second
    service process: the first one takes Gerrit's deliveries)."""

    def __init__(
        self,
        client: redis.Redis,
        services: list[Process],
        workers: list[Process],
        metrics: dict[int, str],
    ):
        self.client, self.services, self.workers, self.metrics = client, services, workers, metrics
        self.figures: dict[str, object] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._failure: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(300)
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        try:
            started = time.monotonic()
            owner = wait("a worker fanning out", self._fan_out_owner, 60, every=0.05)
            url = self.metrics[owner.pid]
            before = votes_cast(url)
            cast = wait(
                "half the votes cast",
                lambda: (n := votes_cast(url) - before) >= CHANGES / 2 and n,
                300,
                every=0.2,
            )
            other = self.workers[0] if owner in self.services else self.services[1]
            owner.kill9()
            other.kill9()
            self.figures["killed"] = f"{owner.log.stem} (fanning out), {other.log.stem}"
            self.figures["killed_after_seconds"] = round(time.monotonic() - started, 1)
            self.figures["killed_after_votes"] = int(cast)
        except BaseException as exc:  # re-raised in the test's thread by `join`
            self._failure = exc

    def _fan_out_owner(self) -> Process | None:
        """The process whose worker holds the branch job now, if one does: a worker's held
        tasks are listed under its id, `host:pid:nonce` (`webhook.jobs`)."""
        for key in self.client.scan_iter(match="huey.held.owners:*"):
            pid = int(key.decode().split(":")[2])
            for raw in self.client.lrange(key, 0, -1):
                if json.loads(raw)["message"]["args"][0].get("kind") == "branch":
                    return next((p for p in self.services + self.workers if p.pid == pid), None)
        return None


def taken_over(project: Project) -> set[int]:
    """The pids of the workers whose jobs another took back as a stopped worker's, from the
    processes' logs (`webhook.jobs`: "... from stopped worker host:pid:nonce")."""
    found = re.findall(r"from stopped worker [^:\s]+:(\d+):", read_logs(project))
    return {int(pid) for pid in found}


def read_logs(project: Project) -> str:
    return "\n".join(p.log.read_text(errors="replace") for p in project.processes)


def land_map(project: Project, text: str) -> None:
    """Push a new OWNERS.yaml to master directly (as an admin may): a ref update after which
    the service re-judges every open change of master in one fan-out."""
    clone = project.workdir / "admin"
    if not clone.exists():
        devgerrit.git_clone(project.gerrit.git_url(project.name), clone, project.gerrit.admin_auth)
    me = project.gerrit.rest.get("accounts/self")
    devgerrit.git_commit(
        clone, "OWNERS.yaml", {"OWNERS.yaml": text}, author=(me["name"], me["email"])
    )
    url = project.gerrit.git_url(project.name)
    devgerrit.git_push(clone, url, *project.gerrit.admin_auth, "HEAD:refs/heads/master")


def judged_right(project: Project) -> bool:
    """Every change shows the verdict expected: the bot's vote (none counts as 0) and, unless
    approved, the hashtag asking the Hyper-V owners (two query pages, labels only)."""
    query = f"project:{project.name} status:open"
    for change in project.changes(query, "DETAILED_LABELS", "DETAILED_ACCOUNTS"):
        votes = change["labels"].get("Owner-Approval", {}).get("all", [])
        vote = next((v.get("value", 0) for v in votes if v.get("username") == BOT), 0)
        want = project.expected[int(change["_number"])]
        if vote != want or ("owners-needs-hyperv" in change["hashtags"]) != (want != 1):
            return False
    return True


def live(services: list[Process], metrics: dict[int, str]) -> str:
    """The /metrics of a service process still running (every process reads the same queue)."""
    return next(metrics[p.pid] for p in services if p.alive)


def idle(url: str) -> bool:
    """Nothing queued and nothing in a worker's hands (False while `url` is being killed)."""
    try:
        return metric(url, "owners_queue_depth") == metric(url, "owners_jobs_running") == 0
    except OSError:
        return False


def votes_cast(url: str) -> float:
    return sum(metric(url, "owners_votes_cast_total", value=v) for v in ("+1", "0", "-1"))


def answers(port: int) -> bool:
    try:
        metric(f"http://127.0.0.1:{port}", "owners_queue_depth")
    except OSError:
        return False
    return True
