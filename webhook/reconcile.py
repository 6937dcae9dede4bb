"""The reconciler: queue a re-evaluation of every open change whose inputs changed since its
last verdict.

Events get lost: the webhooks plugin gives up after a few tries, the service may be down, and a
group's change is reported only when All-Users posts its ref updates to the service
(`webhook.groups`). A sweep pages through the open changes of the served projects (one query
for all of them, or one per 100 named projects; a call per 500 changes, with the votes) and
computes each change's inputs (`webhook.inputs`), its branch's group members read afresh. A
change whose inputs equal those recorded at its last verdict, whether an event or a sweep
asked for it, is skipped; the others get a job. A sweep therefore costs a call per 500
changes, plus one per branch and one per group, and evaluates only what may have changed.

Every worker process runs a sweep every `OWNERS_RECONCILE_INTERVAL` seconds, but only one per
interval across all of them: the first to claim the interval in the backend runs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from owners.gerrit.model import BranchConfig, UnexpectedResponse
from owners.gerrit.rest import quoted
from webhook.escalation import Escalator, Seen, seen
from webhook.inputs import branch_inputs, change_inputs
from webhook.jobs import CHANGE, Job, Jobs

log = logging.getLogger(__name__)

# DETAILED_ACCOUNTS: only with it does Gerrit mark a voter `"inactive": true` (3.10.2)
QUERY_OPTIONS = ("CURRENT_REVISION", "DETAILED_LABELS", "DETAILED_ACCOUNTS")
# Projects OR'd into one query: a few KB of URL, far below Gerrit's limits on a request's
# header (16 KiB) and on a query's terms (index.maxTerms, 1,024)
PROJECTS_PER_QUERY = 100


@dataclass
class Sweep:
    """What one sweep saw and did."""

    seen: int = 0
    skipped: int = 0
    queued: int = 0
    forgotten: int = 0  # records of changes no longer open, dropped
    escalated: int = 0  # changes past their review_sla whose next reviewers were asked
    rest_calls: int = 0
    _branches: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _groups: dict[str, tuple[str, ...] | None] = field(default_factory=dict, repr=False)
    _configs: dict[tuple[str, str], BranchConfig] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return (
            f"{self.seen} open changes: {self.queued} queued, {self.skipped} unchanged "
            f"({self.rest_calls} REST calls)"
        )


class Reconciler:
    def __init__(self, jobs: Jobs):
        self.jobs = jobs
        self.settings = jobs.settings
        self.gerrit = jobs.service.gerrit
        self.escalator = Escalator(jobs.service, jobs.clock)

    def claim(self, interval: float) -> str | None:
        """The current interval's key for the one process that should sweep in it; None for
        the others.  `release` it when the sweep failed, so that another try comes soon."""
        slot = int(self.jobs.clock() // interval)
        if self.jobs.sweeps.add(str(slot), self.jobs.worker_id) is None:
            return None
        self.jobs.sweeps.delete(str(slot - 2))
        return str(slot)

    def release(self, claim: str) -> None:
        self.jobs.sweeps.delete(claim)

    def sweep(self) -> Sweep:
        """One pass over the open changes of the served projects."""
        done = Sweep()
        before = self.gerrit.calls
        open_keys = set()
        reviewable: list[Seen] = []  # for the escalation after the sweep
        for query in sweep_queries(self.settings.projects):
            for info in self.gerrit.changes.query(query, QUERY_OPTIONS):
                project, number, branch = _identity(info)
                if not self.settings.watches(project):
                    continue
                done.seen += 1
                reviewable.append(seen(info, project, branch, number))
                job = Job(CHANGE, project, number)
                open_keys.add(job.key)
                inputs = self._inputs(info, project, branch, done)
                if self.jobs.recorded_inputs(job.key) == inputs:
                    done.skipped += 1
                    self.jobs.metrics.reconciled.labels("skipped").inc()
                    continue
                self.jobs.submit(Job(CHANGE, project, number, refresh=True))
                done.queued += 1
                self.jobs.metrics.reconciled.labels("queued").inc()
        for key, _ in list(self.jobs.inputs.items()):
            if key not in open_keys:
                self.jobs.inputs.delete(key)
                done.forgotten += 1
        done.escalated = self.escalator.run(reviewable, done._configs)
        done.rest_calls = self.gerrit.calls - before
        log.info("reconciler: %s", done)
        return done

    def _inputs(self, info: dict[str, Any], project: str, branch: str, done: Sweep) -> str:
        key = (project, branch)
        if key not in done._branches:
            done._branches[key] = self._branch_inputs(project, branch, done)
        return change_inputs(info, done._branches[key])

    def _branch_inputs(self, project: str, branch: str, done: Sweep) -> str:
        """OWNERS.yaml of the branch, and the members of the groups it (or the fallback
        owners) names, each group read afresh once per sweep."""

        def members(name: str) -> tuple[str, ...] | None:
            if name not in done._groups:
                done._groups[name] = self.gerrit.accounts.group_members(name, fresh=True)
            return done._groups[name]

        config = self.gerrit.projects.branch_config(project, branch)
        done._configs[(project, branch)] = config  # for the escalation after the sweep
        compile_map = self.jobs.service.maps.compile
        return branch_inputs(config, self.settings.fallback_owners, members, compile_map)


def sweep_queries(projects: frozenset[str]) -> list[str]:
    """The queries of a sweep: one over every open change when no project is named (each
    answer is filtered by `watches`), else one per `PROJECTS_PER_QUERY` named projects, so
    that a project without open changes costs nothing."""
    if not projects:
        return ["status:open"]
    names = sorted(projects)
    return [
        "status:open ("
        + " OR ".join(f'project:"{quoted(p)}"' for p in names[i : i + PROJECTS_PER_QUERY])
        + ")"
        for i in range(0, len(names), PROJECTS_PER_QUERY)
    ]


def _identity(info: dict[str, Any]) -> tuple[str, int, str]:
    project, number, branch = info.get("project"), info.get("_number"), info.get("branch")
    if (
        not isinstance(project, str)
        or not isinstance(branch, str)
        or isinstance(number, bool)
        or not isinstance(number, int)
    ):
        raise UnexpectedResponse("a change in a query answer lacks its project, branch or number")
    return project, number, branch
