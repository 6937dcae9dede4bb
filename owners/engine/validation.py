"""The checks that need a whole OWNERS.yaml: references, cycles, feasibility, stale patterns.

`owners.engine.reader` reads each key on its own; what one key means for another (an alias
that no group defines, a parent that is no subsystem, a chain of parents that loops, a
requirement that not enough people can meet) is checked here, once the file is read, and
`tree_warnings` holds the patterns against the files of a tree.
"""

from __future__ import annotations

from collections.abc import Iterable

from owners.engine.directory import Lookup, check_entries, check_feasibility, needs_everyone
from owners.engine.hints import Near
from owners.engine.model import (
    GERRIT_PREFIX,
    ROOT,
    Diagnostic,
    Location,
    OwnersConfig,
    Severity,
    Subsystem,
)
from owners.engine.resolution import Hierarchy, Ownership

MAX_CHAIN = 32  # subsystems below root in one parent chain; aliases inside aliases


class Checker:
    """Checks that need the whole file: references, cycles, and requirements' feasibility.

    Its findings join `diagnostics`, the reader's: an owners entry already reported there is
    not reported again, and feasibility is checked only on a file without errors.  `groups`
    is where each group is defined, `owner_entries` every owners entry as written and where,
    `invalid_subsystems` those with an error of their own (their dependants are not told
    they are missing), and `directory` Gerrit's accounts and groups, when known.
    """

    def __init__(
        self,
        config: OwnersConfig,
        diagnostics: list[Diagnostic],
        *,
        groups: dict[str, Location],
        owner_entries: list[tuple[str, Location]],
        invalid_subsystems: set[str],
        directory: Lookup | None,
    ):
        self.config = config
        self.diagnostics = diagnostics
        self.groups = groups
        self.owner_entries = owner_entries
        self.invalid_subsystems = invalid_subsystems
        self.directory = directory

    def run(self) -> None:
        self._duplicate_names()
        self._aliases()
        self._group_cycles()
        parents_ok = self._parents()
        directory = self.directory
        if directory is not None:
            # An entry already reported (say, as a mistyped alias) is not reported twice.
            reported = {d.location for d in self.diagnostics}
            entries = [(e, at) for e, at in self.owner_entries if at not in reported]
            self.diagnostics += check_entries(self.config, entries, directory)
        if parents_ok and not self._errors():
            if directory is not None:
                self.diagnostics += check_feasibility(self.config, directory)
            else:
                self._feasibility()

    def _errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    def _report(
        self,
        location: Location | None,
        message: str,
        hint: str = "",
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(location or Location(self.config.source, 1, 1), severity, message, hint)
        )

    def _duplicate_names(self) -> None:
        first: dict[str, Subsystem] = {}
        for sub in self.config.subsystems:
            if sub.name in first:
                self._report(
                    sub.location,
                    f"duplicate subsystem name '{sub.name}'",
                    f"first defined at {first[sub.name].location}",
                )
            else:
                first[sub.name] = sub

    def _aliases(self) -> None:
        """A bare name that is no alias is a username, unless it looks like a mistyped alias.

        Only aliases one edit away are considered (see `Near`), which keeps the check
        linear in the size of the file.
        """
        groups = self.config.groups
        if not groups:
            return  # no alias to mistype
        near = Near(groups)
        for entry, where in self.owner_entries:
            if entry in groups or "@" in entry or ":" in entry:
                continue
            close = near.closest(entry, cutoff=0.8)
            if close:
                self._report(
                    where,
                    f"undefined alias '{entry}'",
                    f"did you mean '{close}'? write 'user:{entry}' if it is a username",
                )

    def _group_cycles(self) -> None:
        groups = self.config.groups
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        too_deep: list[str] = []

        def visit(name: str, path: list[str]) -> None:
            state[name] = 1
            for member in groups[name]:
                if member not in groups:
                    continue
                if state.get(member) == 1:
                    cycle = [*path[path.index(member) :], member]
                    self._report(
                        self.groups[name],
                        "group cycle: " + " -> ".join(cycle),
                        "a group may not contain itself",
                    )
                elif member not in state and len(path) >= MAX_CHAIN:
                    if not too_deep:
                        too_deep.append(path[0])
                        self._report(
                            self.groups[path[0]],
                            f"group '{path[0]}' nests aliases more than {MAX_CHAIN} levels deep",
                            "list the people of the inner groups directly",
                        )
                elif member not in state:
                    visit(member, [*path, member])
            state[name] = 2

        for name in groups:
            if name not in state:
                visit(name, [name])

    def _parents(self) -> bool:
        names = {s.name for s in self.config.all_subsystems}
        near: Near | None = None  # indexed for the first unknown parent only
        ok = True
        for sub in self.config.subsystems:
            if sub.parent in self.invalid_subsystems:
                ok = False  # its parent's own error is reported; the chain cannot be checked
            elif sub.parent not in names:
                near = near or Near(sorted(names))
                close = near.closest(sub.parent or "")
                self._report(
                    sub.location,
                    f"subsystem '{sub.name}' has unknown parent '{sub.parent}'",
                    f"did you mean '{close}'?" if close else "",
                )
                ok = False
            elif sub.parent == sub.name:
                self._report(sub.location, f"subsystem '{sub.name}' is its own parent")
                ok = False
        if not ok:
            return False
        parent_of = {s.name: s.parent for s in self.config.subsystems}
        reported: set[str] = set()
        too_deep: list[str] = []
        for sub in self.config.subsystems:
            chain = [sub.name]
            node = sub.parent
            while node and node != ROOT and node not in chain and len(chain) <= MAX_CHAIN:
                chain.append(node)
                node = parent_of[node]
            if len(chain) > MAX_CHAIN:
                if not too_deep:  # one report: the rest of a deep chain is as deep
                    too_deep.append(sub.name)
                    self._report(
                        sub.location,
                        f"subsystem '{sub.name}' is more than {MAX_CHAIN} levels below root",
                        "attach deep subsystems to a shallower parent",
                    )
                ok = False
            elif node in chain and node not in reported:
                cycle = [*chain[chain.index(node) :], node]
                reported.update(cycle)
                self._report(
                    sub.location,
                    "parent cycle: " + " -> ".join(cycle),
                    "every chain of parents must end at root",
                )
                ok = False
        return ok

    def _feasibility(self) -> None:
        ownership = Hierarchy(self.config)  # the approvers need no pattern index
        for sub in self.config.all_subsystems:
            # Count distinct people only as far as the verdict needs: a big group inherited
            # by thousands of subsystems must not be expanded for each of them.
            people: set[str] = set()
            for identity, _, _ in ownership.walk_approvers(sub.name):
                if identity.startswith(GERRIT_PREFIX):
                    break  # its size is only known to Gerrit; the service checks it
                people.add(identity)
                if len(people) > sub.approvals:
                    break
            else:
                self._check_count(sub, len(people))

    def _check_count(self, sub: Subsystem, eligible: int) -> None:
        if eligible < sub.approvals:
            self._report(
                sub.location,
                f"requirement of '{sub.name}' can never be met: it needs {sub.approvals} "
                f"approvals but has {eligible} eligible approvers",
                "add owners or lower 'approvals'",
            )
        elif needs_everyone(sub.approvals, eligible, self.config.policy):
            self._report(
                sub.location,
                f"'{sub.name}' needs every one of its {eligible} eligible approvers, so "
                "a change by one of them can never be approved",
                "add another owner",
                Severity.WARNING,
            )


def tree_warnings(config: OwnersConfig, tree: Iterable[str]) -> list[Diagnostic]:
    """Patterns that match no file of the tree: almost always a typo or a moved directory."""
    ownership = Ownership(config)
    used = ownership.used_rules(tree)
    return [
        Diagnostic(
            rule.location,
            Severity.WARNING,
            f"pattern '{rule.pattern}' of '{sub.name}' matches no file in the tree",
            "fix the path or remove the pattern",
        )
        for sub, rule in ownership.rules
        if (sub.name, rule.location) not in used
    ]
