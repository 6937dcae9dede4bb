"""A Nova-shaped project on a dev Gerrit, with the owners service enforcing it.

Used by the demo (`python deploy/novademo.py`, started by `deploy/demo.sh`) and by the
end-to-end tests, so that what the tests prove is what the demo shows.  Everything runs on
127.0.0.1; the HTTP passwords are throwaway values for a throwaway Gerrit.

The deployment model it sets up is the one the deployment guide describes: every lieutenant
gets Code-Review +2 on the whole project, because Gerrit cannot scope a permission to a path;
the owners label and its submit requirement confine each +2 to the paths its holder owns.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import devgerrit
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
NOVA_OWNERS = REPO_ROOT / "tests" / "fixtures" / "nova-OWNERS.yaml"
BOT = "owners-bot"
LABEL = "Owner-Approval"
LIEUTENANTS_GROUP = "Nova Lieutenants"
# username -> email; the emails match the fixture where it names people by email
PEOPLE = {
    "carol": "carol@example.org",
    "dave": "dave@example.org",
    "erin": "erin@example.org",
    "alice": "alice@example.org",
    "bob": "bob@example.org",
    "victor": "victor@example.org",
    "wendy": "wendy@example.org",
    "lena": "lena@example.org",
    "luke": "luke@example.org",
    "xavier": "xavier@example.org",
    "yuri": "yuri@example.org",
    "dora": "dora@example.org",
    "zed": "zed@example.org",  # a contributor who owns nothing
}
TREE = {
    "README.rst": "Nova, in miniature.\n",
    "nova/compute/api.py": "# compute API\n",
    "nova/virt/driver.py": "# the virt driver API\n",
    "nova/virt/hyperv/driver.py": "# Hyper-V driver\n",
    "nova/virt/hyperv/README.rst": "Hyper-V notes\n",
    "nova/virt/vmwareapi/vm.py": "# VMware driver\n",
    "nova/virt/libvirt/host.py": "# libvirt driver\n",
    "nova/virt/xenapi/vm.py": "# XenAPI driver\n",
    "nova/tests/unit/virt/hyperv/test_driver.py": "# tests\n",
}


def password(username: str) -> str:
    return f"{username}-demo-pw"


@dataclass
class Nova:
    """The provisioned project: who is who, where the clone is, how to reach the service."""

    gerrit: devgerrit.GerritServer
    project: str
    workdir: Path
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    service: subprocess.Popen[bytes] | None = None
    service_url: str = ""

    def rest(self, username: str) -> devgerrit.GerritRest:
        if username == "admin":
            return self.gerrit.rest
        return devgerrit.GerritRest(self.gerrit.url, (username, password(username)))

    def service_env(self, user: str = BOT) -> dict[str, str]:
        secret = self.gerrit.admin_auth[1] if user == "admin" else password(user)
        return {
            **os.environ,
            "OWNERS_GERRIT_URL": self.gerrit.url,
            "OWNERS_GERRIT_USER": user,
            "OWNERS_GERRIT_PASSWORD": secret,
            "OWNERS_WEBHOOK_TOKEN": self.token,
            "OWNERS_LABEL": LABEL,
            "OWNERS_FALLBACK_OWNERS": "carol,dave,erin",
        }

    # -- changes ----------------------------------------------------------------------------

    def push_change(self, author: str, files: Mapping[str, str | None], subject: str) -> int:
        """Commit `files` on a fresh branch from master as `author`, push it for review."""
        clone = self.workdir / f"clone-{author}"
        if not clone.exists():
            devgerrit.git_clone(
                self.gerrit.git_url(self.project), clone, (author, password(author))
            )
        devgerrit.git(
            clone, "fetch", "--quiet", "origin", "master", auth=(author, password(author))
        )
        devgerrit.git(clone, "checkout", "--quiet", "--detach", "FETCH_HEAD")
        devgerrit.git_commit(clone, subject, files, author=(author.title(), PEOPLE[author]))
        return self._push(clone, author)

    def amend_change(self, author: str, number: int, files: Mapping[str, str | None]) -> None:
        """Upload a new patch set of change `number` adding `files`."""
        clone = self.workdir / f"clone-{author}"
        change = self.rest(author).get(f"changes/{number}?o=CURRENT_REVISION")
        ref = change["revisions"][change["current_revision"]]["ref"]
        devgerrit.git(clone, "fetch", "--quiet", "origin", ref, auth=(author, password(author)))
        devgerrit.git(clone, "checkout", "--quiet", "--detach", "FETCH_HEAD")
        for name, content in files.items():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_text(content or "")
            devgerrit.git(clone, "add", "--", name)
        identity = {"GIT_COMMITTER_NAME": author.title(), "GIT_COMMITTER_EMAIL": PEOPLE[author]}
        devgerrit.git(clone, "commit", "--quiet", "--amend", "--no-edit", env=identity)
        self._push(clone, author)

    def _push(self, clone: Path, author: str) -> int:
        sha = devgerrit.git(clone, "rev-parse", "HEAD").strip()
        devgerrit.git_push(
            clone,
            self.gerrit.git_url(self.project),
            author,
            password(author),
            "HEAD:refs/for/master",
        )
        found = self.rest(author).query_changes(f"commit:{sha}")
        return int(found[0]["_number"])

    def vote(self, username: str, number: int, value: int, label: str = "Code-Review") -> None:
        self.rest(username).post(
            f"changes/{number}/revisions/current/review", {"labels": {label: value}}
        )

    def bot_vote(self, number: int) -> int | None:
        """The bot's current vote on the owners label, or None when it has not voted."""
        change = self.gerrit.rest.get(f"changes/{number}/detail?o=DETAILED_LABELS")
        for vote in change.get("labels", {}).get(LABEL, {}).get("all", []):
            if vote.get("username") == BOT:
                return int(vote.get("value", 0))
        return None

    def wait_for_bot(self, number: int, expected: int, timeout: float = 60.0) -> int | None:
        """Poll until the bot's vote on `number` is `expected`; return the last vote seen."""
        deadline = time.monotonic() + timeout
        seen = self.bot_vote(number)
        while seen != expected and time.monotonic() < deadline:
            time.sleep(0.2)
            seen = self.bot_vote(number)
        return seen

    # -- the service ------------------------------------------------------------------------

    def start_service(self, port: int | None = None) -> str:
        port = port or devgerrit.free_port()
        log = (self.workdir / "service.log").open("ab")
        self.service = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "owners.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=self.service_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        self.service_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.service_url}/healthz", timeout=1).ok:
                    return self.service_url
            except requests.ConnectionError:
                time.sleep(0.1)
            if self.service.poll() is not None:
                break
        raise RuntimeError(f"the owners service did not start; see {self.workdir}/service.log")

    def stop_service(self) -> None:
        if self.service is not None and self.service.poll() is None:
            self.service.send_signal(signal.SIGTERM)
            self.service.wait(timeout=10)
        self.service = None


