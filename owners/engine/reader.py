"""The schema of OWNERS.yaml: from its node tree to an `OwnersConfig`, or to located errors.

Each key is read here, with its type, its allowed values and the limits that keep a hostile
file cheap to read; the file's YAML is read safely by `owners.engine.safeyaml`, the files it
includes are confined by `owners.engine.includes`, and what needs the whole file (references,
cycles, feasibility) is checked by `owners.engine.validation`.  Every problem found is
reported; nothing is dropped or guessed at.  `owners.engine.config` is the entry point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from yaml.nodes import MappingNode, Node, SequenceNode

from owners.engine.directory import Lookup
from owners.engine.hints import closest
from owners.engine.includes import Included, Read, check_isolation, confine, included_files
from owners.engine.model import (
    GERRIT_PREFIX,
    ROOT,
    USER_PREFIX,
    Location,
    Mode,
    OwnersConfig,
    PathRule,
    Policy,
    Subsystem,
)
from owners.engine.patterns import Glob, PatternError, compile_glob
from owners.engine.safeyaml import NodeReader, is_string
from owners.engine.sla import SlaError, parse_review_sla
from owners.engine.validation import Checker

MAX_SUBSYSTEMS = 50_000
MAX_PATTERNS = 200_000
MAX_PATTERN_LENGTH = 1024
SUPPORTED_VERSION = 1

# The keys of `policy`, as `Policy` declares them (`policy_key`).
POLICY_KEYS = {key.name: key for key in fields(Policy)}
CHOICES = {
    name: key.metadata["choices"] for name, key in POLICY_KEYS.items() if key.metadata["choices"]
}
EXCEPTION_KEYS = tuple(name for name, key in POLICY_KEYS.items() if key.metadata["exception"])

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")
LABEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")  # what Gerrit accepts as a label name


@dataclass
class Reader(NodeReader):
    """Reads an OWNERS.yaml into an `OwnersConfig`, collecting its diagnostics."""

    directory: Lookup | None = None
    read_file: Read | None = None  # the files `include:` names
    _pattern_count: int = 0
    owner_entries: list[tuple[str, Location]] = field(default_factory=list)
    # subsystems defined with an error of their own: their dependants are not told they are
    # missing, which would be a second, false report of the same mistake
    invalid_subsystems: set[str] = field(default_factory=set)
    # each distinct pattern is parsed once; the rules carry the result to `Ownership`
    _globs: dict[str, Glob] = field(default_factory=dict)

    def read(self, data: bytes | str) -> OwnersConfig | None:
        node = self.document(data)
        return None if node is None else self._config(node)

    def _config(self, node: Node) -> OwnersConfig | None:
        top = self.mapping(
            node, ("version", "policy", "groups", "root", "subsystems", "include"), "the top level"
        )
        if not top and not isinstance(node, MappingNode):
            return None
        if "version" not in top:
            self.error(node, "missing 'version'", "start the file with 'version: 1'")
        else:
            version = self.integer(top["version"], "version")
            if version is not None and version != SUPPORTED_VERSION:
                self.error(
                    top["version"],
                    f"unsupported version {version}",
                    f"this tool reads version {SUPPORTED_VERSION}",
                )
        policy = self._policy(top["policy"]) if "policy" in top else Policy()
        groups = self._groups(top.get("groups"))
        if "root" not in top:
            self.error(node, "missing 'root'", "add 'root: {owners: [...]}' naming the core team")
            root = None
        else:
            root = self._subsystem(top["root"], is_root=True)
        subsystems = self._subsystems(top.get("subsystems"))
        included = self._includes(top["include"]) if "include" in top else []
        if included:
            root_file = Included(self.filename, groups, subsystems, list(self.owner_entries))
            self.diagnostics += check_isolation(root_file, included)
            for inc in included:
                groups = {**inc.groups, **groups}
                subsystems = [*subsystems, *inc.subsystems]
                self.owner_entries.extend(inc.owner_entries)
        if root is None or policy is None:
            return None
        config = OwnersConfig(
            policy,
            {k: v for k, (v, _) in groups.items()},
            root,
            tuple(s for s in subsystems),
            self.filename,
            tuple(inc.path for inc in included),
        )
        Checker(
            config,
            self.diagnostics,
            groups={name: self.at(key) for name, (_, key) in groups.items()},
            owner_entries=self.owner_entries,
            invalid_subsystems=self.invalid_subsystems,
            directory=self.directory,
        ).run()
        return config

    def _policy(self, node: Node) -> Policy | None:
        keys = self.mapping(node, tuple(POLICY_KEYS), "policy")
        values: dict[str, object] = {
            name: self._policy_value(name, value) for name, value in keys.items()
        }
        label = values.get("label")
        if isinstance(label, str) and not LABEL_NAME.match(label):
            self.error(
                keys["label"],
                f"'{label}' is not a Gerrit label name",
                "letters, digits and '-' only, e.g. Code-Review",
            )
            values["label"] = None
        sla = values.get("review_sla")
        if isinstance(sla, str):
            try:
                parse_review_sla(sla)
            except SlaError as exc:
                self.error(
                    keys["review_sla"],
                    f"policy.review_sla: {exc}",
                    "e.g. 3bd, or 5bd, hyperv=2bd, xenapi=none",
                )
                values["review_sla"] = None
        if any(v is None for v in values.values()):
            return None
        policy = Policy(**values)  # type: ignore[arg-type]
        if policy.approve <= 0:
            self.error(
                keys.get("approve", node),
                "policy.approve must be a positive vote",
                "Code-Review approval is 2",
            )
        if policy.veto >= 0:
            self.error(
                keys.get("veto", node),
                "policy.veto must be a negative vote",
                "Code-Review veto is -2",
            )
        return policy

    def _policy_value(self, name: str, node: Node) -> object:
        """One key of `policy`, read by the type `Policy` declares for it; None (and an
        error) when it is wrong: an opt-in exception weakens a check, so a wrong value is an
        error, never a default."""
        where = f"policy.{name}"
        default = POLICY_KEYS[name].default
        choices = CHOICES.get(name)
        if choices:
            text = self.string(node, where)
            if text is not None and text not in choices:
                close = closest(text, choices)
                self.error(
                    node,
                    f"{where} must be one of {', '.join(choices)}, not '{text}'",
                    f"did you mean '{close}'?" if close else "",
                )
                return None
            return text
        if isinstance(default, bool):
            return self.boolean(node, where)
        if isinstance(default, int):
            return self.integer(node, where)
        if isinstance(default, tuple):  # owners entries
            entries = self.strings(node, where)
            for entry, entry_node in entries:
                self.owner_entry(entry, entry_node)
            ok = isinstance(node, SequenceNode) and len(entries) == len(node.value)
            return tuple(e for e, _ in entries) if ok else None
        return self.string(node, where)

    def _groups(self, node: Node | None) -> dict[str, tuple[tuple[str, ...], Node]]:
        if node is None:
            return {}
        groups: dict[str, tuple[tuple[str, ...], Node]] = {}
        if not isinstance(node, MappingNode):
            self.error(node, "groups must be a mapping of alias name to members")
            return groups
        for key, value in node.value:
            name = self.string(key, "a group name")
            if name is None:
                continue
            if name in groups:
                self.error(
                    key,
                    f"duplicate group '{name}'",
                    f"first defined at line {groups[name][1].start_mark.line + 1}",
                )
                continue
            if not _NAME_RE.match(name) or name == ROOT:
                self.error(
                    key,
                    f"'{name}' is not a valid group name",
                    "letters, digits, '.', '_', '+' and '-'; not 'root'",
                )
                continue
            members = self.strings(value, f"group '{name}'")
            groups[name] = (tuple(m for m, _ in members), key)
            for member, member_node in members:
                self.owner_entry(member, member_node)
        return groups

    def owner_entry(self, entry: str, node: Node) -> None:
        self.owner_entries.append((entry, self.at(node)))
        if entry.startswith(GERRIT_PREFIX) and not entry[len(GERRIT_PREFIX) :].strip():
            self.error(node, "'gerrit:' needs a group name", "write gerrit:<Group Name>")
        elif entry.startswith(USER_PREFIX) and not entry[len(USER_PREFIX) :].strip():
            self.error(node, "'user:' needs a username")
        elif any(c.isspace() for c in entry) and not entry.startswith(GERRIT_PREFIX):
            self.error(
                node,
                f"'{entry}' is not a username, email or alias",
                "only gerrit:<Group Name> may contain spaces",
            )

    def _subsystems(self, node: Node | None) -> list[Subsystem]:
        if node is None:
            return []
        if not isinstance(node, SequenceNode):
            self.error(node, "subsystems must be a list")
            return []
        if len(node.value) > MAX_SUBSYSTEMS:
            self.error(node, f"{len(node.value)} subsystems, over the limit of {MAX_SUBSYSTEMS}")
            return []
        result = []
        for item in node.value:
            subsystem = self._subsystem(item, is_root=False)
            if subsystem is not None:
                result.append(subsystem)
        return result

    def _subsystem(self, node: Node, is_root: bool) -> Subsystem | None:
        allowed = (
            ("owners", "approvals", "description")
            if is_root
            else (
                "name",
                "description",
                "paths",
                "owners",
                "approvals",
                "parent",
                "noparent",
                "mode",
            )
        )
        what = "root" if is_root else _subsystem_label(node)
        misspelt: set[str] = set()
        keys = self.mapping(node, allowed, what, misspelt)
        if not keys and not isinstance(node, MappingNode):
            return None
        ok = True
        if is_root:
            name = ROOT
        elif "name" not in keys:
            self.error(node, "subsystem without a 'name'")
            return None
        else:
            name = self.string(keys["name"], "name")
            if name is None:
                return None
            if name == ROOT:
                self.error(
                    keys["name"], "'root' is reserved for the root section", "choose another name"
                )
                ok = False
            elif not _NAME_RE.match(name):
                self.error(
                    keys["name"],
                    f"'{name}' is not a valid subsystem name",
                    "letters, digits, '.', '_', '+' and '-'",
                )
                ok = False
            what = f"subsystem '{name}'"
        owners: tuple[str, ...] = ()
        if "owners" not in keys:
            if "owners" not in misspelt:
                self.error(
                    node, f"{what} has no 'owners'", "list who may approve, e.g. owners: [alice]"
                )
            ok = False
        else:
            entries = self.strings(keys["owners"], f"{what} owners")
            for entry, entry_node in entries:
                self.owner_entry(entry, entry_node)
            owners = tuple(e for e, _ in entries)
            if not entries and isinstance(keys["owners"], SequenceNode):
                self.error(keys["owners"], f"{what} has an empty owners list")
                ok = False
        approvals = 1
        if "approvals" in keys:
            approvals = self.integer(keys["approvals"], f"{what} approvals", minimum=1) or 0
            ok = ok and approvals > 0
        description = ""
        if "description" in keys:
            description = self.string(keys["description"], "description") or ""
        if is_root:
            return (
                Subsystem(ROOT, owners, approvals, (), description, None, location=self.at(node))
                if ok
                else None
            )
        rules = self._paths(keys.get("paths"), node, what, "paths" in misspelt)
        parent = ROOT
        if "parent" in keys:
            parent = self.string(keys["parent"], "parent")
            ok = ok and parent is not None
        noparent = False
        if "noparent" in keys:
            flag = self.boolean(keys["noparent"], "noparent")
            ok = ok and flag is not None
            noparent = bool(flag)
        mode = Mode.ENFORCE
        if "mode" in keys:
            text = self.string(keys["mode"], "mode")
            if text not in (Mode.ENFORCE, Mode.ADVISORY):
                self.error(keys["mode"], f"mode must be 'enforce' or 'advisory', not '{text}'")
                ok = False
            else:
                mode = Mode(text)
        if not ok or rules is None:
            self.invalid_subsystems.add(name)
            return None
        return Subsystem(
            name,
            owners,
            approvals,
            rules,
            description,
            parent,
            noparent,
            mode,
            self.at(keys["name"]),
        )

    def _paths(
        self, node: Node | None, owner: Node, what: str, misspelt: bool = False
    ) -> tuple[PathRule, ...] | None:
        if node is None:
            if not misspelt:  # else reported as the unknown key it was written as
                self.error(owner, f"{what} has no 'paths'", "list the paths it owns, e.g. [src/x/]")
            return None
        entries = self.strings(node, f"{what} paths")
        self._pattern_count += len(entries)
        if self._pattern_count > MAX_PATTERNS:
            self.error(node, f"more than {MAX_PATTERNS} patterns in the file")
            return None
        rules = []
        ok = True
        for text, item in entries:
            location = self.at(item)
            if len(text) > MAX_PATTERN_LENGTH:
                self.error(item, f"pattern longer than {MAX_PATTERN_LENGTH} characters")
                ok = False
                continue
            glob_text = text[1:] if text.startswith("!") else text
            glob = self._globs.get(glob_text)
            if glob is None:
                try:
                    glob = compile_glob(glob_text)
                except PatternError as exc:
                    self.error(item, f"malformed pattern '{text}': {exc}", exc.hint)
                    ok = False
                    continue
                self._globs[glob_text] = glob
            rules.append(PathRule(text, location, glob))
        if entries and not any(not r.negated for r in rules) and ok:
            self.error(
                node,
                f"{what} has only '!' patterns, so it owns nothing",
                "add the paths it owns before the exclusions",
            )
            ok = False
        if not entries and isinstance(node, SequenceNode):
            self.error(node, f"{what} has an empty paths list")
            ok = False
        return tuple(rules) if ok else None

    def _includes(self, node: Node) -> list[Included]:
        """Every file `include:` names, read with this file's rules but confined to its own
        directory (`owners.engine.includes`); problems are reported where they are."""
        found: list[Included] = []
        for path, data in included_files(self, node, self.read_file):
            reader = IncludedReader(path)
            included = reader.read_included(data)
            if included is not None:
                reader.diagnostics += confine(included)
                found.append(included)
            self.diagnostics += reader.diagnostics
        return found


class IncludedReader(Reader):
    """Reads an included file: the same checks, but only `version`, `groups` and
    `subsystems` (see `owners.engine.includes`)."""

    _included: Included | None = None

    def read_included(self, data: bytes) -> Included | None:
        self.read(data)
        return self._included

    def _config(self, node: Node) -> OwnersConfig | None:
        top = self.mapping(node, ("version", "groups", "subsystems"), "an included file")
        if "version" in top:
            version = self.integer(top["version"], "version")
            if version is not None and version != SUPPORTED_VERSION:
                self.error(top["version"], f"unsupported version {version}")
        groups = self._groups(top.get("groups"))
        subsystems = self._subsystems(top.get("subsystems"))
        self._included = Included(self.filename, groups, subsystems, list(self.owner_entries))
        return None


def _subsystem_label(node: Node) -> str:
    """How messages name a subsystem, even those about keys read before its name."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if key.value == "name" and is_string(value):
                return f"subsystem '{value.value}'"
    return "a subsystem"
