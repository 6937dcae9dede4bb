"""The data behind every page, as the JSON the API serves: pages render exactly these dicts.

Each builder reads Gerrit as the viewer (`webhook.web.viewer`) through `GerritConnection`,
makes its first call one that proves the viewer may see what is asked (the branch head, the
change) and only then consults a cache, and judges with the engine.  The requirement, check
and explanation shapes come from `owners.views.render`, the renderer of `owners who|check|
explain --json`, so the API and the CLI cannot drift.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from owners.engine import ROOT, Evaluation, Ownership, Verdict, evaluate
from owners.engine.evaluation import Eligibility
from owners.engine.explanation import explain as explain_path
from owners.engine.includes import include_paths
from owners.engine.resolution import is_group
from owners.engine.reviews import file_statuses
from owners.gerrit.compiled import SharedMaps
from owners.gerrit.judge import Judge
from owners.gerrit.model import (
    BOT_TAG,
    CONFIG_PATH,
    BranchConfig,
    ChangeSnapshot,
    GerritError,
    change_names,
    gerrit_time,
)
from owners.gerrit.people import People, ownership_health
from owners.gerrit.queue import reviewer_queue
from owners.gerrit.settings import Settings
from owners.gerrit.verdict import (
    Outcome,
    check_outcome,
    compile_config,
    compile_tree,
    fallback_ownership,
)
from owners.insight.review import review_report
from owners.views.queue import queue_json
from owners.views.render import check_json, explain_json, requirement_json
from owners.views.review import Scope, report_json
from webhook.report import find_fingerprint
from webhook.web.cache import Cache, TreeIndex
from webhook.web.viewer import Viewer

Json = dict[str, Any]

PAGE_SIZE = 200
SEARCH_LIMIT = 100
MAX_PATH_LENGTH = 4096
MAX_QUERY_LENGTH = 256
REPORT_TTL_SECONDS = 300.0
GROUP_TTL_SECONDS = 60.0

TREES: Cache[tuple[str, str], TreeIndex] = Cache(size=8)
CONFIGS: Cache[tuple[str, str, str], bytes | None] = Cache(size=256)
REQUIREMENTS: Cache[tuple[str, str, str], Json] = Cache(size=20_000)
EVALUATIONS: Cache[tuple[str, str, Any], Evaluation] = Cache(size=20_000)
MAX_LISTED = 12  # requirements listed per folder; the rest are counted
REPORTS: Cache[tuple[str, str, str, str], Json] = Cache(size=64, ttl=REPORT_TTL_SECONDS)
GROUPS: Cache[tuple[str, str], tuple[str, ...] | None] = Cache(size=4096, ttl=GROUP_TTL_SECONDS)
# "My reviews": each change's outcome per viewer, as long as a group's members are trusted
QUEUE_MEMO: Cache[tuple[Any, ...], Any] = Cache(size=20_000, ttl=GROUP_TTL_SECONDS)
# the change page's ranking: each person's availability and load, and a change's familiar
# people, as Gerrit told each viewer (`PerViewer`), for as long
PEOPLE: Cache[tuple[Any, ...], Any] = Cache(size=20_000, ttl=GROUP_TTL_SECONDS)
MAPS = SharedMaps(None)  # the pages' compiled OWNERS.yaml maps, shared by their `Judge`s
DASHBOARD_REF = "owners"  # refs/meta/dashboards/owners, written by `owners gerrit-setup`

_VERDICT_LINE = re.compile(r"Owners: (APPROVED|PENDING|BLOCKED)")
_PATCH_SET = re.compile(r"\APatch Set (\d+):")


class NotFound(LookupError):
    """What was asked does not exist or the viewer may not see it (the same answer to both,
    as Gerrit gives, so that a page does not tell hidden things from absent ones)."""


class BadRequest(ValueError):
    """A path or query the pages refuse (traversal, control characters, too long)."""


# -- input ------------------------------------------------------------------------------------


def clean_path(path: str) -> str:
    """A tree path from a URL: no `.`/`..` or empty segments, no control characters, bounded.
    Refused rather than normalised: a link that needs normalising was not made by us."""
    if len(path) > MAX_PATH_LENGTH:
        raise BadRequest(f"path longer than {MAX_PATH_LENGTH} characters")
    path = path.strip("/")
    if any(ord(c) < 32 or ord(c) == 127 for c in path) or "\\" in path:
        raise BadRequest("path with control characters or backslashes")
    if path and any(seg in ("", ".", "..") for seg in path.split("/")):
        raise BadRequest("path with empty, '.' or '..' segments")
    return path


def clean_query(text: str) -> str:
    if len(text) > MAX_QUERY_LENGTH or any(ord(c) < 32 for c in text):
        raise BadRequest(f"search text of more than {MAX_QUERY_LENGTH} characters")
    return text.strip()


# -- shared pieces ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    """A branch the viewer can see, its OWNERS.yaml and the compiled map (None: no usable
    file, then only root's fallback applies and the pages say so)."""

    project: str
    name: str
    config: BranchConfig
    ownership: Ownership | None
    problems: tuple[str, ...]


def visible_branch(viewer: Viewer, project: str, branch: str) -> Branch:
    """The branch as the viewer sees it: its head read with their credentials first."""
    try:
        head = viewer.gerrit.projects.branch_head(project, branch)
    except GerritError as exc:
        if exc.status in (403, 404):
            raise NotFound(f"no branch {branch} of {project} that you can see") from None
        raise
    if not head:
        raise NotFound(f"no branch {branch} of {project} that you can see")

    # The viewer may read this commit: its OWNERS.yaml and the files that one includes are
    # shared by everyone who may.  The map is the service's (`compile_tree`), includes too.
    def read(path: str) -> bytes | None:
        return CONFIGS.get(
            (project, head, path), lambda: viewer.gerrit.projects.config_at(project, head, path)
        )

    content = read(CONFIG_PATH)
    included = tuple((path, read(path)) for path in include_paths(content))
    config = BranchConfig(project, branch, head, content, included)
    ownership, diagnostics = (
        (None, ()) if content is None else compile_tree(content, included, compile_config)
    )
    return Branch(project, branch, config, ownership, tuple(str(d) for d in diagnostics))


def members(viewer: Viewer, entry: str) -> list[str] | None:
    """A `gerrit:` group's members as the viewer may see them (None: the group is invisible
    to them); any other entry is itself."""
    if not is_group(entry):
        return [entry]
    found = group_reader(viewer)(entry[len("gerrit:") :])
    return None if found is None else sorted({m for m in found if "@" not in m} or set(found))


def group_reader(viewer: Viewer) -> Callable[[str], tuple[str, ...] | None]:
    """Reads a group's members as the viewer, kept per viewer for GROUP_TTL_SECONDS; None
    when the group is not visible to them: Gerrit answers 404, or 403 to anonymous readers.
    The change page's `Judge` reads groups through it too (`Judge.groups`)."""
    read = viewer.gerrit.accounts.group_members

    def fetch(name: str) -> tuple[str, ...] | None:
        try:
            return read(name)
        except GerritError as exc:
            if exc.status == 403:
                return None
            raise

    def resolve(name: str) -> tuple[str, ...] | None:
        return GROUPS.get((viewer.key, name), lambda: fetch(name))

    return resolve


def owners_json(viewer: Viewer, entries: tuple[str, ...]) -> list[Json]:
    return [{"entry": e, "members": members(viewer, e), "group": is_group(e)} for e in entries]


def subsystem_json(viewer: Viewer, ownership: Ownership, name: str) -> Json:
    sub = ownership.config.subsystem(name)
    return {
        **requirement_json(ownership, name),
        "description": sub.description,
        "paths": [rule.pattern for rule in sub.paths],
        "parent_chain": list(ownership.chain(name)),
        "noparent": sub.noparent,
        "enforced_by": ownership.enforcer(name),
        "owners": owners_json(viewer, ownership.own_owners(name)),
    }


def requirement(branch: Branch, name: str) -> Json:
    """`requirement_json` (the CLI's shape), memoized per OWNERS.yaml revision: listing
    eligible approvers walks the parent chain, and a big folder names the same few often."""
    assert branch.ownership is not None
    ownership = branch.ownership
    return REQUIREMENTS.get(
        (branch.project, branch.config.revision, name), lambda: requirement_json(ownership, name)
    )


def _config_json(branch: Branch) -> Json:
    return {
        "revision": branch.config.revision,
        "present": branch.config.content is not None,
        "valid": branch.ownership is not None,
        "problems": list(branch.problems),
    }


# -- the tree -----------------------------------------------------------------------------------


def tree_index(viewer: Viewer, branch: Branch) -> TreeIndex:
    """The branch head's tree, fetched as the viewer the first time that commit is asked for."""
    key = (branch.project, branch.config.revision)

    def fetch() -> TreeIndex:
        head, paths = viewer.gerrit.git.branch_files(branch.project, branch.name, viewer.auth)
        index = TreeIndex.build(head, paths)
        if branch.ownership is not None:
            index.requirements(branch.ownership)
        # A big tree is hundreds of thousands of long-lived objects: leave them out of the
        # collector's full passes, which would otherwise pause later requests for each.
        gc.collect()
        gc.freeze()
        return index

    index = TREES.get(key, fetch)
    if index.commit != branch.config.revision:  # the branch moved between the two reads
        TREES.clear()
        index = TREES.get(key, fetch)
    return index


def tree(viewer: Viewer, project: str, branch_name: str, path: str, page: int = 1) -> Json:
    """One folder (or one file) of the branch head with the requirements of each entry."""
    path = clean_path(path)
    branch = visible_branch(viewer, project, branch_name)
    index = tree_index(viewer, branch)
    ownership = branch.ownership
    data: Json = {
        "project": project,
        "branch": branch_name,
        "path": path,
        "config": _config_json(branch),
        "total_files": len(index.paths),
    }
    folder_reqs = index.requirements(ownership) if ownership else {}
    if path and path not in index.folders:
        if ownership is None or path not in _file_set(index):
            raise NotFound(f"no file or folder {path} on {branch_name}")
        data["kind"] = "file"
        data["who"] = _entry(branch, path, "file", (), 0)
        data["explain"] = explain_json(explain_path(ownership, path))
        data["subsystems"] = _subsystems_of(viewer, ownership, [data["who"]])
        return data
    subfolders, files = index.folders[path]
    entries = [(f, "folder") for f in subfolders] + [(f, "file") for f in files]
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    data["kind"] = "folder"
    own = folder_reqs.get(path, ())
    data["requirements"] = [requirement(branch, n) for n in own[:MAX_LISTED]] if ownership else []
    data["requirements_total"] = len(own)
    data["entries"] = (
        [
            _entry(branch, p, kind, folder_reqs.get(p, ()), index.counts.get(p, 0))
            for p, kind in shown
        ]
        if ownership
        else [
            {"name": p.rpartition("/")[2], "path": p, "kind": kind, "requirements": []}
            for p, kind in shown
        ]
    )
    data["page"] = {"number": page, "pages": pages, "size": PAGE_SIZE, "entries": len(entries)}
    data["subsystems"] = _subsystems_of(viewer, ownership, data["entries"]) if ownership else {}
    return data


def _file_set(index: TreeIndex) -> frozenset[str]:
    return index.files


def _entry(branch: Branch, path: str, kind: str, folder_reqs: tuple[str, ...], files: int) -> Json:
    assert branch.ownership is not None
    names = branch.ownership.requirements(path) if kind == "file" else folder_reqs
    entry: Json = {
        "name": path.rpartition("/")[2],
        "path": path,
        "kind": kind,
        "requirements": [requirement(branch, n) for n in names[:MAX_LISTED]],
        "requirements_total": len(names),
        "root_only": tuple(names) == (ROOT,),
    }
    if kind == "folder":
        entry["files"] = files
    return entry


def _subsystems_of(viewer: Viewer, ownership: Ownership, entries: list[Json]) -> Json:
    """Owners (groups resolved as the viewer) of each requirement the entries name, once."""
    names = dict.fromkeys(r["subsystem"] for e in entries for r in e["requirements"])
    return {
        name: {
            "description": ownership.config.subsystem(name).description,
            "owners": owners_json(viewer, ownership.own_owners(name)),
        }
        for name in names
    }


def search(viewer: Viewer, project: str, branch_name: str, text: str) -> Json:
    """Paths of the branch head containing `text` (case-insensitive), at most SEARCH_LIMIT."""
    text = clean_query(text)
    branch = visible_branch(viewer, project, branch_name)
    index = tree_index(viewer, branch)
    needle = text.lower()
    found: list[str] = []
    if needle:
        for folder in index.folders:
            if folder and needle in folder.lower():
                found.append(folder + "/")
                if len(found) > SEARCH_LIMIT:
                    break
        for path in index.paths:
            if len(found) > SEARCH_LIMIT:
                break
            if needle in path.lower():
                found.append(path)
    return {
        "project": project,
        "branch": branch_name,
        "query": text,
        "matches": found[:SEARCH_LIMIT],
        "truncated": len(found) > SEARCH_LIMIT,
    }


# -- a subsystem ----------------------------------------------------------------------------------


def dashboard_url(settings: Settings, project: str, subsystem: str) -> str:
    """Gerrit's page for the project dashboard `owners gerrit-setup --dashboards` writes."""
    return (
        f"{settings.gerrit_url}/p/{quote(project, safe='')}/+/dashboard/"
        f"{DASHBOARD_REF}:{quote(subsystem, safe='')}"
    )


def subsystem(
    viewer: Viewer, settings: Settings, project: str, branch_name: str, name: str
) -> Json:
    """A subsystem, its owners, and its queue: the open changes needing it, oldest first."""
    branch = visible_branch(viewer, project, branch_name)
    ownership = branch.ownership
    if ownership is None or name not in ownership.config.by_name:
        raise NotFound(f"no subsystem {name} on {branch_name}")
    label = ownership.config.policy.label
    histories = viewer.gerrit.changes.open_change_histories(project, branch_name, label)
    now = datetime.now(UTC)
    resolver = group_reader(viewer)
    queue = []
    for history in histories:
        # a change's history holds all its verdict depends on, but for group members
        evaluation = EVALUATIONS.get(
            (viewer.key, branch.config.revision, history),
            lambda history=history: evaluate(ownership, history.change(), resolver),
        )
        mine = [r for r in evaluation.requirements if r.subsystem == name]
        if not mine:
            continue
        others = [r for r in evaluation.requirements if r.subsystem != name]
        queue.append(
            {
                "change": history.number,
                "subject": history.subject,
                "owner": history.owner.display,
                "created": history.created.isoformat(timespec="seconds"),
                "age_seconds": int((now - history.created).total_seconds()),
                "verdict": str(evaluation.verdict),
                "requirement": {
                    "met": mine[0].met,
                    "missing": mine[0].missing,
                    "approved_by": list(mine[0].approved_by),
                    "vetoed_by": list(mine[0].vetoed_by),
                    "files": len(mine[0].files),
                },
                "others": [
                    {
                        "subsystem": r.subsystem,
                        "mode": str(r.mode),
                        "met": r.met,
                        "missing": r.missing,
                    }
                    for r in others
                ],
            }
        )
    children = [s.name for s in ownership.config.subsystems if s.parent == name]
    return {
        "project": project,
        "branch": branch_name,
        "subsystem": {"name": name, **subsystem_json(viewer, ownership, name)},
        "children": children,
        "dashboard": dashboard_url(settings, project, name),
        "queue": queue,
    }


# -- a change -------------------------------------------------------------------------------------


def judged(
    viewer: Viewer, settings: Settings, number: int
) -> tuple[ChangeSnapshot, Json, Branch, Outcome]:
    """A change read as the viewer and judged by the bot's `assess` (`Judge`), groups read
    as the viewer may see them, the suggestions ranked as the bot ranks them by what Gerrit
    tells the viewer of people: what the change page shows and "Ask these owners" acts on."""
    try:
        snapshot, info = viewer.gerrit.changes.change_and_info(number)
    except GerritError as exc:
        if exc.status in (403, 404):
            raise NotFound(f"no change {number} that you can see") from None
        raise
    branch = visible_branch(viewer, snapshot.project, snapshot.branch)
    outcome = _judge(viewer, settings).assess_snapshot(snapshot, branch.config, rank=True)
    return snapshot, info, branch, outcome


@dataclass(frozen=True)
class PerViewer:
    """`PEOPLE` as one viewer's memo: what Gerrit told them of people is kept under their
    key alone, so no viewer is ranked by an account status or a review they may not see."""

    viewer: str

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        return PEOPLE.get((self.viewer, *key), make)


def _judge(viewer: Viewer, settings: Settings) -> Judge:
    """The bot's `Judge` reading as the viewer: groups as they may see them, people (for the
    ranked suggestions) as Gerrit shows them to the viewer."""
    judge = Judge(settings, viewer.gerrit)
    judge.groups = group_reader(viewer)
    judge.maps = MAPS
    judge.people = People(viewer.gerrit, settings.away_pattern, memo=PerViewer(viewer.key))
    return judge


def change(viewer: Viewer, settings: Settings, number: int, explain: str | None = None) -> Json:
    """A change's verdict as the viewer's Gerrit shows it, per requirement who may approve and
    who did, each file's owner status, the reviewers to ask, an explanation of one file and
    the bot's past verdicts."""
    snapshot, info, branch, outcome = judged(viewer, settings, number)
    evaluation = check_outcome(outcome)
    ownership = branch.ownership
    votes = snapshot.labels.get(ownership.config.policy.label if ownership else "Code-Review", ())
    requirements = []
    for result in evaluation.requirements:
        eligible = owners_json(viewer, result.eligible)
        requirements.append(
            {
                "subsystem": result.subsystem,
                "mode": str(result.mode),
                "approvals": result.approvals,
                "met": result.met,
                "missing": result.missing,
                "approved_by": list(result.approved_by),
                "vetoed_by": list(result.vetoed_by),
                "files": list(result.files),
                "eligible": eligible,
            }
        )
    data: Json = {
        "change": snapshot.number,
        "project": snapshot.project,
        "branch": snapshot.branch,
        "subject": str(info.get("subject") or ""),
        "status": snapshot.status,
        "private": snapshot.private,
        "owner": snapshot.owner.display,
        "created": _iso(info.get("created")),
        "gerrit_url": f"{settings.gerrit_url}/c/{quote(snapshot.project, safe='')}/+/{number}",
        "verdict": str(outcome.verdict),
        "check": check_json(evaluation),
        "suggestion": {
            "reviewers": list(evaluation.suggested_reviewers),
            "why": evaluation.suggestion_why,
        },
        "requirements": requirements,
        "file_status": file_status_json(viewer, settings, snapshot, branch, outcome),
        "reviewers": [a.display for a in snapshot.reviewers],
        "names": change_names(info),
        "votes": [{"account": v.account.display, "value": v.value} for v in votes],
        "notes": [*([outcome.fallback] if outcome.fallback else []), *outcome.notes],
        "files": [f.path for f in snapshot.files],
        "history": bot_history(info, settings.user),
    }
    if explain is not None:
        path = clean_path(explain)
        if not path or ownership is None:
            raise BadRequest("explain needs a file path and a valid OWNERS.yaml")
        data["explain"] = explain_json(explain_path(ownership, path))
    return data


def file_status_json(
    viewer: Viewer, settings: Settings, snapshot: ChangeSnapshot, branch: Branch, outcome: Outcome
) -> list[Json]:
    """Each file's owner status (`owners.engine.reviews.file_statuses`): approved, pending
    with an owner asked, or no owner asked yet; who approved it, which requirements it has."""
    ownership = branch.ownership or fallback_ownership(settings.fallback_owners)
    if ownership is None:
        return []
    policy = ownership.config.policy
    change = snapshot.as_change(snapshot.files, snapshot.votes(policy.label))
    eligibility = Eligibility(ownership, group_reader(viewer))
    statuses = file_statuses(
        check_outcome(outcome), change, snapshot.reviewers, policy, eligibility
    )
    return [
        {
            "path": s.path,
            "state": str(s.state),
            "requirements": list(s.requirements),
            "approved_by": list(s.approved_by),
            "asked": list(s.asked),
        }
        for s in statuses
    ]


def ask_owners(viewer: Viewer, settings: Settings, number: int) -> list[str]:
    """Add the reviewers the engine suggests for the change now and who are not reviewers
    yet, as the viewer (Gerrit checks they may): the names are worked out again here, never
    taken from the request."""
    snapshot, _, _, outcome = judged(viewer, settings, number)
    present = {i for a in snapshot.reviewers for i in a.identities}
    suggested = [
        name.removeprefix("gerrit:")
        for name in check_outcome(outcome).suggested_reviewers
        if name not in present
    ]
    if suggested:
        viewer.gerrit.changes.add_reviewers(snapshot, suggested)
    return suggested


# -- my reviews -------------------------------------------------------------------------------


def reviews(viewer: Viewer, settings: Settings) -> Json:
    """The viewer's queue (`owners.gerrit.queue`, as `owners queue`): the subsystems they may
    approve for, the changes that need them, and those they approved that wait for others."""
    judge = _judge(viewer, settings)

    def branch_config(project: str, name: str) -> BranchConfig:
        return visible_branch(viewer, project, name).config

    found = reviewer_queue(judge, group_reader(viewer), branch_config, QUEUE_MEMO)
    return queue_json(found, datetime.now(UTC))


def _iso(text: object) -> str | None:
    return gerrit_time(text).isoformat(timespec="seconds") if isinstance(text, str) else None


def bot_history(info: dict[str, Any], bot: str) -> list[Json]:
    """The bot's status comments, oldest first: when, on which patch set, which verdict."""
    found = []
    for message in info.get("messages") or ():
        author = message.get("author") or {}
        if message.get("tag") != BOT_TAG or author.get("username") != bot:
            continue
        text = str(message.get("message") or "")
        verdict = _VERDICT_LINE.search(text)
        patch_set = _PATCH_SET.match(text)
        found.append(
            {
                "date": _iso(message.get("date")),
                "patch_set": int(patch_set.group(1)) if patch_set else None,
                "verdict": verdict.group(1) if verdict else None,
                "fingerprint": find_fingerprint(text),
                "message": _without_header(text),
            }
        )
    return found


def _without_header(text: str) -> str:
    """The comment without Gerrit's `Patch Set N: <votes>` line, capped."""
    return re.sub(r"\APatch Set \d+:[^\n]*\n\n", "", text, count=1)[:4000]


# -- review load -----------------------------------------------------------------------------


def review_load(viewer: Viewer, project: str, branch_name: str, days: int) -> Json:
    """`owners report`'s figures (its own JSON shape) for the last `days`, as the viewer
    may see the changes, cached per viewer for REPORT_TTL_SECONDS."""
    branch = visible_branch(viewer, project, branch_name)
    ownership = branch.ownership
    if ownership is None:
        raise NotFound(f"{project} {branch_name} has no valid OWNERS.yaml")
    key = (viewer.key, project, branch_name, f"{days}:{branch.config.revision}")

    def compute() -> Json:
        since = datetime.now(UTC) - timedelta(days=days)
        before = viewer.gerrit.calls
        label = ownership.config.policy.label
        histories = viewer.gerrit.changes.change_histories(project, branch_name, since, label)
        groups = group_reader(viewer)
        result = review_report(ownership, histories, since, groups, datetime.now(UTC))
        state = ownership_health(viewer.gerrit.people, ownership, result, groups)
        scope = Scope(project, branch_name, viewer.gerrit.calls - before, len(histories))
        return {
            **report_json(result, scope, state),
            "days": days,
            "computed": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    return REPORTS.get(key, compute)


def verdict_class(verdict: str) -> str:
    return {v.value: v.value.lower() for v in Verdict}.get(verdict, "unknown")
