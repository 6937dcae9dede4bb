"""Untrusted YAML read safely into located nodes, and typed values read out of them.

An OWNERS.yaml is untrusted (anyone can propose a change to it), so reading it is defensive:
a size cap, no anchors, aliases, merge keys or tags, bounded nesting.  The YAML is composed
into nodes rather than loaded into Python objects so that every message can name the line
and column it is about, and so that duplicate keys are seen instead of silently overwritten.
What YAML itself rejects is told in the words of the usual mistake: a tab, or a pattern
starting with `!` or `*` left unquoted.  The meaning of the keys is `owners.engine.reader`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeGuard

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from owners.engine.hints import closest
from owners.engine.model import Diagnostic, Location, Severity

MAX_BYTES = 1 << 20
MAX_DEPTH = 8

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
QUOTE_HINT = "quote patterns that start with ! or *"
# What YAML says while reading an unquoted `!x` (a tag) or `*x`/`&x` (an alias, an anchor).
_UNQUOTED_CONTEXTS = ("while scanning a tag", "while scanning an alias", "while scanning an anchor")
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"


def is_string(node: Node) -> TypeGuard[ScalarNode]:
    """Whether the node is a string as YAML reads it (quoted, or plain and not a number,
    a boolean or null)."""
    return isinstance(node, ScalarNode) and node.tag == _STR


@dataclass
class NodeReader:
    """Reads one file: its node tree, and values from its nodes, each problem reported as a
    diagnostic at its place in `filename`."""

    filename: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

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

    # -- the node tree ---------------------------------------------------------------------

    def document(self, data: bytes | str) -> Node | None:
        """The file's one document as a node tree; None once its problem is reported."""
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
        return node

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
                close = closest(name, allowed)
                hint = f"did you mean '{close}'?" if close else "allowed: " + ", ".join(allowed)
                self.error(key, f"unknown key '{name}' in {what}", hint)
                if close and misspelt is not None:
                    misspelt.add(close)
                continue
            seen[name] = value
        return seen

    def string(self, node: Node, what: str) -> str | None:
        if is_string(node):
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


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a 0-based line and column, "" past the end (marks count characters,
    not bytes, in both YAML loaders)."""
    lines = text.split("\n")
    return lines[line][column : column + 1] if line < len(lines) else ""
