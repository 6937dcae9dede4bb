"""Fixtures running a real Gerrit (see deploy/devgerrit.py) for end-to-end tests.

The site is built once per test session (``init`` takes seconds) and copied for every test
module, so each module gets a pristine Gerrit of its own while paying only for a copy and a
daemon start. Tests using these fixtures should carry ``pytest.mark.e2e``; deselect them with
``-m "not e2e"``.

``nova`` is the demo's project (deploy/novademo.py) on the module's Gerrit, with ``owners
serve`` running and configured by ``owners gerrit-setup``: the tests and the demo share one
setup. ``nova_events`` records every webhook delivery Gerrit makes for that project.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import devgerrit
import novademo
import pytest


@pytest.fixture(scope="session")
def gerrit_dist() -> devgerrit.GerritDist:
    """Gerrit's jars and the webhooks plugin, from the shared cache (downloaded on first use)."""
    missing = [tool for tool in ("java", "javac", "jar", "mvn", "git") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"end-to-end tests need {', '.join(missing)} on PATH")
    return devgerrit.ensure_gerrit()


@pytest.fixture(scope="session")
def gerrit_site_template(
    gerrit_dist: devgerrit.GerritDist, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A built, never started site that :func:`gerrit` copies."""
    return devgerrit.build_site(tmp_path_factory.mktemp("gerrit-template") / "site", gerrit_dist)


@pytest.fixture(scope="module")
def gerrit(
    gerrit_dist: devgerrit.GerritDist,
    gerrit_site_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[devgerrit.GerritServer]:
    """A running Gerrit for the test module, stopped (and its copy left in tmp) afterwards."""
    yield from serve_copy(gerrit_dist, gerrit_site_template, tmp_path_factory)


def serve_copy(
    dist: devgerrit.GerritDist,
    template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    submit_check: bool = True,
    ssh: bool = False,
) -> Iterator[devgerrit.GerritServer]:
    """Run a copy of the template site; without `submit_check`, the owners-submit-check
    plugin is taken out (it refuses every submit until an owners service is configured);
    with `ssh`, Gerrit also listens for SSH on loopback (Zuul's stream-events)."""
    site = devgerrit.clone_site(template, tmp_path_factory.mktemp("gerrit") / "site")
    if not submit_check:
        devgerrit.remove_submit_check(site)
    with devgerrit.GerritServer(site, dist=dist, ssh=ssh) as server:
        yield server


@pytest.fixture
def event_receiver() -> Iterator[devgerrit.EventReceiver]:
    """A loopback endpoint recording what the webhooks plugin posts to it."""
    with devgerrit.EventReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def nova_events() -> Iterator[devgerrit.EventReceiver]:
    """Every webhook delivery Gerrit makes for the ``nova`` project of the module."""
    with devgerrit.EventReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def nova(
    gerrit: devgerrit.GerritServer,
    nova_events: devgerrit.EventReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[novademo.Nova]:
    """The demo's Nova project with the owners service enforcing it, as ``deploy/demo.sh``
    sets it up; Gerrit also posts the project's events to ``nova_events``."""
    workdir = tmp_path_factory.mktemp("nova")
    with novademo.running(gerrit, workdir, events_url=nova_events.url) as project:
        yield project