def provision(
    gerrit: devgerrit.GerritServer,
    workdir: Path,
    project: str = "nova",
    owners_yaml: bytes | None = None,
) -> Nova:
    """Accounts, lieutenants' +2, the project with its tree and OWNERS.yaml."""
    workdir.mkdir(parents=True, exist_ok=True)
    nova = Nova(gerrit, project, workdir)
    admin = gerrit.rest
    for username, email in {**PEOPLE, BOT: f"{BOT}@example.org"}.items():
        try:
            admin.create_account(username, http_password=password(username), email=email)
        except devgerrit.GerritError as error:
            if error.status != 409:  # already there from an earlier provisioning
                raise
    _ensure_group(admin, LIEUTENANTS_GROUP, [u for u in PEOPLE if u != "zed"])
    admin.create_project(project)
    group = admin.get(f"groups/{devgerrit.quote(LIEUTENANTS_GROUP)}")
    admin.post(
        f"projects/{devgerrit.quote(project)}/access",
        {
            "add": {
                "refs/heads/*": {
                    "permissions": {
                        "label-Code-Review": {
                            "rules": {group["id"]: {"action": "ALLOW", "min": -2, "max": 2}}
                        }
                    }
                }
            }
        },
    )
    seed = workdir / "seed"
    devgerrit.git_clone(gerrit.git_url(project), seed, gerrit.admin_auth)
    content = (owners_yaml or NOVA_OWNERS.read_bytes()).decode()
    devgerrit.git_commit(
        seed,
        "Import the Nova tree and its OWNERS.yaml",
        {**TREE, "OWNERS.yaml": content},
        author=("Administrator", admin.get("accounts/self")["email"]),
    )
    devgerrit.git_push(seed, gerrit.git_url(project), *gerrit.admin_auth, "HEAD:refs/heads/master")
    return nova


