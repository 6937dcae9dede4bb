"""Which open changes a change of a Gerrit group may re-decide.

Gerrit keeps groups in All-Users, one ref per group (`refs/groups/<shard>/<UUID>`); adding or
removing a member, including a group, or renaming one moves that ref and the webhooks plugin
reports it as `ref-updated` (`owners.gerrit.events.GroupChanged`).  A vote of a member who was just
removed must stop counting at once, so the worker re-evaluates every open change whose
branch's OWNERS.yaml (or the fallback owners) names a `gerrit:` group that *is* the changed
group or includes it, directly or through other groups.

The selection errs towards re-evaluating: a named group the bot cannot resolve (deleted,
renamed, hidden) counts as affected, because after a rename the old name no longer resolves
and the changes naming it must lose the approvals it gave.  Re-evaluating a change whose
verdict did not move posts nothing.  The cost per group change is one change query page per
500 open changes of the watched projects, one or two calls per branch with open changes and
one call per group in the inclusion trees of the named groups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from owners.engine.model import GERRIT_PREFIX
from owners.gerrit.changes import Changes
from owners.gerrit.connection import GerritConnection
from owners.gerrit.model import UnexpectedResponse
from owners.gerrit.rest import Rest, encode, quoted
from owners.gerrit.settings import Settings
from owners.gerrit.verdict import CompileMap, compile_tree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupImpact:
    """What a group change touches: the group's name (None when the bot cannot see it), the
    named groups found to contain it, and the open changes to re-evaluate."""

    uuid: str
    name: str | None
    groups: tuple[str, ...]
    changes: tuple[tuple[str, int], ...]
    calls: int = 0

    def __str__(self) -> str:
        group = f"'{self.name}' ({self.uuid})" if self.name else self.uuid
        via = f" via gerrit:{', gerrit:'.join(self.groups)}" if self.groups else ""
        return (
            f"group {group} changed: {len(self.changes)} open "
            f"change{'' if len(self.changes) == 1 else 's'} to re-evaluate{via} "
            f"({self.calls} REST calls)"
        )


def named_groups(
    content: bytes | None,
    fallback_owners: Iterable[str] = (),
    included: tuple[tuple[str, bytes | None], ...] = (),
    compile_map: CompileMap | None = None,
) -> list[str]:
    """The Gerrit groups an OWNERS.yaml names anywhere (subsystem owners and aliases), plus
    those of the fallback owners, sorted.  Aliases are not followed but read whole: a group
    in an alias no subsystem uses is a harmless extra, one missed would be a stale vote."""
    entries = list(fallback_owners)
    if content is not None:
        ownership, _ = compile_tree(content, included, compile_map)
        if ownership is not None:
            entries += [o for s in ownership.config.all_subsystems for o in s.owners]
            entries += [o for members in ownership.config.groups.values() for o in members]
    return sorted({e[len(GERRIT_PREFIX) :] for e in entries if e.startswith(GERRIT_PREFIX)})


def affected_changes(gerrit: GerritConnection, settings: Settings, uuid: str) -> GroupImpact:
    """The open changes of the watched projects that the change of group `uuid` may
    re-decide (see the module's docstring).  Raises `GerritError` when Gerrit fails, so that
    the job is retried rather than concluding that nothing is affected."""
    before = gerrit.calls
    info = gerrit.get(f"groups/{encode(uuid)}", missing_ok=True)
    name = info.get("name") if isinstance(info, dict) else None
    inclusion = _Inclusion(gerrit, uuid)
    branches: dict[tuple[str, str], list[int]] = {}
    for project, branch, number in _open_changes(gerrit.changes, settings):
        branches.setdefault((project, branch), []).append(number)
    changes: list[tuple[str, int]] = []
    hit: set[str] = set()
    for (project, branch), numbers in sorted(branches.items()):
        config = gerrit.projects.branch_config(project, branch)
        named = named_groups(config.content, settings.fallback_owners, config.included)
        found = [g for g in named if inclusion.has(g)]
        if found:
            hit.update(found)
            changes += [(project, number) for number in sorted(numbers)]
    return GroupImpact(
        uuid, str(name) if name else None, tuple(sorted(hit)), tuple(changes), gerrit.calls - before
    )


def _open_changes(changes: Changes, settings: Settings) -> Iterator[tuple[str, str, int]]:
    queries = [f'status:open project:"{quoted(p)}"' for p in sorted(settings.projects)]
    for query in queries or ["status:open"]:
        for info in changes.query(query):
            project, branch, number = info.get("project"), info.get("branch"), info.get("_number")
            if (
                not isinstance(project, str)
                or not isinstance(branch, str)
                or isinstance(number, bool)
                or not isinstance(number, int)
            ):
                raise UnexpectedResponse("a change in a query answer lacks its project or branch")
            if settings.watches(project):
                yield project, branch, number


class _Inclusion:
    """Whether a named group is, or includes, the changed group; Gerrit's answers are kept
    for the one job, so each group costs one call however many branches name it."""

    def __init__(self, rest: Rest, target: str):
        self.rest = rest
        self.target = target
        self._ids: dict[str, str | None] = {}
        self._included: dict[str, list[str] | None] = {}

    def has(self, name: str) -> bool:
        if name not in self._ids:
            info = self.rest.get(f"groups/{encode(name)}", missing_ok=True)
            self._ids[name] = _group_id(info) if info is not None else None
        group = self._ids[name]
        if group is None:
            return True  # cannot be resolved: renamed or hidden; the evaluation fails closed
        return self._reaches(group, set())

    def _reaches(self, group: str, seen: set[str]) -> bool:
        if group == self.target:
            return True
        if group in seen or ":" in group:  # a cycle, or an external group (ldap:, global:)
            return False
        seen.add(group)
        if group not in self._included:
            answer = self.rest.get(f"groups/{encode(group)}/groups/", missing_ok=True)
            self._included[group] = None if answer is None else _included(answer)
        included = self._included[group]
        if included is None:
            return True  # cannot see what it includes: re-evaluate rather than miss it
        return any(self._reaches(child, seen) for child in included)


def _group_id(info: Any) -> str:
    if not isinstance(info, dict) or not isinstance(info.get("id"), str) or not info["id"]:
        raise UnexpectedResponse("a group answer has no id")
    return unquote(info["id"])  # Gerrit sends the UUID URL-encoded


def _included(answer: Any) -> list[str]:
    if not isinstance(answer, list):
        raise UnexpectedResponse("included groups did not return a list")
    return [_group_id(info) for info in answer]
