"""Every command the docs name runs through the installed console script (`.venv/bin/owners`),
in a process of its own, as a user runs it.

In-process tests import every command's module along the way, so a command missing from the
lazy command map (`owners.cli.base.COMMANDS`) passes them all and still answers "No such
command" in every real install.  These tests start from nothing, like the user.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWNERS = Path(sys.executable).parent / "owners"  # the console script pip installed
DOCUMENTED_IN = ("README.md", "docs/cli.md", "docs/format.md", "docs/deployment.md", "docs/api.md")


def documented_commands() -> list[str]:
    """The commands the user docs name as `owners NAME` (or in a console block)."""
    names: set[str] = set()
    for doc in DOCUMENTED_IN:
        text = (ROOT / doc).read_text()
        names.update(re.findall(r"(?:`|^\$ |^)owners ([a-z][a-z-]*)", text, re.MULTILINE))
    return sorted(names)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OWNERS), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_console_script_is_installed():
    assert OWNERS.is_file(), f"{OWNERS} missing: pip install -e . installs it"


def test_owners_help_lists_exactly_the_documented_commands():
    listed = re.findall(r"^  ([a-z][a-z-]*) ", run("--help").stdout, re.MULTILINE)
    assert sorted(listed) == documented_commands()


@pytest.mark.parametrize("command", documented_commands())
def test_each_documented_command_runs_in_a_fresh_process(command: str):
    done = run(command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: owners {command} "), done.stdout
    assert done.stderr == ""


def test_owners_schema_prints_the_published_schema():
    done = run("schema")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == json.loads((ROOT / "docs" / "owners.schema.json").read_text())


def test_the_format_reference_validate_example_passes_here():
    """docs/format.md's `owners validate tests/fixtures/nova-OWNERS.yaml`, in this checkout:
    the fixture's patterns name the Nova tree, not this repository's, so no tree warnings."""
    example = "owners validate tests/fixtures/nova-OWNERS.yaml"
    assert example in (ROOT / "docs" / "format.md").read_text()
    done = run("validate", "--strict", "tests/fixtures/nova-OWNERS.yaml")
    assert (done.returncode, done.stdout, done.stderr) == (0, "OK: 6 subsystems, 10 patterns\n", "")
