"""Reading OWNERS.yaml: from bytes to a validated `OwnersConfig`, or to located diagnostics.

The file is untrusted (anyone can propose a change to it), so parsing is defensive: a size
cap, no anchors, aliases, merge keys or tags, bounded nesting and counts.  The YAML is
composed into nodes rather than loaded into Python objects so that every message can name
the line and column it is about, and so that duplicate keys are seen instead of silently
overwritten.  Every problem found is reported; nothing is dropped or guessed at.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from owners.engine.directory import (
    Lookup,
    check_entries,
    check_feasibility,
    needs_everyone,
    remembered,
)
from owners.engine.includes import Included, Read, check_isolation, read_includes
from owners.engine.model import (
    CONFIG_PATH,
    GERRIT_PREFIX,
    ROOT,
    USER_PREFIX,
    Diagnostic,
    Location,
    Mode,
    OwnersConfig,
    PathRule,
    Policy,
    Severity,
    Subsystem,
    gc_paused,
)
from owners.engine.patterns import Glob, PatternError, compile_glob
from owners.engine.resolution import Hierarchy, Ownership

MAX_BYTES = 1 << 20
MAX_DEPTH = 8
MAX_SUBSYSTEMS = 50_000
MAX_PATTERNS = 200_000
MAX_PATTERN_LENGTH = 1024
MAX_CHAIN = 32  # subsystems below root in one parent chain; aliases inside aliases
SUPPORTED_VERSION = 1

# Opt-in exceptions under `policy` (docs/format.md, "Exceptions").
CHOICES = {
    "pure_reverts": ("review", "exempt"),
    "merge_commits": ("all-changed-files", "conflict-resolution"),
}
EXCEPTION_KEYS = ("implicit_approval", "exempt", *CHOICES, "sticky_approvals")

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")
LABEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")  # what Gerrit accepts as a label name

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
QUOTE_HINT = "quote patterns that start with ! or *"
# What YAML says while reading an unquoted `!x` (a tag) or `*x`/`&x` (an alias, an anchor).
_UNQUOTED_CONTEXTS = ("while scanning a tag", "while scanning an alias", "while scanning an anchor")
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"


class ConfigError(ValueError):
    """An OWNERS.yaml that cannot be used; carries every diagnostic, errors and warnings."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR]
        super().__init__("\n".join(str(d) for d in errors))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]


def load_config(
    data: bytes | str, filename: str = CONFIG_PATH, *, read: Read | None = None
) -> OwnersConfig:
    """Parse and validate; raise `ConfigError` on any error (warnings alone do not raise)."""
    config, diagnostics = parse_config(data, filename, read=read)
    if config is None:
        raise ConfigError(diagnostics)
    return config


def parse_config(
    data: bytes | str,
    filename: str = CONFIG_PATH,
    directory: Lookup | None = None,
    *,
    read: Read | None = None,
) -> tuple[OwnersConfig | None, list[Diagnostic]]:
    """Parse and validate; the config is None when any diagnostic is an error.

    With a `directory` (a lookup of accounts and groups, see `owners.engine.directory`) the
    names are also checked against it, and feasibility counts the accounts and group members
    that exist: only Gerrit can tell a mistyped alias from a username.  `read` gives the
    files `include:` names (without it, a file with includes is an error).
    """
    reader = _Reader(
        filename, directory=remembered(directory) if directory else None, read_file=read
    )
    with gc_paused():
        config = reader.read(data)
    diagnostics = sorted(reader.diagnostics, key=lambda d: (d.location, d.message))
    if any(d.severity is Severity.ERROR for d in diagnostics):
        return None, diagnostics
    return config, diagnostics