def _ensure_group(admin: devgerrit.GerritRest, name: str, members: list[str]) -> None:
    try:
        admin.create_group(name, members)
    except devgerrit.GerritError as error:
        if error.status != 409:
            raise
        admin.add_group_members(name, members)


def gerrit_setup(nova: Nova) -> str:
    """Run `owners gerrit-setup` as the administrator, as an admin would."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "owners.cli",
            "gerrit-setup",
            "--project",
            nova.project,
            "--service-url",
            nova.service_url,
            "--bot",
            BOT,
        ],
        env=nova.service_env(user="admin"),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"owners gerrit-setup failed: {done.stderr.strip()}")
    return done.stdout


def main() -> int:
    """Start everything, play a few changes, print where to look, wait for Ctrl-C."""
    demo = REPO_ROOT / ".demo"
    shutil.rmtree(demo / "work", ignore_errors=True)
    dist = devgerrit.ensure_gerrit()
    site = demo / "gerrit"
    if site.exists():
        shutil.rmtree(site)
    devgerrit.build_site(site, dist)
    signal.signal(signal.SIGTERM, _interrupt)  # stop Gerrit and the service on kill, too
    with devgerrit.GerritServer(site, dist=dist) as gerrit:
        nova = provision(gerrit, demo / "work")
        nova.start_service()
        print(gerrit_setup(nova).rstrip())
        try:
            _play(nova)
            print("\nDemo running. Ctrl-C stops Gerrit and the service.")
            signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            nova.stop_service()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _play(nova: Nova) -> None:
    hyperv = nova.push_change(
        "zed", {"nova/virt/hyperv/driver.py": "# faster\n"}, "hyperv: speed up the driver"
    )
    core = nova.push_change("zed", {"nova/compute/api.py": "# new API\n"}, "compute: new API")
    both = nova.push_change(
        "zed",
        {"nova/virt/hyperv/driver.py": "# x\n", "nova/compute/api.py": "# y\n"},
        "hyperv and compute",
    )
    nova.vote("alice", hyperv, 2)
    nova.vote("alice", core, 2)
    nova.vote("alice", both, 2)
    results = {
        n: nova.wait_for_bot(n, expected) for n, expected in ((hyperv, 1), (core, 0), (both, 0))
    }
    url = nova.gerrit.url
    print(f"\nGerrit (REST and git over HTTP; admin / {nova.gerrit.admin_auth[1]}): {url}")
    print(f"owners service: {nova.service_url}  (log: {nova.workdir / 'service.log'})")
    print("\nAlice, a Hyper-V lieutenant, voted Code-Review +2 on three changes by zed:")
    for number, what in ((hyperv, "Hyper-V only"), (core, "core only"), (both, "Hyper-V and core")):
        print(
            f"  change {number} ({what}): {LABEL} {results[number]:+d}"
            if results[number] is not None
            else f"  change {number}: no vote yet"
        )
    env = " ".join(
        f"{k}={v}"
        for k, v in nova.service_env().items()
        if k in ("OWNERS_GERRIT_URL", "OWNERS_GERRIT_USER")
    )
    print("\nLook closer:")
    print(f"  curl -s '{url}/changes/{hyperv}/detail' | tail -n +2 | python3 -m json.tool")
    print(f"  {env} OWNERS_GERRIT_PASSWORD={password(BOT)} owners check --change {both}")
    print(f"  owners who --config {NOVA_OWNERS} nova/virt/hyperv/driver.py nova/compute/api.py")


if __name__ == "__main__":
    sys.exit(main())
