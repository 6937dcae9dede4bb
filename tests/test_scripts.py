"""deploy/demo.sh and deploy/test.sh say what they are doing before they do it: the demo's
silent install looked hung, and test.sh run as root changed the machine without a word.

Each script runs from a copy of deploy/ with stand-ins for python3, apt-get and id first on
PATH, which record their calls in the output instead of installing anything.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON_STUB = """#!/bin/sh
# python3 -m venv .venv makes a .venv/bin/python that records its calls
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0
fi
echo "RUN python $*"
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "deploy", repo / "deploy", ignore=shutil.ignore_patterns("*.py*"))
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    stubs = {
        "python3": PYTHON_STUB,
        "apt-get": '#!/bin/sh\necho "RUN apt-get $*"\n',
        "id": "#!/bin/sh\necho 0\n",  # as root
    }
    for name, text in stubs.items():
        (bin_ / name).write_text(text)
        (bin_ / name).chmod(0o755)
    for tool in ("dirname", "mkdir", "cp", "cat"):  # what the scripts and stubs need, no more
        (bin_ / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    return repo, {"PATH": str(bin_), "HOME": str(tmp_path)}


def run(repo: Path, env: dict[str, str], script: str) -> list[str]:
    """The script's output lines, stderr and stdout in the order written."""
    done = subprocess.run(
        ["/bin/bash", str(repo / "deploy" / script)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        timeout=60,
    )  # fmt: skip
    return done.stdout.splitlines()


def test_demo_says_what_it_installs_before_each_silent_step(sandbox):
    repo, env = sandbox
    lines = run(repo, env, "demo.sh")
    steps = [line for line in lines if line.startswith(("demo.sh: ", "RUN "))]
    expected = [
        "demo.sh: creating .venv",
        "demo.sh: installing the pinned dependencies into .venv (requirements/service.txt; ",
        "RUN python -m pip install -qq --disable-pip-version-check --require-hashes",
        "demo.sh: installing gerrit-owners into .venv (the command: .venv/bin/owners)",
        "RUN python -m pip install -qq --disable-pip-version-check --no-deps",
        "demo.sh: starting Gerrit, the owners service and the demo project",
        "RUN python deploy/novademo.py",
    ]
    assert len(steps) == len(expected), lines
    for step, start in zip(steps, expected, strict=True):
        assert step.startswith(start), lines


def test_test_sh_as_root_says_what_it_installs_before_installing(sandbox):
    repo, env = sandbox
    lines = run(repo, env, "test.sh")
    apt = [i for i, line in enumerate(lines) if line.startswith("RUN apt-get")]
    told = [i for i, line in enumerate(lines) if line.startswith("test.sh: redis-server is")]
    assert lines[told[0]] == (
        "test.sh: redis-server is missing; installing the Debian package redis-server "
        "(apt-get update, then apt-get install -y redis-server), since the Redis fault test "
        "will be skipped without it"
    )
    assert told[0] < apt[0], lines
    assert any(line.startswith("test.sh: chromium is missing; installing") for line in lines)


def test_the_demo_prints_commands_that_run_without_activating_the_venv():
    import novademo  # deploy/ is on sys.path (pyproject's pythonpath)

    owners = Path(novademo.owners_command())
    assert owners.is_absolute() and owners.is_file(), owners
    source = (ROOT / "deploy" / "novademo.py").read_text()
    bare = re.findall(r"print\(.*[\"; ]owners (?:who|check|suggest)\b.*", source)
    assert bare == [], "print {owners}, the full path, not a bare owners"
