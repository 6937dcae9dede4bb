"""From paths to requirements and eligible approvers (sentences 2, 3 and 7 of the format).

`Ownership` is a config compiled for questions: its patterns are compiled and indexed once,
the parent chains are walked once, and every answer is a pure function of a path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, overload

from owners.engine.model import (
    CONFIG_PATH,
    GERRIT_PREFIX,
    ROOT,
    USER_PREFIX,
    ConfigByName,
    Location,
    Mode,
    OwnersConfig,
    PathRule,
    Subsystem,
    gc_paused,
)
from owners.engine.patterns import (
    Glob,
    IndexedMatcher,
    NaiveMatcher,
    compile_glob,
)
from owners.engine.regions import Everything, Exactly, Matches, Region, any_of, minus

GroupResolver = Callable[[str], Iterable[str] | None]
"""Maps a Gerrit group name to its members' usernames and emails, or None when the group
cannot be seen (injected: the engine does no I/O)."""

Matcher = type[IndexedMatcher] | type[NaiveMatcher]


@dataclass(frozen=True)
class Approver:
    """An eligible approver and how they got there: the subsystem and the aliases followed."""

    identity: str
    subsystem: str
    via: tuple[str, ...]


class _RuleGlobs(Sequence[Glob]):
    """The globs of a config's rules, parsed on first use, each distinct pattern once.

    A rule the reader validated comes with its parsed glob; one built otherwise (or reopened
    from the compiled-map cache) is parsed only when a lookup reaches it.
    """

    def __init__(self, patterns: Sequence[str], compiled: Sequence[Glob | None] | None):
        self._patterns = patterns
        self._globs: list[Glob | None] = (
            list(compiled) if compiled is not None else [None] * len(patterns)
        )
        self._by_text: dict[str, Glob] = {}

    def __len__(self) -> int:
        return len(self._patterns)

    @overload
    def __getitem__(self, i: int) -> Glob: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Glob]: ...
    def __getitem__(self, i: int | slice) -> Glob | Sequence[Glob]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        glob = self._globs[i]
        if glob is None:
            text = self._patterns[i].removeprefix("!")
            glob = self._by_text.get(text)
            if glob is None:
                glob = self._by_text[text] = compile_glob(text)
            self._globs[i] = glob
        return glob


class Hierarchy:
    """The tree of subsystems and who may approve for each: what needs no path.

    Each answer is worked out when first asked for: a command about one path visits a few
    subsystems of thousands, and validation walks them all without any pattern index.  It
    asks of its config only what `ConfigByName` names.
    """

    def __init__(self, config: ConfigByName):
        self.config = config
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._chains: dict[str, tuple[str, ...]] = {}
        self._enforcers: dict[str, str] = {}

    def ancestors(self, name: str) -> tuple[str, ...]:
        """Proper ancestors, nearest first, ending at root."""
        found = self._ancestors.get(name)
        if found is None:
            chain: list[str] = []
            parent = self.config.subsystem(name).parent
            while parent is not None and parent not in chain:
                chain.append(parent)
                parent = self.config.subsystem(parent).parent
            found = self._ancestors[name] = tuple(chain)
        return found

    def chain(self, name: str) -> tuple[str, ...]:
        """The subsystem and the ancestors whose owners may approve for it (sentence 3)."""
        found = self._chains.get(name)
        if found is None:
            chain = [name]
            for ancestor in self.ancestors(name):
                if self.config.subsystem(chain[-1]).noparent:
                    break
                chain.append(ancestor)
            found = self._chains[name] = tuple(chain)
        return found

    def enforcer(self, name: str) -> str:
        """The subsystem whose approval is enforced for files owned by `name`."""
        found = self._enforcers.get(name)
        if found is None:
            found = ROOT
            for candidate in (name, *self.ancestors(name)):
                if self.config.subsystem(candidate).mode is Mode.ENFORCE:
                    found = candidate
                    break
            self._enforcers[name] = found
        return found

    # -- people --------------------------------------------------------------------------------

    def _expand(
        self, entry: str, via: tuple[str, ...] = (), expanded: set[str] | None = None
    ) -> Iterator[tuple[str, tuple[str, ...]]]:
        """The people an owners entry names, each with the aliases followed to reach them.

        An alias is expanded once per call: a second visit could only repeat people already
        given, and groups that share members would otherwise multiply the work.
        """
        groups = self.config.groups
        expanded = set() if expanded is None else expanded
        if entry in groups:
            if entry not in expanded:
                expanded.add(entry)
                for member in groups[entry]:
                    yield from self._expand(member, (*via, entry), expanded)
        elif entry.startswith(USER_PREFIX):
            yield entry[len(USER_PREFIX) :], via
        else:
            yield entry, via

    def walk_approvers(self, name: str) -> Iterator[tuple[str, str, tuple[str, ...]]]:
        """Eligible approvers for `name` as (identity, subsystem, aliases followed), nearest
        subsystem first, possibly repeated: for callers that can stop as soon as they know
        enough.  Tuples, not `Approver`s: validation walks every subsystem's chain."""
        for sub_name in self.chain(name):
            for owner in self.config.subsystem(sub_name).owners:
                for identity, via in self._expand(owner):
                    yield identity, sub_name, via

    def approvers(self, name: str) -> tuple[Approver, ...]:
        """Everyone eligible to approve for `name`, each once, nearest subsystem first."""
        seen: dict[str, Approver] = {}
        for identity, sub_name, via in self.walk_approvers(name):
            if identity not in seen:
                seen[identity] = Approver(identity, sub_name, via)
        return tuple(seen.values())

    def eligible(self, name: str) -> tuple[str, ...]:
        """Usernames and emails as written, aliases expanded, `gerrit:` groups as written."""
        return tuple(a.identity for a in self.approvers(name))

    def expand_entries(self, entries: Iterable[str]) -> tuple[str, ...]:
        """Owners entries with aliases expanded (`gerrit:` groups as written), each once: for
        lists of accounts that are not a subsystem's owners, such as `policy.exempt`."""
        found: dict[str, None] = {}
        for entry in entries:
            found.update((identity, None) for identity, _ in self._expand(entry))
        return tuple(found)

    def own_owners(self, name: str) -> tuple[str, ...]:
        """The subsystem's own owners, expanded: whom to ask first."""
        found: dict[str, None] = {}
        for owner in self.config.subsystem(name).owners:
            found.update((identity, None) for identity, _ in self._expand(owner))
        return tuple(found)


