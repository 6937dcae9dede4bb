"""A Nova-shaped git history, scripted: years of commits, release tags and an OWNERS.yaml
that changed along the way, for `owners stats` examples, tests and benchmarks.

    python deploy/novahistory.py DEST [--commits 50000] [--seed 1]

Built with `git fast-import` (50,000 commits take about 10 s).  The areas, their weights and
the release calendar imitate OpenStack Nova from 2010 to 2016: core code (compute, api, db,
...) gets most commits, libvirt leads the drivers, Hyper-V and VMware appear in Folsom,
release notes in Liberty.  One commit in seven crosses into a second area and one in
twenty-five lands through a merge commit, as Gerrit's merges do.  The Hyper-V subsystem joins
OWNERS.yaml in the Havana cycle, so `--config-at 2013.1` and the current map disagree.
"""

from __future__ import annotations

import argparse
import itertools
import random
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent
NOVA_OWNERS = REPO_ROOT / "tests" / "fixtures" / "nova-OWNERS.yaml"

RELEASES = (
    ("2012.1", "2012-04-05"),
    ("2012.2", "2012-09-27"),
    ("2013.1", "2013-04-04"),
    ("2013.2", "2013-10-17"),
    ("2014.1", "2014-04-17"),
    ("2014.2", "2014-10-16"),
    ("2015.1", "2015-04-30"),
    ("12.0.0", "2015-10-15"),
    ("13.0.0", "2016-04-07"),
)
START = "2010-09-01"
HYPERV_JOINS = "2013.2"
"""The release cycle at whose start OWNERS.yaml gains the hyperv subsystem."""

WORDS = (
    *("api", "utils", "driver", "host", "guest", "config", "volume", "vif", "migration"),
    *("firewall", "network", "snapshot", "console", "power", "rescue", "serial", "vnc", "cpu"),
    *("numa", "pci", "disk", "image", "instance", "storage", "quota", "manager", "rpcapi"),
    *("claims", "tracker", "filters", "weights", "models", "fields", "base", "service"),
)


@dataclass
class Area:
    code: str
    tests: str | None
    weight: int
    since: int  # index into RELEASES of the first cycle with commits here
    files: list[str] = field(default_factory=list)


def _areas() -> list[Area]:
    unit = "nova/tests/unit"
    return [
        Area("nova/compute", f"{unit}/compute", 18, 0),
        Area("nova/api/openstack/compute", f"{unit}/api/openstack/compute", 14, 0),
        Area("nova/db/sqlalchemy", f"{unit}/db", 7, 0),
        Area("nova/network", f"{unit}/network", 6, 0),
        Area("nova/scheduler", f"{unit}/scheduler", 6, 0),
        Area("nova/conductor", f"{unit}/conductor", 3, 2),
        Area("nova/objects", f"{unit}/objects", 6, 4),
        Area("nova/virt", f"{unit}/virt", 4, 0, ["nova/virt/driver.py", "nova/virt/images.py"]),
        Area("nova/virt/libvirt", f"{unit}/virt/libvirt", 12, 0),
        Area("nova/virt/xenapi", f"{unit}/virt/xenapi", 6, 0),
        Area("nova/virt/vmwareapi", f"{unit}/virt/vmwareapi", 4, 1),
        Area("nova/virt/hyperv", f"{unit}/virt/hyperv", 3, 1, ["nova/virt/hyperv/README.rst"]),
        Area("doc/source", None, 3, 0),
        Area("releasenotes/notes", None, 3, 7),
    ]


def owners_yaml(with_hyperv: bool) -> bytes:
    """The fixture's map, or the one from before the Hyper-V team had a subsystem."""
    text = NOVA_OWNERS.read_text()
    if not with_hyperv:
        start = text.index("  - name: hyperv\n")
        end = text.index("  - name: ", start + 1)
        text = text[:start] + text[end:]
    return text.encode()


