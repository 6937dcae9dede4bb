"""A small evaluator of Lucene's regular expressions (`org.apache.lucene.util.automaton.
RegExp`, the syntax of Gerrit's `file:^regex`), written from the grammar in its Javadoc and
independent of the code that generates the dashboards' regexes, so the tests can check a
generated regex the way Gerrit will read it.

    unionexp     ::= interexp | unionexp            interexp ::= concatexp & interexp
    concatexp    ::= repeatexp concatexp            repeatexp ::= repeatexp (? | * | + | {n,m})
    complexp     ::= ~ complexp | charclassexp      charclassexp ::= [ classes ] | [^ classes ]
    simpleexp    ::= charexp | . | # | @ | "string" | ( ) | ( unionexp )
    charexp      ::= a character | \\ a character

`.` is any character (a newline too), `#` no string, `@` any string; a reserved character
anywhere a charexp may stand is itself (Lucene reads a lone `*` so).  Named automata `<id>`
and numeric intervals `<n-m>` are refused: a generated regex must not contain them.  A match
is of the whole string, as a path term is matched.  `ends` gives every end of a match of a
node from a start, so `&` and `~` apply to substrings exactly as to automata.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class LuceneSyntaxError(ValueError):
    pass


@dataclass(frozen=True, eq=False)
class Node:
    kind: str
    parts: tuple[Node, ...] = ()
    chars: str = ""  # a literal string, or a class's ranges as pairs of characters
    negated: bool = False
    low: int = 0
    high: int | None = None  # repeats: None is unbounded
    _memo: dict = field(default_factory=dict, compare=False, repr=False)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.at = 0

    def more(self) -> bool:
        return self.at < len(self.text)

    def peek(self, chars: str) -> bool:
        return self.more() and self.text[self.at] in chars

    def match(self, ch: str) -> bool:
        if self.more() and self.text[self.at] == ch:
            self.at += 1
            return True
        return False

    def next(self) -> str:
        if not self.more():
            raise LuceneSyntaxError(f"unexpected end of {self.text!r}")
        self.at += 1
        return self.text[self.at - 1]

    def parse(self) -> Node:
        node = self.union()
        if self.more():
            raise LuceneSyntaxError(f"end expected at {self.at} of {self.text!r}")
        return node

    def union(self) -> Node:
        node = self.inter()
        if self.match("|"):
            return Node("union", (node, self.union()))
        return node

    def inter(self) -> Node:
        node = self.concat()
        if self.match("&"):
            return Node("inter", (node, self.inter()))
        return node

    def concat(self) -> Node:
        node = self.repeat()
        if self.more() and not self.peek(")|&"):
            return Node("concat", (node, self.concat()))
        return node

    def repeat(self) -> Node:
        node = self.compl()
        while self.peek("?*+{"):
            ch = self.next()
            if ch == "?":
                node = Node("repeat", (node,), low=0, high=1)
            elif ch == "*":
                node = Node("repeat", (node,), low=0, high=None)
            elif ch == "+":
                node = Node("repeat", (node,), low=1, high=None)
            else:
                close = self.text.index("}", self.at)
                low, comma, high = self.text[self.at : close].partition(",")
                self.at = close + 1
                top = int(high) if high else (None if comma else int(low))
                node = Node("repeat", (node,), low=int(low), high=top)
        return node

    def compl(self) -> Node:
        if self.match("~"):
            return Node("compl", (self.compl(),))
        return self.charclass()

    def charclass(self) -> Node:
        if self.match("["):
            negated = self.match("^")
            ranges = []
            while True:
                first = self.char()
                last = self.char() if self.match("-") else first
                ranges.append(first + last)
                if self.match("]"):
                    break
            return Node("class", chars="".join(ranges), negated=negated)
        return self.simple()

    def simple(self) -> Node:
        if self.match("."):
            return Node("any")
        if self.match("#"):
            return Node("nothing")
        if self.match("@"):
            return Node("anystring")
        if self.match('"'):
            end = self.text.index('"', self.at)
            literal = self.text[self.at : end]
            self.at = end + 1
            return Node("string", chars=literal)
        if self.match("("):
            if self.match(")"):
                return Node("string", chars="")
            node = self.union()
            if not self.match(")"):
                raise LuceneSyntaxError(f"')' expected at {self.at} of {self.text!r}")
            return node
        if self.peek("<"):
            raise LuceneSyntaxError("named automata and numeric intervals are not supported")
        return Node("string", chars=self.char())

    def char(self) -> str:
        self.match("\\")
        return self.next()


def parse(text: str) -> Node:
    return _Parser(text).parse()


def ends(node: Node, s: str, i: int) -> frozenset[int]:
    """Every j such that s[i:j] is in the node's language."""
    key = (s, i)
    found = node._memo.get(key)
    if found is None:
        found = node._memo[key] = frozenset(_ends(node, s, i))
    return found


def _ends(node: Node, s: str, i: int) -> set[int]:
    kind = node.kind
    if kind == "any":
        return {i + 1} if i < len(s) else set()
    if kind == "nothing":
        return set()
    if kind == "anystring":
        return set(range(i, len(s) + 1))
    if kind == "string":
        return {i + len(node.chars)} if s.startswith(node.chars, i) else set()
    if kind == "class":
        if i >= len(s):
            return set()
        pairs = [node.chars[k : k + 2] for k in range(0, len(node.chars), 2)]
        inside = any(low <= s[i] <= high for low, high in pairs)
        return {i + 1} if inside != node.negated else set()
    if kind == "union":
        return set(ends(node.parts[0], s, i) | ends(node.parts[1], s, i))
    if kind == "inter":
        return set(ends(node.parts[0], s, i) & ends(node.parts[1], s, i))
    if kind == "compl":
        return set(range(i, len(s) + 1)) - ends(node.parts[0], s, i)
    if kind == "concat":
        return {k for j in ends(node.parts[0], s, i) for k in ends(node.parts[1], s, j)}
    if kind == "repeat":
        inner = node.parts[0]
        reached = {i} if node.low == 0 else set()
        frontier = {i}
        count = 0
        while frontier and (node.high is None or count < node.high):
            count += 1
            step = {k for j in frontier for k in ends(inner, s, j)}
            new = step if count <= node.low else step - reached
            if count >= node.low:
                reached |= step
            # past the minimum, a position seen before adds nothing new
            frontier = step if count < node.low else new
        return reached
    raise AssertionError(kind)


def fullmatch(regex: str, s: str) -> bool:
    """Whether Lucene's `RegExp(regex)` accepts the whole of `s`."""
    return len(s) in ends(parse(regex), s, 0)
