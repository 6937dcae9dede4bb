"""A Gerrit in memory for the service tests: the REST calls the service makes, answered from
dicts shaped like Gerrit's JSON, with a review applied to the change as Gerrit would apply it
(the vote replaces the bot's vote, the message is appended, reviewers are added).

It stands where pygerrit2's `GerritRestAPI` stands, so `GerritConnection` is exercised for
real: its paths, its parsing, its caches and its call counter.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from owners.gerrit.connection import GerritConnection
from owners.gerrit.settings import Settings
from webhook.jobs import Jobs
from webhook.service import OwnersService
from webhook.settings import ServiceSettings

FIXTURES = Path(__file__).parent.parent / "fixtures"
BOT = "owners-bot"
TOKEN = "t0ken-0123456789abcdef"


HEAD = "a" * 40  # the tip of master in most tests, and the parent of their changes
HYPERV = {"nova/virt/hyperv/vmops.py": {}}  # the files of a Hyper-V change


def hyperv_map(*owners: str) -> bytes:
    """The smallest map with a subsystem: carol owns root, `owners` own nova/virt/hyperv/."""
    names = ", ".join(f'"{owner}"' for owner in owners)
    return f"""\
version: 1
root:
  owners: [carol]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [{names}]
""".encode()


def account(username: str, account_id: int | None = None) -> dict[str, Any]:
    number = account_id or 1_000_000 + sum(map(ord, username))
    return {
        "_account_id": number,
        "name": username.title(),
        "email": f"{username}@example.org",
        "username": username,
    }


def settings(**overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "gerrit_url": "http://gerrit.invalid",
        "user": BOT,
        "password": "s3cret-password",
        "webhook_token": TOKEN,
        "fallback_owners": ("root-admin",),
    }
    values.update(overrides)
    return ServiceSettings(**values)


def change_info(
    number: int = 1,
    files: dict[str, dict[str, Any]] | None = None,
    votes: dict[str, int] | None = None,
    owner: str = "alice",
    project: str = "nova",
    branch: str = "master",
    status: str = "NEW",
    bot_label: str | None = "Owner-Approval",
    policy_label: str = "Code-Review",
    **extra: Any,
) -> dict[str, Any]:
    """A ChangeInfo as `GET /changes/{id}?o=CURRENT_REVISION&o=...` returns it."""
    revision = f"{number:040x}"
    labels: dict[str, Any] = {
        policy_label: {
            "all": [dict(account(u), value=v) for u, v in (votes or {}).items()],
            "values": {"-2": "", "-1": "", " 0": "", "+1": "", "+2": ""},
        }
    }
    if bot_label:
        labels[bot_label] = {"all": [], "values": {"-1": "", " 0": "", "+1": ""}}
    info = {
        "id": f"{project}~{branch}~I{number:040x}",
        "project": project,
        "branch": branch,
        "change_id": f"I{number:040x}",
        "status": status,
        "_number": number,
        "owner": account(owner),
        "labels": labels,
        "reviewers": {"REVIEWER": [account(u) for u in (votes or {})]},
        "current_revision": revision,
        "revisions": {
            revision: {
                "_number": 1,
                "uploader": account(owner),
                "commit": {"parents": [{"commit": HEAD}]},  # pushed on the branch tip
                "files": {"/COMMIT_MSG": {"status": "A"}, **(files or {})},
            }
        },
        "messages": [],
    }
    info.update(extra)
    return info


class HTTPStatus(requests.HTTPError):
    def __init__(self, status: int, text: str = ""):
        response = requests.Response()
        response.status_code = status
        response._content = text.encode()
        super().__init__(f"HTTP {status}", response=response)


@dataclass
class FakeGerrit:
    """Answers pygerrit2-style `get/put/post(path, ...)`; records every call."""

    changes: dict[int, dict[str, Any]] = field(default_factory=dict)
    branches: dict[tuple[str, str], str] = field(default_factory=dict)
    trees: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)  # commit files
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    submit_requirements: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    access: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    group_members: dict[str, list[str]] = field(default_factory=dict)  # for setup's groups
    # A merge's files against parent N: by (number, N), else the same for every parent.
    parent_files: dict[Any, dict[str, Any]] = field(default_factory=dict)
    # Commits on no branch (`commits/{c}/in` answers none); every other commit is on all.
    foreign_commits: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=lambda: {"nova"})
    meta_files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # refs/meta/config
    log: list[tuple[str, str]] = field(default_factory=list)
    fail_reviewers: bool = False
    # An outage: every call raises this (an HTTPStatus, requests.ConnectionError...) instead.
    outage: Exception | None = None
    # What a broken proxy answers in Gerrit's place with status 200: returned as is.
    garbage: str | None = None
    # Changes last indexed before a label existed: a query shows them without these labels
    # (Gerrit's index keeps a change's labels as of its last reindex); `GET` of one has them.
    unindexed_labels: set[str] = field(default_factory=set)

    # -- set-up helpers ------------------------------------------------------------------

    def add_change(self, info: dict[str, Any], proposed: bytes | None = None) -> None:
        self.changes[info["_number"]] = info
        if proposed is not None:
            self.trees[(info["project"], info["current_revision"])] = {"OWNERS.yaml": proposed}

    def set_branch(self, project: str, branch: str, commit: str, config: bytes | None) -> None:
        self.branches[(project, branch)] = commit
        self.trees[(project, commit)] = {} if config is None else {"OWNERS.yaml": config}

    def reviews(self) -> list[dict[str, Any]]:
        return [body for method, path, body in self._bodies if path.endswith("/review")]

    # -- the REST surface ----------------------------------------------------------------

    def __post_init__(self) -> None:
        self._bodies: list[tuple[str, str, Any]] = []

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        return_response: bool = False,
        **_: Any,
    ) -> Any:
        self.log.append(("GET", path))
        self._trouble()
        if self.garbage is not None:
            if not return_response:
                return self.garbage
            page = requests.Response()
            page.headers["Content-Type"] = "text/html"
            return self.garbage, page
        value = self._route("GET", path, params or {}, None)
        if return_response:
            response = requests.Response()
            response.headers["X-FYI-Content-Encoding"] = "base64"
            return value, response
        return value

    def _trouble(self) -> None:
        if self.outage is not None:
            raise self.outage

    def put(self, path: str, json: Any = None, **_: Any) -> Any:
        self.log.append(("PUT", path))
        self._trouble()
        self._bodies.append(("PUT", path, json))
        return self._route("PUT", path, {}, json)

    def post(self, path: str, json: Any = None, **_: Any) -> Any:
        self.log.append(("POST", path))
        self._trouble()
        self._bodies.append(("POST", path, json))
        return self._route("POST", path, {}, json)

    def _route(self, method: str, path: str, params: dict[str, Any], body: Any) -> Any:
        path, _, query = path.partition("?")
        for pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and handler[0] == method:
                args = [unquote(g) for g in match.groups()]
                return handler[1](*args, params=params, body=body, query=query)
        raise HTTPStatus(404, f"Not found: {path}")

    def _routes(self) -> list[tuple[str, tuple[str, Any]]]:
        return [
            (r"changes/([^/]+)~(\d+)", ("GET", self._get_change)),
            (r"changes/(\d+)", ("GET", lambda n, **kw: self._get_change(None, n, **kw))),
            (r"changes/", ("GET", self._query)),
            (r"changes/([^/]+)~(\d+)/revisions/(\w+)/files", ("GET", self._parent_files)),
            (
                r"changes/([^/]+)~(\d+)/revisions/(\w+)/files/([^/]+)/content",
                ("GET", self._rev_file),
            ),
            (r"changes/([^/]+)~(\d+)/revisions/(\w+)/review", ("POST", self._review)),
            (r"changes/([^/]+)~(\d+)/hashtags", ("POST", self._hashtags)),
            (r"changes/([^/]+)~(\d+)/reviewers", ("POST", self._add_reviewer)),
            (r"projects/([^/]+)/branches/([^/]+)", ("GET", self._branch)),
            (r"projects/([^/]+)/commits/(\w+)/files/([^/]+)/content", ("GET", self._commit_file)),
            (r"groups/([^/]+)/members/", ("GET", self._members)),
            (r"projects/([^/]+)/labels/([^/]+)", ("GET", self._get_label)),
            (r"projects/([^/]+)/labels/([^/]+)", ("PUT", self._put_label)),
            (r"projects/([^/]+)/submit_requirements/([^/]+)", ("GET", self._get_sr)),
            (r"projects/([^/]+)/submit_requirements/([^/]+)", ("PUT", self._put_sr)),
            (r"projects/([^/]+)/access", ("GET", self._get_access)),
            (r"projects/([^/]+)/access", ("POST", self._post_access)),
            (r"projects/([^/]+)/commits/(\w+)/in", ("GET", self._commit_in)),
            (r"accounts/", ("GET", self._find_accounts)),
            (r"accounts/([^/]+)", ("GET", self._get_account)),
            (r"projects/([^/]+)", ("GET", self._get_project)),
            (r"groups/([^/]+)", ("GET", self._get_group)),
            (r"groups/([^/]+)", ("PUT", self._put_group)),
            (r"groups/([^/]+)/members/([^/]+)", ("GET", self._get_member)),
            (r"groups/([^/]+)/members/([^/]+)", ("PUT", self._put_member)),
        ]

    def _get_change(self, project: str | None, number: str, **_: Any) -> Any:
        info = self.changes.get(int(number))
        if info is None or (project and info["project"] != project):
            raise HTTPStatus(404)
        return copy.deepcopy(info)

    def _parent_files(self, project: str, number: str, revision: str, params: Any, **_: Any) -> Any:
        key = (int(number), params["parent"])
        return self.parent_files[key if key in self.parent_files else int(number)]

    def _commit_in(self, project: str, commit: str, **_: Any) -> Any:
        if commit in self.foreign_commits:
            return {"branches": [], "tags": []}
        return {"branches": sorted({b for p, b in self.branches if p == project}), "tags": []}

    def _find_accounts(self, params: dict[str, Any], **_: Any) -> Any:
        # `email:"E"` (authors' accounts), or either field with `(is:active OR is:inactive)`
        # (the names of a proposed OWNERS.yaml); Gerrit's search ignores case, so does this
        any_state = r"( \(is:active OR is:inactive\))?"
        many = re.fullmatch(r"\((.*)\) \(is:active OR is:inactive\)", params["q"])
        if many:
            # `(username:"a" OR email:"b") (is:active OR is:inactive)`: many people at once
            found = []
            for term in many.group(1).split(" OR "):
                sub = {**params, "q": f"{term} (is:active OR is:inactive)"}
                found += [a for a in self._find_accounts(sub) if a not in found]
            return found
        query = re.fullmatch(r'(email|username):"(.*)"' + any_state, params["q"])
        assert query, params
        field, value, loose = query.group(1), query.group(2), bool(query.group(3))
        all_emails = "ALL_EMAILS" in (params.get("o") or ())  # else Gerrit hides secondaries
        return [
            a if all_emails else {k: v for k, v in a.items() if k != "secondary_emails"}
            for a in self.accounts.values()
            if a.get(field) == value
            or (field == "email" and value in a.get("secondary_emails", ()))
            or (loose and str(a.get(field)).lower() == value.lower())
        ]

    def _query(self, params: dict[str, Any], **_: Any) -> Any:
        projects = set(re.findall(r'project:"([^"]+)"', params["q"]))  # one, or OR'd
        branch = re.search(r'branch:"([^"]+)"', params["q"])
        reviewer = re.search(r"reviewer:(\d+)", params["q"])
        found = [
            # like Gerrit, a query without options still names each change's project and branch
            copy.deepcopy(c)
            if params.get("o")
            else {"_number": n, "project": c["project"], "branch": c["branch"]}
            for n, c in sorted(self.changes.items())
            if c["status"] == "NEW"
            and (not projects or c["project"] in projects)
            and (branch is None or c["branch"] == branch.group(1))
            and (reviewer is None or int(reviewer.group(1)) in _reviewer_ids(c))
        ]
        for change in found:
            for label in self.unindexed_labels:
                change.get("labels", {}).pop(label, None)
        page = found[params["S"] : params["S"] + params["n"]]
        if page and params["S"] + params["n"] < len(found):
            page[-1]["_more_changes"] = True
        return page

    def _rev_file(self, project: str, number: str, revision: str, path: str, **_: Any) -> Any:
        return self._content(project, revision, path)

    def _commit_file(self, project: str, commit: str, path: str, **_: Any) -> Any:
        return self._content(project, commit, path)

    def _content(self, project: str, commit: str, path: str) -> str:
        data = self.trees.get((project, commit), {}).get(path)
        if data is None:
            raise HTTPStatus(404, "File not found")
        return base64.b64encode(data).decode()

    def _branch(self, project: str, branch: str, **_: Any) -> Any:
        if (project, branch) not in self.branches:
            raise HTTPStatus(404)
        return {"ref": f"refs/heads/{branch}", "revision": self.branches[(project, branch)]}

    def _members(self, name: str, query: str, **_: Any) -> Any:
        assert query == "recursive"
        if name not in self.groups:
            raise HTTPStatus(404)
        return self.groups[name]

    def _add_reviewer(self, project: str, number: str, body: Any, **_: Any) -> Any:
        reviewers = self.changes[int(number)].setdefault("reviewers", {})
        reviewers.setdefault("REVIEWER", []).append(account(body["reviewer"]))
        return {"input": body["reviewer"]}

    def _review(self, project: str, number: str, revision: str, body: Any, **_: Any) -> Any:
        info = self.changes[int(number)]
        if self.fail_reviewers and body.get("reviewers"):
            raise HTTPStatus(400, "Account 'ghost' not found")
        if info["status"] != "NEW":
            raise HTTPStatus(409, "change is closed")
        bot = account(BOT)
        patchset = info["revisions"][revision]["_number"]
        text = f"Patch Set {patchset}:"
        for label, value in (body.get("labels") or {}).items():
            votes = info["labels"][label]["all"]
            votes[:] = [v for v in votes if v["username"] != BOT]
            if value:
                votes.append(dict(bot, value=value))
            text += f" {label}{value:+d}" if value else f" -{label}"
        if body.get("message"):
            text += "\n\n" + body["message"]
        info["messages"].append({"author": bot, "tag": body.get("tag"), "message": text})
        reviewers = info.setdefault("reviewers", {}).setdefault("REVIEWER", [])
        for entry in body.get("reviewers") or ():
            reviewers.append(account(entry["reviewer"]))
        return {"labels": body.get("labels", {})}

    def _hashtags(self, project: str, number: str, body: Any, **_: Any) -> Any:
        info = self.changes[int(number)]
        if info["status"] != "NEW":
            raise HTTPStatus(409, "change is closed")
        tags = (set(info.get("hashtags") or ()) | set(body["add"])) - set(body["remove"])
        info["hashtags"] = sorted(tags)
        return info["hashtags"]

    # -- the project configuration surface (setup) ---------------------------------------

    def _get_label(self, project: str, name: str, **_: Any) -> Any:
        if (project, name) not in self.labels:
            raise HTTPStatus(404)
        return copy.deepcopy(self.labels[(project, name)])

    def _put_label(self, project: str, name: str, body: Any, **_: Any) -> Any:
        label = self.labels.setdefault((project, name), {"name": name, "project": project})
        for key, value in body.items():
            if key == "unset_copy_condition":
                label.pop("copy_condition", None)
            elif key != "commit_message":
                label[key] = value
        return label

    def _get_sr(self, project: str, name: str, **_: Any) -> Any:
        if (project, name) not in self.submit_requirements:
            raise HTTPStatus(404)
        return copy.deepcopy(self.submit_requirements[(project, name)])

    def _put_sr(self, project: str, name: str, body: Any, **_: Any) -> Any:
        self.submit_requirements[(project, name)] = dict(body)
        return body

    def _get_access(self, project: str, **_: Any) -> Any:
        return copy.deepcopy(self.access.setdefault(project, {"local": {}, "groups": {}}))

    def _post_access(self, project: str, body: Any, **_: Any) -> Any:
        local = self.access.setdefault(project, {"local": {}, "groups": {}})["local"]
        for ref, section in (body.get("remove") or {}).items():
            for permission in section.get("permissions", {}):
                local.get(ref, {}).get("permissions", {}).pop(permission, None)
        for ref, section in (body.get("add") or {}).items():
            target = local.setdefault(ref, {}).setdefault("permissions", {})
            for permission, value in section["permissions"].items():
                target[permission] = copy.deepcopy(value)
        return self._get_access(project)

    def _get_project(self, name: str, **_: Any) -> Any:
        if name not in self.projects:
            raise HTTPStatus(404)
        return {"id": name, "name": name}

    def _get_account(self, name: str, **_: Any) -> Any:
        if name not in self.accounts:
            raise HTTPStatus(404)
        return self.accounts[name]

    def _get_group(self, name: str, **_: Any) -> Any:
        if name not in self.group_members:
            raise HTTPStatus(404)
        return {"id": f"uuid-{name}", "name": name}

    def _put_group(self, name: str, body: Any, **_: Any) -> Any:
        self.group_members[name] = list(body.get("members") or ())
        return self._get_group(name)

    def _get_member(self, group: str, member: str, **_: Any) -> Any:
        name = group.removeprefix("uuid-")
        if member not in self.group_members.get(name, ()):
            raise HTTPStatus(404)
        return self.accounts.get(member, {"username": member})

    def _put_member(self, group: str, member: str, **_: Any) -> Any:
        self.group_members[group.removeprefix("uuid-")].append(member)
        return {"username": member}


class FakeMeta:
    """refs/meta/config of the fake Gerrit, as `Git.meta_config` yields it."""

    def __init__(self, gerrit: FakeGerrit, project: str):
        self.gerrit, self.project = gerrit, project
        self.messages: list[str] = []

    def read(self, name: str) -> bytes | None:
        return self.gerrit.meta_files.get((self.project, name))

    def write(self, name: str, content: bytes, message: str) -> None:
        self.gerrit.meta_files[(self.project, name)] = content
        self.gerrit.log.append(("PUSH", f"{self.project}:refs/meta/config:{name}"))


class FakeGit:
    """The connection's git role as the setup uses it: refs/meta/config kept in the fake
    Gerrit's memory instead of fetched and pushed."""

    def __init__(self, gerrit: FakeGerrit):
        self.gerrit = gerrit

    @contextlib.contextmanager
    def meta_config(self, project: str) -> Iterator[FakeMeta]:
        self.gerrit.log.append(("FETCH", f"{project}:refs/meta/config"))
        yield FakeMeta(self.gerrit, project)


