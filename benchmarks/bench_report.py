"""How fast `owners report` reads and judges a project's recent review, on the dev Gerrit.

    python benchmarks/bench_report.py [--changes 200] [--runs 3] [--page-size 500] [--keep]

Builds a fresh dev Gerrit with the demo's Nova project (no service: only the votes matter),
uploads `--changes` changes by zed in one push (a chain of commits, one change each, rotating
over Hyper-V, core, VMware, XenAPI and libvirt files) and reviews each with one to three
Code-Review votes through REST.  Then it runs `owners report --json` as a user would, `--runs`
times, and prints the wall time of each run (process start to exit, so Python's start and
imports are included) and the REST calls and changes the report says it made and read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))

import devgerrit
import novademo

# (file template, the votes that review it)
KINDS = (
    ("nova/virt/hyperv/bench{i}.py", (("alice", 2),)),
    ("nova/compute/bench{i}.py", (("carol", 2), ("dave", 2))),
    ("nova/virt/vmwareapi/bench{i}.py", (("wendy", 1), ("victor", 2))),
    ("nova/virt/xenapi/bench{i}.py", (("xavier", 2), ("lena", 2))),
    ("nova/virt/libvirt/bench{i}.py", (("luke", 2), ("erin", 2), ("carol", 2))),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200, help="changes reviewed (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="report runs timed (default 3)")
    parser.add_argument("--page-size", type=int, default=500, help="changes per query call")
    parser.add_argument("--keep", action="store_true", help="keep the Gerrit site")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="bench-report-"))
    site = devgerrit.build_site(scratch / "site")
    with devgerrit.GerritServer(site) as gerrit:
        nova = novademo.provision(gerrit, scratch / "work")
        started = time.monotonic()
        numbers = _upload(nova, args.changes)
        for i, number in enumerate(numbers):
            for who, value in KINDS[i % len(KINDS)][1]:
                nova.vote(who, number, value)
        print(f"{len(numbers)} changes uploaded and reviewed in {time.monotonic() - started:.0f} s")

        env = nova.service_env()
        command = [sys.executable, "-m", "owners.cli", "report", "--project", nova.project]
        command += ["--since", "1d", "--page-size", str(args.page_size), "--json"]
        seconds = []
        for _ in range(args.runs):
            begun = time.monotonic()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            seconds.append(time.monotonic() - begun)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
        data = json.loads(done.stdout)
    print(
        f"owners report over {data['gerrit']['changes_read']} changes, page size "
        f"{args.page_size}: median {statistics.median(seconds):.2f} s "
        f"(min {min(seconds):.2f}, max {max(seconds):.2f}) over {args.runs} runs, "
        f"{data['gerrit']['rest_calls']} REST calls, Gerrit {gerrit.dist.version}"
    )
    print(f"site: {scratch if args.keep else 'removed'}")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


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
    found: list[dict[str, object]] = []
    while True:
        query = f"project:{nova.project} status:open"
        page = nova.gerrit.rest.get(f"changes/?q={query}&n=500&S={len(found)}")
        found += page
        if not page or not page[-1].get("_more_changes"):
            break
    if len(found) != count:
        raise RuntimeError(f"pushed {count} changes, Gerrit lists {len(found)}")
    return sorted(int(str(c["_number"])) for c in found)


if __name__ == "__main__":
    sys.exit(main())
