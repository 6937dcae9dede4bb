"""Fault tests: one real Gerrit for the whole folder (tests/e2e builds its own), a fresh project
per test, the service as real processes.  Each test records its figures; they are printed at
the end of the run (and written to $OWNERS_FAULT_FIGURES when set)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import devgerrit
import devredis
import pytest

from tests.faults.harness import FIGURES, Project, provision_accounts


@pytest.fixture(scope="session")
def fault_gerrit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devgerrit.GerritServer]:
    missing = [tool for tool in ("java", "javac", "jar", "mvn", "git") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"fault tests need {', '.join(missing)} on PATH")
    dist = devgerrit.ensure_gerrit()
    site = devgerrit.build_site(tmp_path_factory.mktemp("fault-gerrit") / "site", dist)
    with devgerrit.GerritServer(site, dist=dist) as server:
        provision_accounts(server)
        yield server


@pytest.fixture
def project(
    fault_gerrit: devgerrit.GerritServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Project]:
    yield from _project(fault_gerrit, request, tmp_path, configure=True)


@pytest.fixture
def project_without_webhook(
    fault_gerrit: devgerrit.GerritServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Project]:
    """A project whose changes can be pushed before any event goes out: the test calls
    `configure` when the service is to hear of it."""
    yield from _project(fault_gerrit, request, tmp_path, configure=False)


def _project(
    gerrit: devgerrit.GerritServer, request: pytest.FixtureRequest, tmp_path: Path, configure: bool
) -> Iterator[Project]:
    name = "faults/" + request.node.name.removeprefix("test_").replace("_", "-")[:40]
    created = Project(gerrit, name, tmp_path).create(configure)
    try:
        yield created
    finally:
        created.stop_all()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[str]:
    """A redis-server of our own on a random loopback port, persisting nothing."""
    if not devredis.available():
        pytest.skip("redis-server is not installed (deploy/test.sh installs it)")
    with devredis.redis_server(tmp_path) as url:
        yield url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault figures")
    for test, found in FIGURES.items():
        terminalreporter.write_line(f"{test}: " + ", ".join(f"{k}={v}" for k, v in found.items()))
    path = os.environ.get("OWNERS_FAULT_FIGURES")
    if path:
        Path(path).write_text(json.dumps(FIGURES, indent=2) + "\n")
