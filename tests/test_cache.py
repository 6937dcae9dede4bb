"""The compiled-map cache: a reopened map answers as the compiled one, and anything stale,
corrupt or foreign is detected and rebuilt, never trusted."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from owners import cache
from owners.engine import Change, Ownership, evaluate, load_config
from owners.engine.explanation import explain
from owners.gerrit.compiled import SharedMaps
from tests.conftest import NOVA_OWNERS, git
from webhook.jobs import WalStorage

PATHS = [
    "nova/virt/hyperv/driver.py",
    "nova/virt/driver.py",
    "nova/compute/api.py",
    "OWNERS.yaml",
    "doc/source/index.rst",
    "nova/virt/vmwareapi/vmops.py",
]


def answers(ownership: Ownership) -> list[object]:
    return [
        (ownership.requirements(p), explain(ownership, p), [ownership.approvers(r) for r in
         ownership.requirements(p)]) for p in PATHS
    ]  # fmt: skip


def test_a_reopened_map_is_the_compiled_one():
    compiled = Ownership(load_config(NOVA_OWNERS.read_bytes()))
    reopened = cache.decode(cache.encode(compiled), "OWNERS.yaml")
    names = [sub.name for sub in compiled.config.all_subsystems]
    assert [reopened.config.position(n) for n in names] == list(range(len(names)))
    change = Change.of(PATHS)  # its requirements are listed in file order
    assert evaluate(reopened, change) == evaluate(compiled, change)
    assert reopened.config.policy == compiled.config.policy
    assert reopened.config.groups == compiled.config.groups
    assert reopened.config.root == compiled.config.root
    assert reopened.config.subsystems == compiled.config.subsystems
    assert answers(reopened) == answers(compiled)


def test_a_large_map_answers_from_its_shards_as_compiled():
    """Maps of the index with thousands of keys are reopened shard by shard."""
    lines = ["version: 1", "root: {owners: [r]}", "subsystems:"]
    for i in range(400):
        paths = f"[/d{i % 40}/f{i}.c, 'd{i % 40}/*.h{i}', /e{i}/]"
        lines.append(f"- {{name: s{i}, owners: [o{i}], paths: {paths}}}")
    compiled = Ownership(load_config("\n".join(lines) + "\n"))
    body = cache.encode(compiled)
    assert len(json.loads(body.split(b"\n", 1)[0])["sharded"]) >= 2
    reopened = cache.decode(body, "OWNERS.yaml")
    paths = [
        p
        for i in range(0, 400, 7)
        for p in (f"d{i % 40}/f{i}.c", f"d{i % 40}/x.h{i}", f"e{i}/a/b.c", f"e{i}.c", f"d{i}/f")
    ]
    assert [reopened.requirements(p) for p in paths] == [compiled.requirements(p) for p in paths]
    assert reopened.config.subsystems == compiled.config.subsystems


# -- a lookup builds only the subsystems it names (owners.engine.model.ConfigByName) --------------

# 10,000 subsystems, each the parent of the next ten: s1234 owns d34/m1234/ and its chain of
# parents is s123, s12, s1, root.
TEN_THOUSAND = "version: 1\nroot: {owners: [r]}\nsubsystems:\n" + "".join(
    f"- {{name: s{i}, owners: [o{i}], paths: [/d{i % 100}/m{i}/]"
    + (f", parent: s{i // 10}}}\n" if i >= 10 else "}\n")
    for i in range(10_000)
)


def built_subsystems(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the subsystems the cache builds from its entries from now on."""
    built: set[str] = set()
    build = cache._build

    def recording(values: list[object], filename: str):
        built.add(str(values[0]))
        return build(values, filename)

    monkeypatch.setattr(cache, "_build", recording)
    return built


def test_who_on_a_cached_map_builds_only_the_subsystems_of_the_paths_chain(
    owners, tmp_path, monkeypatch
):
    git(tmp_path, "init", "-q")
    (tmp_path / "OWNERS.yaml").write_text(TEN_THOUSAND)
    monkeypatch.chdir(tmp_path)
    compiled = owners("who", "d34/m1234/x.c")  # compiles the map and keeps it
    built = built_subsystems(monkeypatch)
    assert owners("who", "d34/m1234/x.c") == compiled
    assert built == {"root", "s1234", "s123", "s12", "s1"}


