"""Shared fixtures: the Nova-shaped OWNERS.yaml, a throwaway git checkout and the `owners`
command run in-process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from owners.cli import main

# Hypothesis profiles: `dev` explores new inputs on every run; `ci` (chosen when CI is set)
# replays a fixed sequence, so a CI run cannot fail on inputs no developer saw; `fuzz` is a
# long local search. Pick one with HYPOTHESIS_PROFILE.
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=50_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--gerrit-version``: here, not in tests/e2e/, because pytest reads options only from
    the conftest files it loads at startup."""
    parser.addoption(
        "--gerrit-version",
        default=None,
        metavar="X.Y.Z",
        help="Gerrit release for the end-to-end and fault tests (default: $OWNERS_GERRIT_VERSION, "
        "else devgerrit's default; CI runs 3.10.2 and 3.11.0)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Pass ``--gerrit-version`` on as ``OWNERS_GERRIT_VERSION``, which devgerrit reads at
    every ``ensure_gerrit()``: the fixtures, novademo and any process a test starts then all run
    the same Gerrit without each taking a parameter."""
    version = config.getoption("--gerrit-version")
    if version:
        os.environ["OWNERS_GERRIT_VERSION"] = version


def pytest_report_header(config: pytest.Config) -> str:
    """Name the Gerrit a run used, so a failure report says which version it was."""
    import devgerrit  # on sys.path through pyproject's pythonpath (deploy/)

    return f"gerrit: {os.environ.get('OWNERS_GERRIT_VERSION') or devgerrit.GERRIT_VERSION}"


FIXTURES = Path(__file__).parent / "fixtures"
NOVA_OWNERS = FIXTURES / "nova-OWNERS.yaml"


@pytest.fixture
def nova_bytes() -> bytes:
    return NOVA_OWNERS.read_bytes()


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity and no user or system configuration."""
    done = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "HOME": str(cwd),
        },
    )
    return done.stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A Nova-like checkout on branch `topic` tracking `origin/master`, with one change on top:
    a Hyper-V file renamed into the VMware driver and a libvirt file edited."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    origin = tmp_path / "origin.git"
    repo = tmp_path / "nova"
    repo.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "master", str(origin))
    git(repo, "init", "-q", "-b", "master")
    files = {
        "OWNERS.yaml": NOVA_OWNERS.read_text(),
        "README.rst": "nova\n",
        "nova/compute/manager.py": "# compute\n",
        "nova/virt/driver.py": "# driver api\n",
        "nova/virt/fake.py": "# fake\n",
        "nova/virt/hyperv/vmops.py": "# hyperv vm operations\n",
        "nova/virt/hyperv/README.rst": "hyperv\n",
        "nova/virt/libvirt/driver.py": "# libvirt\n",
        "nova/virt/vmwareapi/driver.py": "# vmware\n",
        "nova/virt/xenapi/vmops.py": "# xenapi\n",
    }
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "master")
    git(repo, "checkout", "-q", "-b", "topic", "--track", "origin/master")
    git(repo, "mv", "nova/virt/hyperv/vmops.py", "nova/virt/vmwareapi/vmops.py")
    (repo / "nova/virt/libvirt/driver.py").write_text("# libvirt, edited\n")
    git(repo, "commit", "-q", "-am", "move vmops")
    return repo


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


@pytest.fixture
def owners(capsys: pytest.CaptureFixture[str]):
    """Run `owners ARGS...` in-process, as the installed command would."""

    def run(*args: str) -> Result:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


OWNERS_SCRIPT = Path(sys.executable).parent / "owners"  # the console script pip installed


def run_script(cwd: Path, *args: str) -> Result:
    """Run the installed `owners` command in a process of its own, as the user does."""
    done = subprocess.run(
        [str(OWNERS_SCRIPT), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    return Result(done.returncode, done.stdout, done.stderr)


def one_line_error(result: Result, code: int, text: str) -> None:
    assert result.code == code, result
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.endswith("\n"), result.err
    assert result.err.startswith("owners: ")
    assert text in result.err, result.err
    assert "Traceback" not in result.err


class ReplayedGerrit:
    """pygerrit2's `GerritRestAPI` answering from REST answers recorded on the dev Gerrit
    (tests/fixtures/gerrit/record_directory.py), keyed as that script keys them; a call it
    has no answer for fails the test rather than inventing one."""

    def __init__(self, *_: object, **__: object) -> None:
        self.answers = json.loads((FIXTURES / "gerrit" / "directory.json").read_text())
        self.calls: list[str] = []

    def get(self, path: str, params: dict | None = None, **_: object) -> object:
        import requests

        items = (params or {}).items()
        pairs = sorted((k, v) for k, vs in items for v in (vs if isinstance(vs, list) else [vs]))
        name = path + ("?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else "")
        self.calls.append(name)
        assert name in self.answers, f"no recorded answer for GET {name}"
        answer = self.answers[name]
        if isinstance(answer, dict) and set(answer) == {"status", "text"}:
            response = requests.Response()
            response.status_code, response._content = answer["status"], answer["text"].encode()
            raise requests.HTTPError(response=response)
        return answer