class Ownership(Hierarchy):
    """A config compiled for questions about paths.

    A cached map (`owners.cache`) passes what an earlier compile of the same config saved:
    `index`, the pattern index (`index_data`), and `rule_table`, each rule's subsystem name
    and pattern in file order, so that it answers without parsing its patterns or building
    the subsystems a lookup does not reach.  Answering `requirements` asks of the config only
    what `ConfigByName` names; `rules` and the regions go through every subsystem.
    """

    config: OwnersConfig

    def __init__(
        self,
        config: OwnersConfig,
        matcher: Matcher = IndexedMatcher,
        *,
        index: dict[str, Any] | None = None,
        rule_table: tuple[Sequence[str], Sequence[str]] | None = None,
    ):
        super().__init__(config)
        compiled: list[Glob | None] | None = None
        if rule_table is None:
            rules = self.rules
            names: Sequence[str] = [sub.name for sub, _ in rules]
            patterns: Sequence[str] = [rule.pattern for _, rule in rules]
            compiled = [rule.compiled for _, rule in rules]
        else:
            names, patterns = rule_table
        self._globs = _RuleGlobs(patterns, compiled)
        self._rule_subsystem = tuple(names)
        self._rule_negated = tuple(pattern.startswith("!") for pattern in patterns)
        self._requirements_cache: dict[tuple[int, ...], tuple[str, ...]] = {}
        self._matched_regions: dict[str, Region] = {}
        with gc_paused():
            self._matcher: IndexedMatcher | NaiveMatcher = (
                IndexedMatcher.from_index(self._globs, index)
                if index is not None
                else matcher(self._globs)
            )

    @cached_property
    def rules(self) -> tuple[tuple[Subsystem, PathRule], ...]:
        """Every (subsystem, rule) in file order; rule indexes of the matcher point here."""
        return tuple((sub, rule) for sub in self.config.subsystems for rule in sub.paths)

    def index_data(self) -> dict[str, Any]:
        """The pattern index as plain data, for `Ownership(config, index=...)`."""
        if not isinstance(self._matcher, IndexedMatcher):
            raise TypeError("only the indexed matcher has an index to save")
        return self._matcher.index_data()

    # -- paths ---------------------------------------------------------------------------------

    def _decisive(self, ids: tuple[int, ...]) -> dict[str, int]:
        """Per subsystem, the index of its last rule among `ids` (gitignore order)."""
        last: dict[str, int] = {}
        for i in ids:
            last[self._rule_subsystem[i]] = i
        return last

    def _matching(self, ids: tuple[int, ...], path: str) -> tuple[str, ...]:
        found = [name for name, i in self._decisive(ids).items() if not self._rule_negated[i]]
        if path == CONFIG_PATH:
            found = [name for name in found if self._claims_explicitly(name, path)]
        return tuple(found)

    def matching(self, path: str) -> tuple[str, ...]:
        """Subsystems whose paths include the file, in file order."""
        return self._matching(self._matcher.match(path), path)

    def _claims_explicitly(self, name: str, path: str) -> bool:
        for rule in self.config.subsystem(name).paths:
            if rule.negated:
                continue
            glob = rule.compiled or compile_glob(rule.glob)
            if glob.is_literal and glob.matches(path):
                return True
        return False

    def owning(self, path: str) -> tuple[str, ...]:
        """Matching subsystems minus ancestors of other matches; root when none match."""
        return self._nearest(self.matching(path))

    def _nearest(self, matched: tuple[str, ...]) -> tuple[str, ...]:
        covered = {a for name in matched for a in self.ancestors(name)}
        return tuple(name for name in matched if name not in covered) or (ROOT,)

    def requirements(self, path: str) -> tuple[str, ...]:
        """The subsystems that must approve the file: each owner, plus for an advisory owner
        the nearest enforcing ancestor that stands in for it."""
        ids = self._matcher.match(path)
        if path == CONFIG_PATH:
            return self._requirements_of(ids, path)
        # files matched by the same rules have the same requirements: work them out once
        cached = self._requirements_cache.get(ids)
        if cached is None:
            cached = self._requirements_cache[ids] = self._requirements_of(ids, path)
        return cached

    def _requirements_of(self, ids: tuple[int, ...], path: str) -> tuple[str, ...]:
        result: dict[str, None] = {}
        for name in self._nearest(self._matching(ids, path)):
            result[name] = None
            result[self.enforcer(name)] = None
        return tuple(result)

    # -- the same answers as sets of paths (regions.py) ------------------------------------------

    def matched_region(self, name: str) -> Region:
        """The paths `matching` gives `name` for: per rule, in file order, the last matching
        rule decides (`_decisive`), so a path is in when a positive rule matches it and no
        negated rule after that one does; OWNERS.yaml only with an explicit claim.  Root's
        are every path (it is the ancestor `_nearest` falls back to)."""
        if name == ROOT:
            return Everything()
        cached = self._matched_regions.get(name)
        if cached is not None:
            return cached
        runs: list[Region] = []
        positives: list[Region] = []
        later_negated: list[Region] = []
        claims_config = False
        for i in reversed(self._rule_ids[name]):
            rule = Matches(self._globs[i])
            if self._rule_negated[i]:
                if positives:
                    runs.append(minus(any_of(reversed(positives)), any_of(later_negated)))
                    positives = []
                later_negated.insert(0, rule)
            else:
                positives.append(rule)
                claims_config = claims_config or self._globs[i].matches(CONFIG_PATH)
        runs.append(minus(any_of(reversed(positives)), any_of(later_negated)))
        found = any_of(reversed(runs))
        if claims_config and not self._claims_explicitly(name, CONFIG_PATH):
            found = minus(found, Exactly(CONFIG_PATH))
        self._matched_regions[name] = found
        return found

    def region(self, name: str) -> Region:
        """The paths whose `requirements` hold `name`: those `name` owns (`_nearest`: it
        matches them and none of its descendants does), and those owned by a subsystem it
        enforces for (`enforcer`)."""
        return any_of(
            minus(
                self.matched_region(owner),
                any_of(self.matched_region(d) for d in self._descendants[owner]),
            )
            for owner in (sub.name for sub in self.config.all_subsystems)
            if owner == name or self.enforcer(owner) == name
        )

    @cached_property
    def _rule_ids(self) -> dict[str, list[int]]:
        """Each subsystem's rule indexes, in file order."""
        found: dict[str, list[int]] = {sub.name: [] for sub in self.config.all_subsystems}
        for i, name in enumerate(self._rule_subsystem):
            found[name].append(i)
        return found

    @cached_property
    def _descendants(self) -> dict[str, list[str]]:
        """Each subsystem's descendants, through `noparent` too (nearest wins regardless)."""
        found: dict[str, list[str]] = {sub.name: [] for sub in self.config.all_subsystems}
        for sub in self.config.subsystems:
            for ancestor in self.ancestors(sub.name):
                found[ancestor].append(sub.name)
        return found

    # -- explanations and trees -----------------------------------------------------------------

    def matched_rules(self, path: str) -> tuple[tuple[Subsystem, PathRule, bool], ...]:
        """Every rule matching the file, in file order, each with whether it is the last
        matching rule of its subsystem, the one that decides in or out (gitignore order)."""
        ids = self._matcher.match(path)
        decisive = set(self._decisive(ids).values())
        return tuple((*self.rules[i], i in decisive) for i in ids)

    def used_rules(self, tree: Iterable[str]) -> set[tuple[str, Location]]:
        """Which rules match at least one path of the tree, as (subsystem, location)."""
        used: set[int] = set()
        for path in tree:
            used.update(self._matcher.match(path))
        return {(self.rules[i][0].name, self.rules[i][1].location) for i in used}


def is_group(identity: str) -> bool:
    return identity.startswith(GERRIT_PREFIX)