def fake_connection(config: Settings, gerrit: FakeGerrit) -> GerritConnection:
    """The real connection over the fake REST, with the git role replaced by `FakeGit`."""
    connection = GerritConnection(config, rest=gerrit)
    connection.git = FakeGit(gerrit)  # type: ignore[assignment]
    return connection


@pytest.fixture
def gerrit() -> FakeGerrit:
    return FakeGerrit()


@pytest.fixture
def nova_config() -> bytes:
    return (FIXTURES / "nova-OWNERS.yaml").read_bytes()


# -- the queue -------------------------------------------------------------------------------

LATER = datetime.datetime(2100, 1, 1)  # a moment after every scheduled retry


def _reviewer_ids(info: dict[str, Any]) -> set[int]:
    return {a["_account_id"] for a in (info.get("reviewers") or {}).get("REVIEWER") or ()}


def queued_jobs(gerrit: FakeGerrit, queue: Path, **overrides: Any) -> Jobs:
    """Jobs on a SQLite queue file, run by a service talking to the fake Gerrit."""
    config = settings(queue=str(queue), **overrides)
    return Jobs(config, OwnersService(config, GerritConnection(config, rest=gerrit)))


def drain(jobs: Jobs, *, later: bool = True, limit: int = 500) -> int:
    """Be the worker: run queued jobs, and with `later` the retries scheduled for later as if
    their time had come, until none is left.  The number of jobs run."""
    for ran in range(limit):
        task = jobs.huey.dequeue()
        if task is None and later:
            for due in jobs.huey.read_schedule(LATER):
                jobs.huey.enqueue(due)
            task = jobs.huey.dequeue()
        if task is None:
            return ran
        jobs.huey.execute(task, LATER if later else None)
    raise AssertionError(f"the queue still has jobs after {limit}")


@pytest.fixture
def jobs(gerrit: FakeGerrit, nova_config: bytes, tmp_path: Path) -> Jobs:
    """A queue with change 42 (Hyper-V, approved by bob) on the fake Gerrit's nova."""
    gerrit.set_branch("nova", "master", HEAD, nova_config)
    gerrit.add_change(change_info(42, {"nova/virt/hyperv/vmops.py": {}}, {"bob": 2}, owner="uma"))
    return queued_jobs(gerrit, tmp_path / "queue.db")
