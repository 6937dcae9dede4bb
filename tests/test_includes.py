"""Delegated ownership files (`include:`): what an included file may say, where its errors
are reported, and that it can never reach outside its directory (docs/format.md, "Delegated
ownership files")."""

from __future__ import annotations

import pytest

from owners.engine import Ownership
from owners.engine.config import parse_config
from owners.engine.explanation import explain
from owners.engine.includes import include_paths

ROOT_FILE = b"""version: 1
include: [nova/virt/hyperv/OWNERS.yaml]
groups:
  nova-core: [carol, dave, erin]
root:
  owners: [nova-core]
  approvals: 2
subsystems:
  - name: virt
    paths: [nova/virt/]
    owners: [lena, victor]
"""
HYPERV = b"""version: 1
groups:
  hyperv-core: [alice, bob]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/, "!nova/virt/hyperv/README.rst"]
    owners: [hyperv-core]
    parent: virt
"""


def parse(root: bytes = ROOT_FILE, included: bytes | None = HYPERV):
    files = {"nova/virt/hyperv/OWNERS.yaml": included}
    return parse_config(root, read=files.get)


def errors(root: bytes = ROOT_FILE, included: bytes | None = HYPERV) -> list[str]:
    return [str(d) for d in parse(root, included)[1]]


def test_an_included_file_adds_its_subsystems_and_owns_itself() -> None:
    config, diagnostics = parse()
    assert config is not None and diagnostics == []
    assert config.includes == ("nova/virt/hyperv/OWNERS.yaml",)
    ownership = Ownership(config)
    assert ownership.requirements("nova/virt/hyperv/vmops.py") == ("hyperv",)
    assert ownership.requirements("nova/virt/hyperv/OWNERS.yaml") == ("hyperv",)
    assert ownership.own_owners("hyperv") == ("alice", "bob")


def test_explain_names_the_file_and_line_of_each_rule() -> None:
    config, _ = parse()
    matches = explain(Ownership(config), "nova/virt/hyperv/vmops.py").matches
    assert [str(m.location) for m in matches] == [
        "OWNERS.yaml:10:13",
        "nova/virt/hyperv/OWNERS.yaml:6:13",
    ]


def test_include_paths_lists_what_to_fetch() -> None:
    assert include_paths(ROOT_FILE) == ("nova/virt/hyperv/OWNERS.yaml",)
    assert include_paths(HYPERV) == ()


def test_include_paths_lists_each_includable_file_once_whatever_else_is_wrong() -> None:
    """What the service fetches is what reading the file would ask for: no path that cannot
    be included, no path twice, and the rest of the file's errors do not matter."""
    root = b"""version: 1
include: [a/OWNERS.yaml, ../x/OWNERS.yaml, a/OWNERS.yaml, b/OWNERS.yaml, b/CODEOWNERS]
root: {owners: []}
unknown: key
"""
    assert include_paths(root) == ("a/OWNERS.yaml", "b/OWNERS.yaml")
    assert include_paths(b"include: [a/OWNERS.yaml]\n\tversion: 1\n") == ()  # not YAML


@pytest.mark.parametrize(
    ("included", "message"),
    [
        pytest.param(
            HYPERV.replace(b"nova/virt/hyperv/, ", b"nova/compute/, "),
            "nova/virt/hyperv/OWNERS.yaml:6:13: pattern 'nova/compute/' of 'hyperv' is outside "
            "nova/virt/hyperv/",
            id="pattern-outside-its-directory",
        ),
        pytest.param(
            HYPERV.replace(b"nova/virt/hyperv/, ", b"'*.py', "),
            "nova/virt/hyperv/OWNERS.yaml:6:13: pattern '*.py' of 'hyperv' is outside",
            id="unanchored-pattern",
        ),
        pytest.param(
            HYPERV.replace(b"hyperv-core: [alice, bob]", b"nova-core: [zed]").replace(
                b"owners: [hyperv-core]", b"owners: [nova-core]"
            ),
            "nova/virt/hyperv/OWNERS.yaml:3:3: duplicate group 'nova-core'",
            id="redefines-a-root-alias",
        ),
        pytest.param(
            HYPERV.replace(b"version: 1\n", b"version: 1\nroot: {owners: [zed]}\n"),
            "nova/virt/hyperv/OWNERS.yaml:2:1: unknown key 'root' in an included file",
            id="no-root",
        ),
        pytest.param(
            HYPERV.replace(b"version: 1\n", b"version: 1\npolicy: {self_approval: true}\n"),
            "nova/virt/hyperv/OWNERS.yaml:2:1: unknown key 'policy' in an included file",
            id="no-policy",
        ),
        pytest.param(
            HYPERV.replace(b"owners: [hyperv-core]", b"owner: [hyperv-core]"),
            "nova/virt/hyperv/OWNERS.yaml:7:5: unknown key 'owner'",
            id="ordinary-errors-located-in-it",
        ),
        pytest.param(
            None,
            "OWNERS.yaml:2:11: included file 'nova/virt/hyperv/OWNERS.yaml' does not exist",
            id="missing",
        ),
    ],
)
def test_what_an_included_file_may_not_do(included: bytes | None, message: str) -> None:
    config, diagnostics = parse(included=included)
    assert config is None
    assert any(message in str(d) for d in diagnostics), [str(d) for d in diagnostics]


def test_the_root_file_cannot_use_an_included_files_group() -> None:
    root = ROOT_FILE.replace(b"owners: [lena, victor]", b"owners: [hyperv-core]")
    assert any(
        "OWNERS.yaml:11:14: group 'hyperv-core' of nova/virt/hyperv/OWNERS.yaml is used "
        "outside that file" in e
        for e in errors(root)
    )


def test_a_root_subsystem_cannot_take_an_included_subsystem_as_parent() -> None:
    root = (
        ROOT_FILE + b"  - name: compute\n    paths: [nova/compute/]\n    owners: [carol]\n"
        b"    parent: hyperv\n"
    )
    assert any(
        "subsystem 'compute' has parent 'hyperv' of nova/virt/hyperv" in e for e in errors(root)
    )


@pytest.mark.parametrize(
    "path",
    [
        "OWNERS.yaml",
        "/nova/OWNERS.yaml",
        "nova/../OWNERS.yaml",
        "nova/CODEOWNERS",
        "a/*/OWNERS.yaml",
    ],
)
def test_an_include_must_name_an_owners_file_in_a_subdirectory(path: str) -> None:
    root = ROOT_FILE.replace(b"[nova/virt/hyperv/OWNERS.yaml]", b"['" + path.encode() + b"']")
    assert any(e.startswith("OWNERS.yaml:2:") for e in errors(root)), errors(root)


def test_without_the_files_an_include_fails_closed() -> None:
    config, diagnostics = parse_config(ROOT_FILE)
    assert config is None
    assert "cannot read the included file" in str(diagnostics[0])
