"""A throwaway dev Gerrit with the demo's Nova project and the service, for the benchmarks that
need a real Gerrit (evaluation, end to end)."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))
import devgerrit
import novademo

GERRIT_SKIPPED = "skipped by --quick (it starts a Gerrit); the full run measures it"


@contextlib.contextmanager
def nova_project() -> Iterator[novademo.Nova]:
    """Gerrit, the provisioned Nova project and the service running; all removed on exit."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-gerrit-"))
    try:
        site = devgerrit.build_site(scratch / "site")
        with (
            devgerrit.GerritServer(site) as gerrit,
            contextlib.redirect_stdout(sys.stderr),
            novademo.running(gerrit, scratch / "work") as nova,
        ):
            yield nova
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
