"""The base install (`pip install .`, no extras) runs every command, or says in one line which
extra a command needs and the pip command that adds it: never a traceback.

One venv per session, built like a user's: the pinned base dependencies of
requirements/base.txt (hash-checked), then a copy of the project without its extras.  It
takes some seconds (more with an empty pip cache); deselect with `-m "not install"`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from owners.cli.base import COMMANDS as COMMAND_MODULES

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
# the service's commands, which the `owners` group loads through these entry points
SERVICE_COMMANDS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
    "entry-points"
]["owners.commands"]
SERVICE = "needs the service extra: pip install 'gerrit-owners[service]'"
PLOT = "needs the plot extra: pip install 'gerrit-owners[plot]'"
NO_SETTINGS = "owners: OWNERS_GERRIT_URL is required (e.g. https://review.example.org)"


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )


def _env() -> dict[str, str]:
    """This environment without the service's settings and anything that would let the
    venv see another one's packages."""
    drop = ("OWNERS_", "PYTHON", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.fixture(scope="session")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("base-install")
    source = where / "src"  # a copy, so building leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("owners", "webhook"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = where / "venv"
    python = venv / "bin" / "python"
    quiet = ("-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    for step in (
        (sys.executable, "-m", "venv", venv),
        (python, *quiet, "--require-hashes", "-r", ROOT / "requirements" / "base.txt"),
        (python, *quiet, "--no-deps", "--no-build-isolation", source),
    ):
        done = _run(*step, cwd=where)
        assert done.returncode == 0, f"{step}: {done.stderr}"
    return venv


def test_the_venv_has_the_base_install_alone(base_venv: Path):
    probe = "import importlib.util as u; print([m for m in {} if u.find_spec(m)])"
    extras = ["flask", "huey", "redis", "prometheus_client", "matplotlib", "jinja2", "pytest"]
    done = _run(base_venv / "bin" / "python", "-c", probe.format(extras))
    assert done.stdout.strip() == "[]"
    done = _run(base_venv / "bin" / "python", "-c", "import requests, pygerrit2, yaml, click")
    assert done.returncode == 0, done.stderr


COMMANDS = [
    # the service itself: the service extra, named with the command
    (["serve"], f"owners serve: {SERVICE}"),
    (["worker"], f"owners worker: {SERVICE}"),
    (["reconcile"], f"owners reconcile: {SERVICE}"),
    (["dead-letters"], f"owners dead-letters: {SERVICE}"),
    (["dead-letters", "--replay"], f"owners dead-letters: {SERVICE}"),
    # what contributors and admins ask of Gerrit runs on the base install: here it gets as far
    # as the missing settings
    (["check", "--change", "1"], NO_SETTINGS),
    (["report", "--project", "nova"], NO_SETTINGS),
    (["gerrit-setup", "--project", "nova", "--service-url", "http://x"], NO_SETTINGS),
    # charts need the plot extra, and say so before any Gerrit traffic
    (["report", "--project", "nova", "--plot", "waits.svg"], f"owners report: {PLOT}"),
    (["report", "--project", "nova", "--html", "waits.html"], f"owners report: {PLOT}"),
]


@pytest.mark.parametrize(("args", "message"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_each_command_runs_or_names_its_extra(
    base_venv: Path, tmp_path: Path, args: list[str], message: str
):
    done = _run(base_venv / "bin" / "owners", *args, cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines() == [message]
    assert done.returncode == (2 if args[0] == "check" else 1)  # check: 2 is "no verdict"
    assert done.stdout == ""


def test_each_commands_help_runs_through_the_console_script(base_venv: Path, tmp_path: Path):
    """`owners --help` lists every command, and each one's --help works in the base install
    (a fresh process: a command missing from the lazy map is "No such command" here)."""
    done = _run(base_venv / "bin" / "owners", "--help", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    listed = re.findall(r"^  ([a-z][a-z-]*) ", done.stdout, re.MULTILINE)
    assert sorted(listed) == sorted([*COMMAND_MODULES, *SERVICE_COMMANDS])
    failures = []
    for command in listed:
        done = _run(base_venv / "bin" / "owners", command, "--help", cwd=tmp_path)
        if done.returncode != 0 or not done.stdout.startswith(f"Usage: owners {command} "):
            failures.append(f"{command}: exit {done.returncode}: {done.stderr.strip()}")
    assert failures == []


def test_the_checkout_commands_run(base_venv: Path, tmp_path: Path):
    fixture = ROOT / "tests" / "fixtures" / "nova-OWNERS.yaml"
    done = _run(base_venv / "bin" / "owners", "validate", "--config", fixture, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    done = _run(
        base_venv / "bin" / "owners",
        "who",
        "--config",
        fixture,
        "nova/virt/hyperv/x.py",
        cwd=tmp_path,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip()