def test_evaluating_a_change_on_a_reopened_map_builds_only_its_paths_chains(monkeypatch):
    body = cache.encode(Ownership(load_config(TEN_THOUSAND)))
    built = built_subsystems(monkeypatch)
    evaluation = evaluate(
        cache.decode(body, "OWNERS.yaml"), Change.of(["d34/m1234/x.c", "d56/m5656/y.c"])
    )
    assert [r.subsystem for r in evaluation.requirements] == ["s1234", "s5656"]
    assert built == {"root", "s1234", "s123", "s12", "s1", "s5656", "s565", "s56", "s5"}


def test_a_reopened_config_replaced_is_an_ordinary_complete_one():
    """What `dataclasses.replace` makes of a reopened config (owners.insight.review does)
    builds no more on demand: it has every subsystem, as a config read from the file."""
    compiled = Ownership(load_config(NOVA_OWNERS.read_bytes()))
    reopened = cache.decode(cache.encode(compiled), "OWNERS.yaml").config
    without_root_owners = dataclasses.replace(
        reopened, root=dataclasses.replace(reopened.root, owners=())
    )
    expected = dataclasses.replace(compiled.config, root=without_root_owners.root)
    assert type(without_root_owners) is type(expected)
    assert without_root_owners.subsystems == expected.subsystems
    assert answers(Ownership(without_root_owners)) == answers(Ownership(expected))