class _Stream:
    """Writes a fast-import stream; marks number commits from 1."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.mark = 0

    def commit(
        self,
        ref: str,
        when: int,
        author: str,
        message: str,
        files: dict[str, bytes],
        parents: tuple[int, ...] = (),
    ) -> int:
        self.mark += 1
        who = f"{author} <{author}@example.org> {when} +0000"
        msg = message.encode()
        lines = [f"commit {ref}\nmark :{self.mark}\nauthor {who}\ncommitter {who}\n".encode()]
        lines.append(b"data %d\n%s\n" % (len(msg), msg))
        if parents:
            lines.append(f"from :{parents[0]}\n".encode())
            lines.extend(f"merge :{p}\n".encode() for p in parents[1:])
        for path, data in files.items():
            lines.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        self.out.write(b"".join(lines) + b"\n")
        return self.mark

    def tag(self, name: str, mark: int) -> None:
        self.out.write(f"reset refs/tags/{name}\nfrom :{mark}\n\n".encode())


def _timestamp(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


def build(dest: Path, commits: int = 50_000, seed: int = 1) -> list[str]:
    """Create the repository at `dest`; return the release ranges, oldest first."""
    rng = random.Random(seed)
    areas = _areas()
    authors = [f"dev{i:03d}" for i in range(300)]
    bounds = [_timestamp(START), *(_timestamp(day) for _, day in RELEASES)]
    subprocess.run(["git", "init", "-q", "-b", "master", str(dest)], check=True)
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=dest, stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    stream = _Stream(importer.stdin)
    per_cycle = commits // len(RELEASES)
    head = stream.commit(
        "refs/heads/master", bounds[0], "dev000", "Initial import",
        {"OWNERS.yaml": owners_yaml(with_hyperv=False), "README.rst": b"Nova\n"},
    )  # fmt: skip
    made = 1
    for cycle, (release, _) in enumerate(RELEASES):
        active = [a for a in areas if a.since <= cycle]
        weights = [a.weight for a in active]
        count = per_cycle if cycle < len(RELEASES) - 1 else commits - made
        step = (bounds[cycle + 1] - bounds[cycle]) // max(count, 1)
        if release == HYPERV_JOINS:
            head = stream.commit(
                "refs/heads/master", bounds[cycle], "dev001",
                "Give the Hyper-V team its own subsystem",
                {"OWNERS.yaml": owners_yaml(with_hyperv=True)}, (head,),
            )  # fmt: skip
        for k in range(count):
            when = bounds[cycle] + k * step
            touched = [rng.choices(active, weights)[0]]
            if rng.random() < 1 / 7:
                touched.append(rng.choices(active, weights)[0])
            files = {path: f"{path} @{made}\n".encode() for path in _touch(rng, touched)}
            author = rng.choice(authors)
            message = f"Change {made} in {', '.join(a.code for a in touched)}"
            if made % 25 == 0:
                side = stream.commit("refs/heads/topic", when, author, message, files, (head,))
                head = stream.commit(
                    "refs/heads/master", when + 1, "jenkins", f"Merge \"{message}\"", files,
                    (head, side),
                )  # fmt: skip
            else:
                head = stream.commit("refs/heads/master", when, author, message, files, (head,))
            made += 1
        stream.tag(release, head)
    importer.stdin.write(b"done\n")
    importer.stdin.close()
    if importer.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "reset", "-q", "--hard", "master"], cwd=dest, check=True)
    names = [name for name, _ in RELEASES]
    return [f"{old}..{new}" for old, new in itertools.pairwise(names)]


def _touch(rng: random.Random, areas: list[Area]) -> list[str]:
    """A commit's paths: one to three files of each area, often with their unit tests; one
    time in thirty a new file (release notes are always new)."""
    paths = []
    for area in areas:
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            if area.code == "releasenotes/notes":
                paths.append(f"{area.code}/{rng.choice(WORDS)}-{rng.getrandbits(32):08x}.yaml")
                continue
            if not area.files or rng.random() < 0.03:
                name = f"{area.code}/{rng.choice(WORDS)}{len(area.files) or ''}"
                area.files.append(name + (".rst" if area.code.startswith("doc") else ".py"))
            path = rng.choice(area.files)
            paths.append(path)
            if area.tests and path.endswith(".py") and rng.random() < 0.6:
                paths.append(f"{area.tests}/test_{path.rsplit('/', 1)[1]}")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.dest.exists():
        parser.error(f"{args.dest} exists")
    ranges = build(args.dest, args.commits, args.seed)
    print(" ".join(ranges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