@dataclass
class _Reader:
    filename: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    directory: Lookup | None = None
    read_file: Read | None = None  # the files `include:` names
    _pattern_count: int = 0
    owner_entries: list[tuple[str, Location]] = field(default_factory=list)
    # subsystems defined with an error of their own: their dependants are not told they are
    # missing, which would be a second, false report of the same mistake
    invalid_subsystems: set[str] = field(default_factory=set)
    # each distinct pattern is parsed once; the rules carry the result to `Ownership`
    _globs: dict[str, Glob] = field(default_factory=dict)

    # -- reporting ---------------------------------------------------------------------

    def at(self, node: Node | None, line: int = 0, column: int = 0) -> Location:
        if node is not None:
            line, column = node.start_mark.line, node.start_mark.column
        return Location(self.filename, line + 1, column + 1)

    def error(self, node: Node | None, message: str, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(self.at(node), Severity.ERROR, message, hint))

    def error_at(self, line: int, column: int, message: str, hint: str = "") -> None:
        """An error at a 0-based position, for problems found before there are nodes."""
        self.diagnostics.append(
            Diagnostic(self.at(None, line, column), Severity.ERROR, message, hint)
        )

    # -- syntax ------------------------------------------------------------------------

    def read(self, data: bytes | str) -> OwnersConfig | None:
        raw = data.encode(errors="surrogatepass") if isinstance(data, str) else data
        if len(raw) > MAX_BYTES:
            self.error(
                None,
                f"file is {len(raw)} bytes, over the {MAX_BYTES} byte limit",
                "split ownership into fewer, broader patterns",
            )
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n")
            self.error_at(line, 0, f"not valid UTF-8 (byte {exc.start})", "save the file as UTF-8")
            return None
        try:
            safe, node = self._compose(text)
            if not safe:
                return None
        except yaml.MarkedYAMLError as exc:
            if exc.context in _UNQUOTED_CONTEXTS and exc.context_mark is not None:
                # `- *.pyc` or `[x/, !x/README]`: YAML read a pattern as an alias or a tag.
                # Point at the pattern, where the fix goes, not at the character YAML
                # choked on.
                mark = exc.context_mark
                problem = f"YAML syntax error: {exc.problem} ({exc.context})"
                self.error_at(mark.line, mark.column, problem, QUOTE_HINT)
                return None
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line, mark.column) if mark else (0, 0)
            if mark is not None and _char_at(text, line, column) == "\t":
                self.error_at(
                    line, column, "YAML syntax error: a tab, where YAML allows only spaces",
                    "indent with spaces",
                )  # fmt: skip
                return None
            problem = f"YAML syntax error: {exc.problem or exc.context}"
            self.error_at(line, column, problem, "check indentation and quoting")
            return None
        except yaml.reader.ReaderError as exc:  # a character YAML forbids, e.g. NUL
            position = exc.position
            if _Loader is not yaml.SafeLoader:  # libyaml counts bytes of the UTF-8 text
                position = len(raw[:position].decode("utf-8", errors="ignore"))
            line = text.count("\n", 0, position)
            column = position - (text.rfind("\n", 0, position) + 1)
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            self.error_at(
                line,
                column,
                f"character U+{code:04X} is not allowed in YAML",
                "remove it, or write it as an escape in a double-quoted string",
            )
            return None
        except yaml.YAMLError as exc:
            self.error(None, f"YAML error: {exc}")
            return None
        if node is None:
            self.error(None, "file is empty", "start with 'version: 1'")
            return None
        return self._config(node)

    def _compose(self, text: str) -> tuple[bool, Node | None]:
        """The document's node tree, or (False, None) after reporting what YAML allows but an
        ownership file never needs.

        One pass over libyaml's events does both: it rejects anchors, aliases, tags and deep
        nesting as they come, and builds the nodes (with their positions, for messages) that
        `yaml.compose` would, without its per-node resolver calls, which cost more than the
        parse itself on a large file.  Plain scalars are resolved as `yaml.compose` resolves
        them (an int, a bool, a merge key), so the same file gives the same nodes.
        """
        loader = _Loader(text)
        resolvers = loader.yaml_implicit_resolvers
        wildcard = None in resolvers
        resolve, get_event, check_event = loader.resolve, loader.get_event, loader.check_event
        stack: list[tuple[Node | None, Node | None]] = []
        root: Node | None = None
        parent: Node | None = None
        key: Node | None = None
        depth = 0
        documents = 0
        second: yaml.Mark | None = None  # where a second document starts: an error at the end
        try:
            while check_event():
                event = get_event()
                kind = type(event)
                if kind is yaml.ScalarEvent:
                    if event.anchor is not None or event.tag not in (None, "!"):
                        return self._unsafe(event), None
                    if second is not None:
                        continue
                    value = event.value
                    plain = event.implicit[0]
                    if plain and (wildcard or (value[:1] if value else "") in resolvers):
                        tag = resolve(ScalarNode, value, event.implicit)
                    else:
                        tag = _STR
                    node: Node = ScalarNode(tag, value, event.start_mark, event.end_mark)
                elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                    if event.anchor is not None or event.tag is not None:
                        return self._unsafe(event), None
                    depth += 1
                    if depth > MAX_DEPTH:
                        mark = event.start_mark
                        self.error_at(
                            mark.line,
                            mark.column,
                            f"nesting deeper than {MAX_DEPTH} levels",
                            "OWNERS.yaml needs at most four levels",
                        )
                        return False, None
                    if second is not None:
                        continue
                    if kind is yaml.MappingStartEvent:
                        node = MappingNode(_MAP, [], event.start_mark, None, event.flow_style)
                    else:
                        node = SequenceNode(_SEQ, [], event.start_mark, None, event.flow_style)
                elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                    depth -= 1
                    if second is None:
                        parent, key = stack.pop()
                    continue
                elif kind is yaml.AliasEvent:
                    return self._unsafe(event), None
                elif kind is yaml.DocumentStartEvent:
                    documents += 1
                    if documents == 2:
                        second = event.start_mark
                    continue
                else:
                    continue
                if parent is None:
                    root = node
                elif type(parent) is MappingNode:
                    if key is None:
                        key = node
                    else:
                        parent.value.append((key, node))
                        key = None
                else:
                    parent.value.append(node)
                if kind is not yaml.ScalarEvent:
                    stack.append((parent, key))
                    parent, key = node, None
        finally:
            loader.dispose()
        if second is not None:
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                root.start_mark if root is not None else None,
                "but found another document",
                second,
            )
        return True, root

    def _unsafe(self, event: yaml.Event) -> bool:
        """Report an anchor, alias or tag; False, for `_compose` to return."""
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent):  # often `*.py` left unquoted
            self.error_at(
                mark.line,
                mark.column,
                f"YAML aliases are not allowed (*{event.anchor} is an alias)",
                f"{QUOTE_HINT}; write values out, or use a group alias under 'groups'",
            )
        elif getattr(event, "anchor", None):
            self.error_at(
                mark.line,
                mark.column,
                "YAML anchors and aliases are not allowed",
                "write the values out, or use a group alias under 'groups'",
            )
        else:
            tag = event.tag  # type: ignore[attr-defined]
            # A local tag on a scalar is almost always an exclusion pattern left unquoted
            # (`- !docs/x.md`); `!!str` and friends are deliberate YAML.
            local = isinstance(event, yaml.ScalarEvent) and not tag.startswith(_TAG)
            hint = QUOTE_HINT if local else "remove the tag"
            self.error_at(mark.line, mark.column, f"YAML tags are not allowed ({tag})", hint)
        return False

    # -- typed access to nodes -----------------------------------------------------------

    def mapping(
        self, node: Node, allowed: Iterable[str], what: str, misspelt: set[str] | None = None
    ) -> dict[str, Node]:
        """The keys of a mapping, reporting unknown and duplicate ones.  Each allowed key an
        unknown one was taken for (`owner` for `owners`) is added to `misspelt`, so that the
        caller does not report that key as missing too."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping")
            return {}
        allowed = tuple(allowed)
        seen: dict[str, Node] = {}
        key_nodes: dict[str, Node] = {}
        for key, value in node.value:
            if key.tag == _TAG + "merge":
                self.error(key, "YAML merge keys ('<<') are not allowed", "write the keys out")
                continue
            name = self.string(key, f"a key of {what}")
            if name is None:
                continue
            if name in key_nodes:
                self.error(
                    key,
                    f"duplicate key '{name}' in {what}",
                    f"first given at line {key_nodes[name].start_mark.line + 1}",
                )
                continue
            key_nodes[name] = key
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
                self.error(key, f"unknown key '{name}' in {what}", hint)
                if close and misspelt is not None:
                    misspelt.add(close[0])
                continue
            seen[name] = value
        return seen

    def string(self, node: Node, what: str) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == _TAG + "str":
            return node.value
        self.error(node, f"{what} must be a string", "quote it")
        return None

    def integer(self, node: Node, what: str, minimum: int | None = None) -> int | None:
        if not (isinstance(node, ScalarNode) and node.tag == _TAG + "int"):
            self.error(node, f"{what} must be an integer")
            return None
        if len(node.value) > 18:  # also keeps a 5,000-digit number from reaching int()
            self.error(node, f"{what} is too large")
            return None
        value = yaml.constructor.SafeConstructor().construct_yaml_int(node)
        if minimum is not None and value < minimum:
            self.error(node, f"{what} must be at least {minimum}, not {value}")
            return None
        return value

    def boolean(self, node: Node, what: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == _TAG + "bool":
            return yaml.constructor.SafeConstructor().construct_yaml_bool(node)
        self.error(node, f"{what} must be true or false")
        return None

    def strings(self, node: Node, what: str) -> list[tuple[str, Node]]:
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list", f"write {what}: [a, b]")
            return []
        items = []
        for item in node.value:
            value = self.string(item, f"each entry of {what}")
            if value is not None and value.strip() == "":
                self.error(item, f"empty entry in {what}")
            elif value is not None:
                items.append((value, item))
        return items

    # -- the schema ------------------------------------------------------------------------

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
        included = read_includes(self, top["include"]) if "include" in top else []
        if included:
            check_isolation(self, subsystems, groups, included)
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
        _Checker(self, config, groups).run()
        return config

    def _policy(self, node: Node) -> Policy | None:
        keys = self.mapping(
            node,
            ("label", "approve", "veto", "self_approval", "root_veto", *EXCEPTION_KEYS),
            "policy",
        )
        values: dict[str, object] = self._exceptions(keys)
        if "label" in keys:
            label = self.string(keys["label"], "policy.label")
            if label is not None and not LABEL_NAME.match(label):
                self.error(
                    keys["label"],
                    f"'{label}' is not a Gerrit label name",
                    "letters, digits and '-' only, e.g. Code-Review",
                )
            values["label"] = label
        for name in ("approve", "veto"):
            if name in keys:
                values[name] = self.integer(keys[name], f"policy.{name}")
        for name in ("self_approval", "root_veto"):
            if name in keys:
                values[name] = self.boolean(keys[name], f"policy.{name}")
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

    def _exceptions(self, keys: dict[str, Node]) -> dict[str, object]:
        """The opt-in exceptions of `policy` (docs/format.md, "Exceptions").  Each weakens a
        check, so each must be written out; a wrong value is an error, never a default."""
        values: dict[str, object] = {}
        for name in ("implicit_approval", "sticky_approvals"):
            if name in keys:
                values[name] = self.boolean(keys[name], f"policy.{name}")
        if "exempt" in keys:
            entries = self.strings(keys["exempt"], "policy.exempt")
            for entry, entry_node in entries:
                self.owner_entry(entry, entry_node)
            ok = isinstance(keys["exempt"], SequenceNode) and len(entries) == len(
                keys["exempt"].value
            )
            values["exempt"] = tuple(e for e, _ in entries) if ok else None
        for name, choices in CHOICES.items():
            if name in keys:
                text = self.string(keys[name], f"policy.{name}")
                if text is not None and text not in choices:
                    self.error(
                        keys[name],
                        f"policy.{name} must be one of {', '.join(choices)}, not '{text}'",
                        f"did you mean '{difflib.get_close_matches(text, choices, n=1)[0]}'?"
                        if difflib.get_close_matches(text, choices, n=1)
                        else "",
                    )
                    text = None
                values[name] = text
        return values

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


class _IncludedReader(_Reader):
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


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a 0-based line and column, "" past the end (marks count characters,
    not bytes, in both YAML loaders)."""
    lines = text.split("\n")
    return lines[line][column : column + 1] if line < len(lines) else ""


