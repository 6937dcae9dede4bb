"""`owners stats --waits` on what a real Gerrit writes into git at submit.

docs/cli.md says where each submit strategy leaves the landing time: merge-always in a merge
commit dated at submit, cherry-pick in the rewritten commit's committer date with a
`Reviewed-on:` trailer, fast-forward-only nowhere (the uploaded commit's own committer date).
Each test uploads a change authored three days ago, submits it on Gerrit, fetches the branch
and checks the wait the installed command reads against the clock around the submit.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import devgerrit
import pytest

from tests.conftest import OWNERS_SCRIPT
from tests.e2e.conftest import serve_copy

pytestmark = pytest.mark.e2e

PASSWORD = "alice-http-pw"
DAY = 86_400
MAP = "version: 1\nroot: {owners: [core]}\nsubsystems:\n  - {name: a, paths: [a/], owners: [ann]}\n"


@pytest.fixture(scope="module")
def gerrit(
    gerrit_dist: devgerrit.GerritDist,
    gerrit_site_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[devgerrit.GerritServer]:
    """Gerrit alone: no owners service votes here, so no submit-check plugin either."""
    for server in serve_copy(
        gerrit_dist, gerrit_site_template, tmp_path_factory, submit_check=False
    ):
        server.rest.create_account("alice", http_password=PASSWORD)
        yield server


def land_one_change(
    gerrit: devgerrit.GerritServer, workdir: Path, submit_type: str, authored: int, committed: int
) -> tuple[Path, str, float, float]:
    """Upload a change to a new project with `submit_type`, submit it as admin; the clone,
    the branch's commit before it, and the clock just before and after the submit."""
    project = f"waits/{submit_type.lower()}"
    gerrit.rest.create_project(project)
    gerrit.rest.put(f"projects/{devgerrit.quote(project)}/config", {"submit_type": submit_type})
    url = gerrit.git_url(project)
    repo = devgerrit.git_clone(url, workdir / submit_type, ("alice", PASSWORD))
    base = devgerrit.git(repo, "rev-parse", "HEAD").strip()
    (repo / "a").mkdir()
    (repo / "a" / "x.py").write_text("x = 1\n")
    devgerrit.git(repo, "add", "a/x.py")
    dates = {"GIT_AUTHOR_DATE": f"@{authored} +0000", "GIT_COMMITTER_DATE": f"@{committed} +0000"}
    identity = {
        "GIT_AUTHOR_NAME": "Alice",
        "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "Alice",
        "GIT_COMMITTER_EMAIL": "alice@example.com",
    }
    message = f"Add x\n\nChange-Id: I{authored:040x}"
    devgerrit.git(repo, "commit", "-q", "-m", message, env={**identity, **dates})
    devgerrit.git_push(repo, url, "alice", PASSWORD, "HEAD:refs/for/master")
    change = gerrit.rest.query_changes(f"project:{project}")[0]["_number"]
    gerrit.rest.post(f"changes/{change}/revisions/current/review", {"labels": {"Code-Review": 2}})
    before = time.time()
    gerrit.rest.post(f"changes/{change}/submit")
    after = time.time()
    devgerrit.git(repo, "fetch", "-q", url, "master", auth=("alice", PASSWORD))
    (workdir / "OWNERS.yaml").write_text(MAP)
    return repo, base, before, after


def waits(repo: Path, base: str, config: Path) -> dict:
    done = subprocess.run(
        [str(OWNERS_SCRIPT), "stats", "--waits", "--json", "--config", str(config),
         "--repo", str(repo), f"{base}..FETCH_HEAD"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return json.loads(done.stdout)["ranges"][0]


@pytest.mark.parametrize(
    ("submit_type", "landed_by"),
    [("MERGE_ALWAYS", "merge"), ("CHERRY_PICK", "reviewed_on")],
)
def test_a_submit_that_writes_a_commit_gives_the_submit_time(
    gerrit: devgerrit.GerritServer, tmp_path: Path, submit_type: str, landed_by: str
):
    authored = int(time.time()) - 3 * DAY
    repo, base, before, after = land_one_change(gerrit, tmp_path, submit_type, authored, authored)
    result = waits(repo, base, tmp_path / "OWNERS.yaml")
    assert result["commits"] == result["subsystems"]["a"] == 1
    assert result["waits"]["landed_by"] == {
        "merge": 0, "reviewed_on": 0, "committer_date": 0, landed_by: 1,
    }  # fmt: skip
    median = result["waits"]["subsystems"]["a"]["median"]
    assert int(before) - authored <= median <= after - authored + 1
    assert median > 3 * DAY - 60


def test_a_fast_forward_gives_only_the_uploaded_commits_date(
    gerrit: devgerrit.GerritServer, tmp_path: Path
):
    """Gerrit submits the very commit uploaded: its committer date, two days after its
    author date here, is all git knows, however long the change then waited."""
    authored = int(time.time()) - 3 * DAY
    repo, base, _, _ = land_one_change(
        gerrit, tmp_path, "FAST_FORWARD_ONLY", authored, authored + 2 * DAY
    )
    result = waits(repo, base, tmp_path / "OWNERS.yaml")
    assert result["waits"]["landed_by"]["committer_date"] == 1
    assert result["waits"]["subsystems"]["a"] == {"median": 2 * DAY, "p75": 2 * DAY}