class Counting:
    """A compile function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: bytes, name: str) -> Ownership:
        self.calls += 1
        return Ownership(load_config(data, name))


@pytest.fixture
def disk(tmp_path: Path) -> cache.DiskCache:
    return cache.DiskCache(tmp_path / "maps")


def test_a_second_load_reopens_the_entry(disk):
    content, compile_map = NOVA_OWNERS.read_bytes(), Counting()
    first = cache.load(content, "OWNERS.yaml", disk, compile_map)
    second = cache.load(content, "OWNERS.yaml", disk, compile_map)
    assert compile_map.calls == 1
    assert answers(second) == answers(first)
    (entry,) = disk.folder.glob("*.json")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(disk.folder.stat().st_mode) == 0o700


def test_an_edited_file_is_compiled_again(disk):
    content, compile_map = NOVA_OWNERS.read_bytes(), Counting()
    cache.load(content, "OWNERS.yaml", disk, compile_map)
    edited = content.replace(b"approvals: 2", b"approvals: 1", 1)
    assert edited != content
    reopened = cache.load(edited, "OWNERS.yaml", disk, compile_map)
    assert compile_map.calls == 2
    assert answers(reopened) == answers(Ownership(load_config(edited)))


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: raw[:-10] + b"0123456789",  # corrupt body
        lambda raw: b"",  # empty
        lambda raw: b"not a cache entry at all",
    ],
    ids=["truncated", "corrupt", "empty", "garbage"],
)
def test_a_damaged_entry_is_detected_and_rebuilt(disk, damage):
    content, compile_map = NOVA_OWNERS.read_bytes(), Counting()
    cache.load(content, "OWNERS.yaml", disk, compile_map)
    (entry,) = disk.folder.glob("*.json")
    entry.write_bytes(damage(entry.read_bytes()))
    rebuilt = cache.load(content, "OWNERS.yaml", disk, compile_map)
    assert compile_map.calls == 2
    assert answers(rebuilt) == answers(Ownership(load_config(content)))
    assert disk.get(cache.key(content)) is not None  # rewritten whole


def test_a_stale_entry_under_the_right_name_is_not_trusted(disk):
    """Another file's entry (or another version's) renamed into place is refused."""
    old, compile_map = NOVA_OWNERS.read_bytes(), Counting()
    cache.load(old, "OWNERS.yaml", disk, compile_map)
    new = old.replace(b"approvals: 2", b"approvals: 1", 1)
    (entry,) = disk.folder.glob("*.json")
    os.replace(entry, disk.folder / f"{cache.key(new)}.json")
    reopened = cache.load(new, "OWNERS.yaml", disk, compile_map)
    assert compile_map.calls == 2
    assert answers(reopened) == answers(Ownership(load_config(new)))


def test_the_key_includes_the_version(monkeypatch):
    content = NOVA_OWNERS.read_bytes()
    before = cache.key(content)
    monkeypatch.setattr(cache, "_SALT", None)
    monkeypatch.setattr("owners.__version__", "99.0")
    assert cache.key(content) != before


def test_the_cli_reuses_the_map_and_never_a_stale_one(owners, git_repo, monkeypatch):
    monkeypatch.chdir(git_repo)
    folder = git_repo / ".git" / cache.FOLDER
    first = owners("who", "--json", "nova/compute/api.py")
    assert first.code == 0 and len(list(folder.glob("*.json"))) == 1
    assert owners("who", "--json", "nova/compute/api.py") == first
    config = git_repo / "OWNERS.yaml"
    config.write_bytes(config.read_bytes().replace(b"approvals: 2", b"approvals: 1", 1))
    edited = owners("who", "--json", "nova/compute/api.py")
    assert edited.json[0]["requirements"][0]["approvals"] == 1


# What `owners who` must not import when it answers from a compiled map: the YAML reader and
# the validation, the evaluation and reviewer suggestion, and anything of the service or the
# Gerrit client.
NOT_FOR_WHO = (
    "yaml", "owners.engine.config", "owners.engine.validation", "owners.engine.evaluation",
    "owners.engine.suggestion", "webhook.commands", "webhook", "flask", "huey", "redis",
    "requests", "pygerrit2", "owners.gerrit", "importlib.metadata", "zipfile",
)  # fmt: skip
IMPORTED_BY_WHO = """
import sys
from owners.cli import main
main(["who", "nova/compute/api.py"])
print(" ".join(sys.modules))
"""


def test_who_from_a_compiled_map_imports_only_what_it_needs(git_repo):
    """Start-up time is mostly imports: a regression here is a slower `owners who`."""

    def imported() -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", IMPORTED_BY_WHO],
            cwd=git_repo, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return set(done.stdout.split("\n")[-2].split())

    first = imported()  # compiles, with the YAML reader
    assert "owners.engine.config" in first
    again = imported()
    assert "owners.engine.resolution" in again
    assert [m for m in again if m.partition(".")[0] in NOT_FOR_WHO or m in NOT_FOR_WHO] == []


def test_no_cache_writes_nothing(owners, git_repo, monkeypatch):
    monkeypatch.chdir(git_repo)
    assert owners("who", "--no-cache", "nova/compute/api.py").code == 0
    assert not (git_repo / ".git" / cache.FOLDER).exists()


def test_the_service_compiles_a_revision_once_across_processes(disk, monkeypatch):
    content = NOVA_OWNERS.read_bytes()
    first, _ = SharedMaps(disk).compile(content)

    def no_parsing(*args: object) -> None:
        raise AssertionError("another process compiled what was shared")

    monkeypatch.setattr("owners.gerrit.compiled.parse_config", no_parsing)
    other, _ = SharedMaps(disk).compile(content)  # a new process: nothing in memory
    assert first is not None and other is not None
    assert answers(other) == answers(first)


def test_a_queued_job_wakes_a_waiting_worker_at_once(tmp_path):
    storage = WalStorage("owners", filename=str(tmp_path / "queue.db"))
    storage.POLL_SECONDS = 10.0  # only the doorbell can wake it in time
    got: list[bytes | None] = []
    waiter = threading.Thread(target=lambda: got.append(storage.dequeue()))
    waiter.start()
    time.sleep(0.2)  # the worker now waits on an empty queue
    started = time.monotonic()
    storage.enqueue(b"job")
    waiter.join(timeout=5)
    woke = time.monotonic() - started
    assert woke < 2, f"woke after {woke:.2f}s"
    assert got == [None]  # the waiting dequeue returns at the ring; huey's loop pops next
    assert storage.dequeue() == b"job"