def _subsystem_label(node: Node) -> str:
    """How messages name a subsystem, even those about keys read before its name."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if key.value == "name" and isinstance(value, ScalarNode) and value.tag == _TAG + "str":
                return f"subsystem '{value.value}'"
    return "a subsystem"


class _Near:
    """Finds a known name one edit away from a mistyped one, for "did you mean" hints.

    Comparing every unknown name with every known one is quadratic, and a hostile file holds
    tens of thousands of each; instead each known name is indexed under itself with each one
    character deleted, and two names one insertion, deletion, substitution or transposition
    apart always share a key.  difflib then ranks the few candidates found.
    """

    def __init__(self, names: Iterable[str]):
        self._index: dict[str, list[str]] = {}
        for name in names:
            for key in self._keys(name):
                self._index.setdefault(key, []).append(name)

    @staticmethod
    def _keys(name: str) -> set[str]:
        if len(name) > 64:  # not a typo of a name anyone types
            return {name}
        return {name, *(name[:i] + name[i + 1 :] for i in range(len(name)))}

    def closest(self, word: str, cutoff: float = 0.6) -> str | None:
        found = (self._index.get(key, ()) for key in sorted(self._keys(word)))
        candidates = list(itertools.islice(itertools.chain.from_iterable(found), 32))
        if not candidates:
            return None
        close = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
        return close[0] if close else None


class _Checker:
    """Checks that need the whole file: references, cycles, and requirements' feasibility."""

    def __init__(
        self, reader: _Reader, config: OwnersConfig, groups: dict[str, tuple[tuple[str, ...], Node]]
    ):
        self.reader = reader
        self.config = config
        self.group_nodes = {name: node for name, (_, node) in groups.items()}

    def run(self) -> None:
        self._duplicate_names()
        self._aliases()
        self._group_cycles()
        parents_ok = self._parents()
        directory = self.reader.directory
        if directory is not None:
            # An entry already reported (say, as a mistyped alias) is not reported twice.
            reported = {d.location for d in self.reader.diagnostics}
            entries = [(e, at) for e, at in self.reader.owner_entries if at not in reported]
            self.reader.diagnostics += check_entries(self.config, entries, directory)
        if parents_ok and not self._errors():
            if directory is not None:
                self.reader.diagnostics += check_feasibility(self.config, directory)
            else:
                self._feasibility()

    def _errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.reader.diagnostics)

    def _report(
        self,
        location: Location | None,
        message: str,
        hint: str = "",
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.reader.diagnostics.append(
            Diagnostic(location or Location(self.reader.filename, 1, 1), severity, message, hint)
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

        Only aliases one edit away are considered (see `_Near`), which keeps the check
        linear in the size of the file.
        """
        groups = self.config.groups
        if not groups:
            return  # no alias to mistype
        near = _Near(groups)
        for entry, where in self.reader.owner_entries:
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
                        self.reader.at(self.group_nodes[name]),
                        "group cycle: " + " -> ".join(cycle),
                        "a group may not contain itself",
                    )
                elif member not in state and len(path) >= MAX_CHAIN:
                    if not too_deep:
                        too_deep.append(path[0])
                        self._report(
                            self.reader.at(self.group_nodes[path[0]]),
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
        near: _Near | None = None  # indexed for the first unknown parent only
        ok = True
        for sub in self.config.subsystems:
            if sub.parent in self.reader.invalid_subsystems:
                ok = False  # its parent's own error is reported; the chain cannot be checked
            elif sub.parent not in names:
                near = near or _Near(sorted(names))
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
