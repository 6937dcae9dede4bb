"""What the service does over git against Gerrit: list a branch's tree (REST has no tree
listing) and write files of refs/meta/config (no REST endpoint writes a plugin's file there).

Built on `owners.gerrit.rest.Rest` for the settings and the call counter: a fetch or a push
counts as one call, like a REST request.  Credentials go in git's environment, never on its
command line.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from owners.gerrit.model import GerritError
from owners.gerrit.rest import Rest, json_object

__all__ = ["Git", "MetaConfig", "git_error"]


class Git:
    """git against Gerrit over HTTP, as the bot or as a web viewer."""

    def __init__(self, rest: Rest):
        self.rest = rest

    @contextlib.contextmanager
    def meta_config(self, project: str) -> Iterator[MetaConfig]:
        """A scratch copy of the project's refs/meta/config; what is written is pushed back
        as one commit by the connection's account when the block ends without error."""
        with tempfile.TemporaryDirectory(prefix="owners-meta-") as scratch:
            meta = MetaConfig(self, project, Path(scratch))
            yield meta
            meta.push()

    def run(
        self, repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> bytes:
        """Run git against Gerrit over HTTP as the bot."""
        done = self._run(
            repo, args, (self.rest.settings.user, self.rest.settings.password), stdin, env
        )
        if done.returncode != 0:
            raise GerritError(f"git {args[0]}: {git_error(done.stderr)}")
        return done.stdout

    def _run(
        self,
        repo: Path,
        args: Sequence[str],
        auth: tuple[str, str] | None,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """git, with the credentials in its environment (an HTTP header set through
        GIT_CONFIG_*), never on its command line; fetches and pushes count as calls."""
        full_env = {
            **os.environ,
            **(env or {}),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            full_env |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}",
            }
        if args and args[0] in ("fetch", "push"):
            self.rest.count_call()
        return subprocess.run(
            ["git", *args], cwd=repo, env=full_env, input=stdin, capture_output=True, check=False
        )

    def url(self, project: str) -> str:
        """The project's git URL on Gerrit, authenticated (`/a/`)."""
        return f"{self.rest.settings.gerrit_url}/a/{quote(project)}"

    def branch_files(
        self, project: str, branch: str, auth: tuple[str, str] | None
    ) -> tuple[str, tuple[str, ...]]:
        """The branch head and every file path in its tree, fetched over git as `auth` (None:
        Gerrit's anonymous user), since Gerrit's REST API has no tree listing: a shallow,
        blobless fetch when the server allows filters.  One counted call."""
        with tempfile.TemporaryDirectory(prefix="owners-tree-") as scratch:
            repo = Path(scratch)
            git = functools.partial(self._git_as, auth, repo)
            git("init", "--quiet", "--bare")
            url = f"{self.rest.settings.gerrit_url}{'/a' if auth else ''}/{quote(project)}"
            git("fetch", "--quiet", "--depth=1", "--filter=blob:none", url, f"refs/heads/{branch}")
            head = git("rev-parse", "FETCH_HEAD").decode().strip()
            listing = git("ls-tree", "-r", "-z", "--full-tree", "--name-only", head)
        names = tuple(sorted(n.decode("utf-8", "replace") for n in listing.split(b"\0") if n))
        return head, names

    def _git_as(self, auth: tuple[str, str] | None, repo: Path, *args: str) -> bytes:
        """Run git as `auth` (None: anonymously); a failed fetch is a 404, since Gerrit
        answers a project the viewer may not see exactly as one that does not exist."""
        done = self._run(repo, args, auth)
        if done.returncode != 0:
            status = 404 if args[0] == "fetch" else None
            raise GerritError(f"git {args[0]}: {git_error(done.stderr)}", status)
        return done.stdout


class MetaConfig:
    """Files of refs/meta/config, read and written with git plumbing in a scratch repo."""

    REF = "refs/meta/config"

    def __init__(self, git: Git, project: str, repo: Path):
        self.git = git
        self.project = project
        self.repo = repo
        self._writes: dict[str, bytes] = {}
        self._messages: list[str] = []
        git.run(repo, "init", "--quiet", "--bare")
        git.run(repo, "fetch", "--quiet", git.url(project), self.REF)
        self.parent = git.run(repo, "rev-parse", "FETCH_HEAD").decode().strip()

    def read(self, name: str) -> bytes | None:
        if name in self._writes:
            return self._writes[name]
        try:
            return self.git.run(self.repo, "cat-file", "blob", f"{self.parent}:{name}")
        except GerritError:
            return None

    def write(self, name: str, content: bytes, message: str) -> None:
        self._writes[name] = content
        self._messages.append(message)

    def push(self) -> None:
        if not self._writes:
            return
        git, repo = self.git.run, self.repo
        index = {"GIT_INDEX_FILE": str(repo / "owners-index")}
        git(repo, "read-tree", self.parent, env=index)
        for name, content in self._writes.items():
            blob = git(repo, "hash-object", "-w", "--stdin", stdin=content).decode().strip()
            info = f"100644,{blob},{name}"
            git(repo, "update-index", "--add", "--cacheinfo", info, env=index)
        tree = git(repo, "write-tree", env=index).decode().strip()
        # Gerrit refuses a commit whose committer is not the pushing account (Forge Committer).
        me = json_object(self.git.rest.get("accounts/self"))
        who = me.get("name") or me.get("username") or self.git.rest.settings.user
        email = me.get("email") or ""
        identity = {
            "GIT_AUTHOR_NAME": who,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": who,
            "GIT_COMMITTER_EMAIL": email,
        }
        message = "\n".join(self._messages).encode() + b"\n"
        commit = git(repo, "commit-tree", tree, "-p", self.parent, stdin=message, env=identity)
        target = f"{commit.decode().strip()}:{self.REF}"
        try:
            git(repo, "push", "--quiet", self.git.url(self.project), target)
        except GerritError as error:
            if "rejected" not in str(error):
                raise
            raise GerritError(
                f"{error}; {self.git.rest.settings.user} needs Push on {self.REF} of "
                f"{self.project} (new Gerrit 3.11 sites grant it to no one, see docs/deployment.md)"
            ) from None


def git_error(stderr: bytes) -> str:
    """The line of git's stderr that says why it failed: Gerrit's ``[remote rejected] ...
    (reason)`` on a refused push, since the last line ("failed to push some refs") does not."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    rejected = [line.strip() for line in lines if "[remote rejected]" in line]
    if rejected:
        return rejected[0]
    return lines[-1] if lines else "failed"
