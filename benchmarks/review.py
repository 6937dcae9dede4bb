"""Review data: `owners report` over a project's recent changes on the dev Gerrit.

Gerrit with the demo's Nova project (no service: only the votes matter); 200 changes by zed
uploaded in one push (a chain of commits, one change each, rotating over Hyper-V, core,
VMware, XenAPI and libvirt files), each reviewed with one to three Code-Review votes.
`owners report --json` then runs as a user runs it (process start to exit).  The floor, in
the same run: the same change query pages fetched alone with the same options, which any
report has to read.  Skipped by --quick (it starts a Gerrit).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.ongerrit import GERRIT_SKIPPED, devgerrit, novademo
from benchmarks.stats import Measure, Report, Table, compared, repeat, spread
from owners.gerrit.connection import GerritConnection
from owners.gerrit.model import HISTORY_OPTIONS
from owners.gerrit.settings import Settings

TITLE = "7. Review data: owners report against reading the change query alone"
CHANGES, PAGE_SIZE, RUNS = 200, 100, 5
# (file template, the votes that review it)
KINDS = (
    ("nova/virt/hyperv/bench{i}.py", (("alice", 2),)),
    ("nova/compute/bench{i}.py", (("carol", 2), ("dave", 2))),
    ("nova/virt/vmwareapi/bench{i}.py", (("wendy", 1), ("victor", 2))),
    ("nova/virt/xenapi/bench{i}.py", (("xavier", 2), ("lena", 2))),
    ("nova/virt/libvirt/bench{i}.py", (("luke", 2), ("erin", 2), ("carol", 2))),
)


def run(quick: bool) -> Report:
    if quick:
        return Report("review", TITLE, skipped=GERRIT_SKIPPED)
    report = Report("review", TITLE, notes=[" ".join(__doc__.split("\n\n", 1)[1].split())])
    with _reviewed_project() as nova:
        env = nova.service_env()
        command = [sys.executable, "-m", "owners.cli", "report", "--project", nova.project,
                   "--since", "1d", "--page-size", str(PAGE_SIZE), "--json"]  # fmt: skip
        seconds, data = [], {}
        for _ in range(RUNS):
            begun = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            seconds.append(time.perf_counter() - begun)
            data = json.loads(done.stdout)
        gerrit = GerritConnection(Settings.from_env(env))
        query = f"project:{nova.project}"
        changes = gerrit.changes
        floor = repeat(lambda: list(changes.query(query, HISTORY_OPTIONS, page_size=PAGE_SIZE)),
                       RUNS)  # fmt: skip
    table = Table(f"{CHANGES} reviewed changes, {PAGE_SIZE} per query page",
                  ("what", "time", "REST calls"))  # fmt: skip
    table.add("the change query pages alone (floor)", floor, -(-CHANGES // PAGE_SIZE))
    report_time: Measure = spread(seconds)
    table.add("owners report --json", compared(report_time, floor), data["gerrit"]["rest_calls"])
    report.tables.append(table)
    if data["gerrit"]["changes_read"] != CHANGES:
        report.errors.append(f"owners report read {data['gerrit']['changes_read']} changes of "
                             f"{CHANGES}")  # fmt: skip
    return report


@contextlib.contextmanager
def _reviewed_project() -> Iterator[novademo.Nova]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-review-"))
    try:
        site = devgerrit.build_site(scratch / "site")
        with devgerrit.GerritServer(site) as gerrit, contextlib.redirect_stdout(sys.stderr):
            nova = novademo.provision(gerrit, scratch / "work")
            for i, number in enumerate(_upload(nova, CHANGES)):
                for who, value in KINDS[i % len(KINDS)][1]:
                    nova.vote(who, number, value)
            yield nova
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _upload(nova: novademo.Nova, count: int) -> list[int]:
    """`count` changes by zed in one push: a chain of commits becomes a chain of changes."""
    clone = nova.workdir / "clone-zed-bench"
    devgerrit.git_clone(nova.gerrit.git_url(nova.project), clone, ("zed", novademo.password("zed")))
    author = ("Zed", novademo.PEOPLE["zed"])
    for i in range(count):
        path = KINDS[i % len(KINDS)][0].format(i=i)
        devgerrit.git_commit(clone, f"bench {i}", {path: f"# {i}\n"}, author=author)
    devgerrit.git_push(
        clone, nova.gerrit.git_url(nova.project), "zed", novademo.password("zed"),
        "HEAD:refs/for/master",
    )  # fmt: skip
    found = nova.gerrit.rest.get(f"changes/?q=project:{nova.project}+status:open&n={count + 1}")
    if len(found) != count:
        raise RuntimeError(f"pushed {count} changes, Gerrit lists {len(found)}")
    return sorted(int(c["_number"]) for c in found)
