"""End to end: the names of OWNERS.yaml checked against the dev Gerrit's accounts and groups,
by `owners validate --gerrit` and by the bot on a change that proposes an OWNERS.yaml.

The demo's Nova project (deploy/novademo.py) has an account for every person the Nova
fixture names.  `hyperv-team`, meant as an alias but never defined, passes offline as a
username; Gerrit has no such account.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from novademo import NOVA_OWNERS, Nova

pytestmark = pytest.mark.e2e

TYPO_OWNERS = NOVA_OWNERS.read_text().replace(
    "  hyperv-core: [alice, bob@example.org]\n",
    "  hyperv-core: [alice, bob@example.org, hyperv-team]\n",
    1,
)
TYPO_AT = next(
    f"OWNERS.yaml:{number}:{line.index('hyperv-team') + 1}"
    for number, line in enumerate(TYPO_OWNERS.splitlines(), 1)
    if "hyperv-team" in line
)
TYPO_ERROR = f"{TYPO_AT}: 'hyperv-team' is neither an alias nor a Gerrit username"


def validate(nova: Nova, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`owners validate --gerrit` as the bot, with the service's settings."""
    return subprocess.run(
        [sys.executable, "-m", "owners.cli", "validate", "--gerrit", "--no-tree", *args, path.name],
        cwd=path.parent,
        env=nova.service_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_validate_gerrit_finds_the_name_no_account_holds(nova: Nova, tmp_path: Path) -> None:
    good = tmp_path / "OWNERS.yaml"
    good.write_text(NOVA_OWNERS.read_text())
    clean = validate(nova, good)
    assert (clean.returncode, clean.stderr) == (0, ""), clean
    assert "neither an alias" not in clean.stdout

    good.write_text(TYPO_OWNERS)
    offline = subprocess.run(
        [sys.executable, "-m", "owners.cli", "validate", "--no-tree", good.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert offline.returncode == 0, offline  # a bare name passes offline as a username
    typo = validate(nova, good)
    assert typo.returncode == 1, typo
    assert typo.stdout.splitlines()[0].startswith(TYPO_ERROR), typo.stdout


def test_the_bot_blocks_a_proposed_owners_yaml_naming_nobody(nova: Nova) -> None:
    number = nova.push_change("carol", {"OWNERS.yaml": TYPO_OWNERS}, "owners: hyperv-team")
    comment = nova.wait_for_comment(number)
    assert comment.startswith("Owners: BLOCKED"), comment
    assert "The OWNERS.yaml proposed by this change:" in comment
    assert TYPO_ERROR in comment
    assert nova.wait_for_bot(number, -1) == -1


def test_a_wrong_password_or_url_names_what_to_check(nova: Nova, tmp_path: Path) -> None:
    """Against the real Gerrit and the real service: one line naming the URL, the reason and
    the setting, never the password."""
    path = tmp_path / "OWNERS.yaml"
    path.write_text(NOVA_OWNERS.read_text())
    env = nova.service_env()

    def run(**settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).parent / "owners"), "validate", "--gerrit", "--no-tree",
             path.name],
            cwd=tmp_path, env={**env, **settings}, capture_output=True, text=True,
            check=False, timeout=60,
        )  # fmt: skip

    wrong = run(OWNERS_GERRIT_PASSWORD="not-the-password")
    assert wrong.returncode == 1
    (line,) = wrong.stderr.splitlines()
    assert f"HTTP 401 from {nova.gerrit.url}: Gerrit refused user 'owners-bot' and its " in line
    assert "check OWNERS_GERRIT_USER and OWNERS_GERRIT_PASSWORD_FILE" in line
    assert "not-the-password" not in line

    assert nova.service_url
    service = run(OWNERS_GERRIT_URL=nova.service_url)
    assert service.returncode == 1
    (line,) = service.stderr.splitlines()
    assert line.endswith(
        f"HTTP 404 from {nova.service_url}, not in Gerrit's form: is this a Gerrit? check "
        "OWNERS_GERRIT_URL (Gerrit's base URL, not the service's)"
    ), line
