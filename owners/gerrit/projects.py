"""What a project holds, as the service reads it: its branches and their heads, OWNERS.yaml
and the files it includes at a commit, and its access rights for the audit.

Built on `owners.gerrit.rest.Rest`; it owns the cache of files read by commit, which never
change, so that every caller of `config_at` shares it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from owners.engine import CONFIG_PATH
from owners.engine.includes import include_paths
from owners.gerrit.model import BranchConfig, GerritError, UnexpectedResponse
from owners.gerrit.rest import Rest, encode, json_object

__all__ = ["Projects"]

CONFIG_CACHE_SIZE = 256  # files kept by default: set `cache_size` to one per branch in use


class Projects:
    """Projects, branches and files at commits, read through one transport."""

    def __init__(self, rest: Rest):
        self.rest = rest
        self._lock = threading.Lock()
        self._configs: OrderedDict[tuple[str, str], bytes | None] = OrderedDict()
        self.cache_size = CONFIG_CACHE_SIZE

    def names(self, limit: int = 500) -> list[str]:
        """Names of the projects the connection's account can see (the web's front page),
        less those holding only permissions (All-Projects, All-Users: no branch to browse)."""
        found = self.rest.get("projects/", params={"n": limit, "type": "CODE"})
        return sorted(json_object(found)) if found else []

    def head_branch(self, project: str) -> str:
        """The branch the project's HEAD names (what a clone checks out), e.g. master."""
        # The answer is a JSON string, which only the content type tells from a proxy's text.
        head, response = self.rest.get(f"projects/{encode(project)}/HEAD", return_response=True)
        kind = response.headers.get("Content-Type", "").split(";")[0].strip()
        if kind != "application/json" or not isinstance(head, str):
            raise UnexpectedResponse(f"GET projects/{project}/HEAD: not a JSON string")
        if not head.startswith("refs/heads/"):
            raise UnexpectedResponse(f"project {project} has no HEAD branch")
        return head[len("refs/heads/") :]

    def branch_head(self, project: str, branch: str) -> str | None:
        info = self.rest.get(
            f"projects/{encode(project)}/branches/{encode(branch)}", missing_ok=True
        )
        if info is None:
            return None
        revision = json_object(info).get("revision")
        if not isinstance(revision, str) or not revision:
            raise UnexpectedResponse(f"branch {branch} of {project} has no revision")
        return revision

    def config_at(self, project: str, commit: str, path: str = CONFIG_PATH) -> bytes | None:
        """OWNERS.yaml (or an included file) at a commit, None when absent; cached since
        commits are fixed."""
        key = (project, commit if path == CONFIG_PATH else f"{commit}:{path}")
        with self._lock:
            if key in self._configs:
                self._configs.move_to_end(key)
                return self._configs[key]
        content = self.rest.content(
            f"projects/{encode(project)}/commits/{commit}/files/{encode(path)}"
        )
        with self._lock:
            self._configs[key] = content
            while len(self._configs) > self.cache_size:
                self._configs.popitem(last=False)
        return content

    def branch_config(self, project: str, branch: str) -> BranchConfig:
        """The branch's OWNERS.yaml at its head: one call, two when the head is new to us."""
        head = self.branch_head(project, branch)
        if head is None:
            return BranchConfig(project, branch, "", None)
        content = self.config_at(project, head)
        included = self.included_at(project, head, content)
        return BranchConfig(project, branch, head, content, included)

    def included_at(
        self, project: str, commit: str, content: bytes | None = None
    ) -> tuple[tuple[str, bytes | None], ...]:
        """The files the commit's OWNERS.yaml includes, read at that commit: one call per
        file new to the cache, none for a file without `include:`."""
        content = self.config_at(project, commit) if content is None else content
        return tuple((p, self.config_at(project, commit, p)) for p in include_paths(content))

    # -- access rights, labels and submit requirements (owners audit) ----------------------

    def access_chain(self, project: str, *, limit: int = 64) -> list[dict[str, Any]]:
        """The project's own access rights, labels and submit requirements, then its
        parent's, up the `inherits_from` chain to All-Projects: 3 calls per project.  The
        answers are kept raw (`owners.gerrit.audit.parse_project` reads them) so that tests replay
        recorded ones."""
        chain: list[dict[str, Any]] = []
        name: str | None = project
        while name:
            if any(entry["project"] == name for entry in chain) or len(chain) >= limit:
                raise UnexpectedResponse(f"projects/{project}/access: inheritance loops")
            path = f"projects/{encode(name)}"
            access = json_object(self.rest.get(f"{path}/access"))
            if access.get("config_visible") is False:
                raise GerritError(
                    f"GET {path}/access: {self.rest.settings.user} cannot read refs/meta/config of "
                    f"{name}, so the rights shown would be incomplete (run as an owner or admin)"
                )
            labels = self.rest.get(f"{path}/labels/")
            requirements = self.rest.get(f"{path}/submit_requirements/")
            if not isinstance(labels, list) or not isinstance(requirements, list):
                raise UnexpectedResponse(f"GET {path}/labels/: expected lists")
            chain.append(
                {
                    "project": name,
                    "access": access,
                    "labels": labels,
                    "submit_requirements": requirements,
                }
            )
            parent = access.get("inherits_from") or {}
            name = parent.get("name") or parent.get("id")
        return chain
