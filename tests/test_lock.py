"""requirements/*.txt, the pinned and hashed dependencies that deploy/test.sh, deploy/demo.sh
and CI install, still fit pyproject.toml: a dependency added or tightened there without
running deploy/lock.sh fails here, not on the next fresh machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)

# each file and what it must pin: the base dependencies, the extras named, the `tools` group
LOCKS = {
    "base.txt": (),
    "service.txt": ("service",),
    "test.txt": ("service", "plot", "bench", "test"),
}


def pins(name: str) -> dict[str, set[Version]]:
    """Each package of a lock file and its versions (two where a marker splits them)."""
    found: dict[str, set[Version]] = {}
    for package, version in PIN.findall((ROOT / "requirements" / name).read_text()):
        found.setdefault(canonicalize_name(package), set()).add(Version(version))
    return found


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    project = PROJECT["project"]
    texts = [*project["dependencies"], *PROJECT["dependency-groups"]["tools"]]
    for extra in extras:
        texts += project["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items(), ids=list(LOCKS))
def test_each_declared_dependency_is_pinned_within_its_range(lock: str, extras: tuple[str, ...]):
    pinned = pins(lock)
    for requirement in declared(extras):
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in requirements/{lock}: run deploy/lock.sh"
        for version in versions:
            assert version in requirement.specifier, f"{requirement} vs {version} in {lock}"


def test_every_pin_has_a_hash():
    for lock in LOCKS:
        text = (ROOT / "requirements" / lock).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1])
        for entry in entries:
            if PIN.match(entry):
                assert "--hash=sha256:" in entry, f"{lock}: {entry.splitlines()[0]}"


def test_the_subsets_pin_the_same_versions_as_test_txt():
    everything = pins("test.txt")
    for lock in ("base.txt", "service.txt"):
        for package, versions in pins(lock).items():
            assert versions <= everything[package], f"{package} in {lock}"
