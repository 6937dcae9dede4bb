"""CODEOWNERS-style path patterns, compiled once and indexed.

A pattern is split into a *core* that must match a whole leading run of path segments and a
*reach* that says whether the core may match the file itself, one of its directories, or
both.  Matching a directory covers every file below it, so the indexed matcher can remember
per directory which patterns already cover everything inside it and only look at a file's
own name afterwards.  That is what makes resolving a large change or a whole tree cheap.

The rules are GitHub's: a leading `/` or a `/` inside the pattern anchors it at the root, a
pattern without one matches at any depth, a trailing `/` (or `/**`) means "everything in
this directory", a last segment of a lone `*` matches direct children only, `*` and `?`
never cross a `/`, `**` spans whole segments and `\\` escapes the next character.
"""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

WILDCARDS = "*?"


class PatternError(ValueError):
    """A pattern that cannot be compiled; `offset` points into the pattern text."""

    def __init__(self, message: str, offset: int = 0, hint: str = ""):
        super().__init__(message)
        self.offset = offset
        self.hint = hint


class Reach(enum.Enum):
    SELF_OR_DESCENDANTS = "self-or-descendants"
    DESCENDANTS = "descendants"
    SELF = "self"


@dataclass(frozen=True)
class Glob:
    """A parsed pattern; `core` must fully match the path or one of its directories.

    Parsing checks the pattern and gives the index what it files a glob under; the regex is
    only built when a lookup first tries the glob, since a map of 10,000 subsystems is
    mostly never consulted by one command (and validation needs no regex at all).
    """

    text: str
    reach: Reach
    segments: tuple[str, ...]
    anchored: bool

    @cached_property
    def core(self) -> re.Pattern[str]:
        # DOTALL: `**` spans any characters, a newline too, as `*` and the string tests do
        return re.compile(_core_regex(self.segments), re.DOTALL)

    @cached_property
    def string_test(self) -> Callable[[str], bool] | None:
        """The core's full match done with string operations, for the shapes most patterns
        have (see `_string_test`); None when only the regex will do.  A lookup tries a few
        dozen globs, and building their regexes would cost more than the lookup."""
        return _string_test(self.segments)

    @cached_property
    def literal_head(self) -> str:
        """What every path or directory it matches starts with: its leading literal segments
        and a `/`, or "" when it has none (unanchored) or nothing but (literal).  A cheap
        test that rules most globs out before their regex is built."""
        if not self.anchored:
            return ""
        head = []
        for seg in self.segments:
            if seg == "**" or _has_wildcard(seg):
                break
            head.append(_unescape(seg))
        if not head or len(head) == len(self.segments):
            return ""
        return "/".join(head) + "/"

    @property
    def is_literal(self) -> bool:
        """Written without wildcards: `OWNERS.yaml` as much as `/OWNERS.yaml`, although an
        unanchored glob is compiled with an implicit leading `**`."""
        written = self.segments if self.anchored else self.segments[-1:]
        return not any(_has_wildcard(seg) for seg in written)

    def matches(self, path: str) -> bool:
        """Try the core on every prefix the reach allows: the slow, obviously right way."""
        parts = path.split("/")
        last = len(parts)
        first = last if self.reach is Reach.SELF else 1
        stop = last - 1 if self.reach is Reach.DESCENDANTS else last
        return any(self.core.fullmatch("/".join(parts[:i])) for i in range(first, stop + 1))


def _string_test(segments: tuple[str, ...]) -> Callable[[str], bool] | None:
    """`re.fullmatch(_core_regex(segments), s)` for: a literal path; literal folders and
    a last name with `*` wildcards; `**` after literal folders (or none) and such a name.
    None for the rest (`?`, escapes, wildcard folders, `**` elsewhere)."""
    if segments == ("**",):
        return bool  # any path
    if any("\\" in seg or "?" in seg for seg in segments):
        return None
    *folders, last = segments
    deep = bool(folders) and folders[-1] == "**"
    if deep:
        folders.pop()
    if "**" in last or any("*" in folder for folder in folders):
        return None
    if not deep and "*" not in last:
        return "/".join(segments).__eq__
    name_matches = _star_test(last)
    if not deep:
        parent = "/".join(folders)

        def in_parent(path: str) -> bool:
            folder, _, name = path.rpartition("/")
            return folder == parent and name_matches(name)

        return in_parent
    head = "/".join(folders) + "/" if folders else ""

    def below_head(path: str) -> bool:
        return (
            len(path) > len(head)
            and path.startswith(head)
            and name_matches(path.rpartition("/")[2])
        )

    return below_head


def _star_test(segment: str) -> Callable[[str], bool]:
    """A match for one name against a segment whose only wildcard is `*` (never `/`): its
    literal parts in order, the first at the start and the last at the end."""
    if segment == "*":
        return bool  # a lone `*` is a whole, non-empty name
    if "*" not in segment:
        return segment.__eq__
    first, *middle, last = segment.split("*")
    fixed = len(first) + len(last)

    def matches(name: str) -> bool:
        if len(name) < fixed or not name.startswith(first) or not name.endswith(last):
            return False
        position, end = len(first), len(name) - len(last)
        for part in middle:
            found = name.find(part, position, end)
            if found < 0:
                return False
            position = found + len(part)
        return True

    return matches


def compile_glob(text: str) -> Glob:
    """Compile one pattern (without its leading `!`)."""
    if not text:
        raise PatternError("empty pattern")
    if "***" in text:
        raise PatternError("'***' is not a wildcard", text.index("***"), "use '**' for any depth")
    _check_escapes(text)
    anchored = text.startswith("/")
    body = text[1:] if anchored else text
    reach = Reach.SELF_OR_DESCENDANTS
    if body.endswith("/"):
        body = body[:-1]
        reach = Reach.DESCENDANTS
    if not body:
        raise PatternError("'/' alone matches nothing", 0, "use '**' to match every file")
    segments = body.split("/")
    if "" in segments:
        raise PatternError("empty path segment ('//')", text.index("//"))
    anchored = anchored or len(segments) > 1
    # '**/**' means what '**' means; the regex below assumes no two '**' segments in a row
    segments = [
        seg for i, seg in enumerate(segments) if seg != "**" or segments[i - 1 : i] != ["**"]
    ]
    while len(segments) > 1 and segments[-1] == "**":
        segments.pop()
        reach = Reach.DESCENDANTS
    if not anchored and segments[0] != "**":
        segments.insert(0, "**")
    if segments[-1] == "*" and reach is Reach.SELF_OR_DESCENDANTS:
        reach = Reach.SELF
    for seg in segments:
        if "**" in seg and seg != "**":
            raise PatternError(
                "'**' must be a whole path segment", text.index(seg), "write 'a/**/b', not 'a**b'"
            )
    return Glob(text, reach, tuple(segments), anchored)


def _check_escapes(text: str) -> None:
    if "\\" not in text and "[" not in text and "]" not in text:
        return  # the common case, without a Python loop over the characters
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "[]":
            raise PatternError(
                "character ranges are not supported", i, f"write '\\{ch}' to match a literal '{ch}'"
            )
    if escaped:
        raise PatternError("pattern ends with a lone '\\'", len(text) - 1, "escape it as '\\\\'")


def path_regex(glob: Glob) -> str:
    """The paths `glob` matches, as one regular expression over whole paths: what
    `Glob.matches` answers, for other matchers (Gerrit's `file:^regex` in a dashboard).

    It is written in the subset of regex syntax that means the same to Python's `re` with
    `re.DOTALL` (a path may hold any character but `/` in a name) and to Lucene's `RegExp`
    (Gerrit's): literals, `.` (any character), `[^/]`, `(`...`)`, `?`, `*`, `+`, and every
    ASCII character other than a letter, a digit, `_` or `/` escaped with `\\` (which both
    read as that character; Lucene gives `@ & ~ # < > "` meanings of their own).  The core is
    the engine's own (`_core_regex`); only the reach is added here.
    """
    return "".join(path_regex_parts(glob))


def path_regex_parts(glob: Glob) -> tuple[str, str]:
    """`path_regex` as (the core, what its reach adds: "" for the path itself, `/.*` for
    what is below it, `(/.*)?` for both), so that patterns of one reach can share it."""
    core = _core_regex(glob.segments, group="(")
    suffix = {Reach.SELF: "", Reach.DESCENDANTS: "/.*", Reach.SELF_OR_DESCENDANTS: "(/.*)?"}
    return core, suffix[glob.reach]


def literal_regex(text: str) -> str:
    """`text` itself, in the syntax of `path_regex`."""
    return "".join(map(_literal, text))


def _literal(ch: str) -> str:
    return f"\\{ch}" if ch < "\x80" and not (ch.isalnum() or ch in "_/") else ch


def _core_regex(segments: Sequence[str], group: str = "(?:") -> str:
    """The regex a path (or one of its directories) must fully match; `group` opens a
    group: Python's non-capturing `(?:`, or `(` for `path_regex`, which Lucene reads too."""
    if list(segments) == ["**"]:
        return ".+"
    out: list[str] = []
    for i, seg in enumerate(segments):
        if seg == "**":
            # leading: any run of whole segments before the rest; middle: zero or more segments
            out.append(f"{group}.+/)?" if i == 0 else f"{group}/.+)?")
            continue
        if i > 0 and not (i == 1 and segments[0] == "**"):
            out.append("/")
        out.append("[^/]+" if seg == "*" else _segment_regex(seg))
    return "".join(out)


def _tokens(seg: str) -> list[tuple[str, bool]]:
    """A segment as (character, is_wildcard) pairs, escapes resolved."""
    tokens: list[tuple[str, bool]] = []
    escaped = False
    for ch in seg:
        if escaped:
            tokens.append((ch, False))
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            tokens.append((ch, ch in WILDCARDS))
    return tokens


def _segment_regex(seg: str) -> str:
    wild = {"*": "[^/]*", "?": "[^/]"}
    return "".join(wild[ch] if is_wild else _literal(ch) for ch, is_wild in _tokens(seg))


def _has_wildcard(seg: str) -> bool:
    if "\\" not in seg:  # without escapes every '*' and '?' is a wildcard
        return "*" in seg or "?" in seg
    return any(is_wild for _, is_wild in _tokens(seg))


def _unescape(seg: str) -> str:
    if "\\" not in seg:
        return seg
    return "".join(ch for ch, _ in _tokens(seg))


def _literal_affixes(seg: str) -> tuple[str, str]:
    """The literal text before the first and after the last wildcard of a segment."""
    tokens = _tokens(seg)
    wild = [i for i, (_, is_wild) in enumerate(tokens) if is_wild]
    head = "".join(ch for ch, _ in tokens[: wild[0]])
    tail = "".join(ch for ch, _ in tokens[wild[-1] + 1 :])
    return head, tail


class NaiveMatcher:
    """Every glob against every path: the oracle the index is tested against and the
    baseline its benchmarks are measured against."""

    def __init__(self, globs: Sequence[Glob]):
        self.globs = tuple(globs)

    def match(self, path: str) -> tuple[int, ...]:
        return tuple(i for i, g in enumerate(self.globs) if g.matches(path))


class _Buckets:
    """Globs filed under what their core demands of a path, most selective first.

    Anchored globs with literal directories are filed under their whole path (when all
    literal) or their parent directory; others under their exact last name, else a literal
    suffix or prefix of it (looked up once per distinct affix length).  Only globs with
    none of these land in `anywhere` and are tried on every name.
    """

    def __init__(self) -> None:
        self.by_path: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.by_suffix: dict[str, list[int]] = defaultdict(list)
        self.by_prefix: dict[str, list[int]] = defaultdict(list)
        self.by_parent: dict[str, list[int]] = defaultdict(list)
        self.anywhere: list[int] = []
        self.suffix_lengths: tuple[int, ...] = ()
        self.prefix_lengths: tuple[int, ...] = ()

    _MAPS = ("by_path", "by_name", "by_suffix", "by_prefix", "by_parent")

    def to_data(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON), from which `from_data` rebuilds these buckets."""
        data: dict[str, Any] = {name: dict(getattr(self, name)) for name in self._MAPS}
        data["anywhere"] = self.anywhere
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> _Buckets:
        buckets = cls()
        for name in cls._MAPS:
            setattr(buckets, name, data[name])
        buckets.anywhere = data["anywhere"]
        buckets.suffix_lengths = tuple(sorted({len(k) for k in buckets.by_suffix}))
        buckets.prefix_lengths = tuple(sorted({len(k) for k in buckets.by_prefix}))
        return buckets

    def add(self, i: int, filed: tuple[str, str]) -> None:
        """File glob `i` as `_filing` placed it: (the map's name, the key)."""
        where, key = filed
        if where == "anywhere":
            self.anywhere.append(i)
            return
        getattr(self, where)[key].append(i)
        if where == "by_suffix" and len(key) not in self.suffix_lengths:
            self.suffix_lengths = tuple(sorted({*self.suffix_lengths, len(key)}))
        elif where == "by_prefix" and len(key) not in self.prefix_lengths:
            self.prefix_lengths = tuple(sorted({*self.prefix_lengths, len(key)}))

    def candidates(self, path: str, parent: str, name: str) -> list[int]:
        # straight-line lookups: this runs for every directory level of every new path
        found = list(self.by_path.get(path, ())) if self.by_path else []
        if self.by_parent:
            found += self.by_parent.get(parent, ())
        if self.by_name:
            found += self.by_name.get(name, ())
        if self.anywhere:
            found += self.anywhere
        size = len(name)
        for length in self.suffix_lengths:
            if length > size:
                break
            hit = self.by_suffix.get(name[-length:])
            if hit:
                found += hit
        for length in self.prefix_lengths:
            if length > size:
                break
            hit = self.by_prefix.get(name[:length])
            if hit:
                found += hit
        return found


def _filing(glob: Glob) -> tuple[str, str]:
    """Where `_Buckets` files a glob: its whole path when all literal, else its parent folder
    when that is literal, else its literal last name, else a literal suffix or prefix of
    that name (the longer), else anywhere: ("by_path", "docs/index.md") ... ("anywhere", "")."""
    segments = glob.segments
    last = segments[-1]
    literal_dirs = glob.anchored and not any(s == "**" or _has_wildcard(s) for s in segments[:-1])
    last_literal = last != "**" and not _has_wildcard(last)
    if literal_dirs and last_literal:
        return "by_path", "/".join(map(_unescape, segments))
    if literal_dirs:
        return "by_parent", "/".join(map(_unescape, segments[:-1]))
    if last_literal:
        return "by_name", _unescape(last)
    head, tail = _literal_affixes(last) if last != "**" else ("", "")
    if tail and len(tail) >= len(head):
        return "by_suffix", tail
    if head:
        return "by_prefix", head
    return "anywhere", ""


class IndexedMatcher:
    """Finds the globs matching a path by trying only globs that could match it.

    Globs that may match a directory (and so everything below it) and globs that may match
    a file are filed separately.  What covers a directory is memoised, since the files of a
    change or of a tree share their directories; a file then costs a few dictionary lookups
    for its own name.  A glob's regex is built the first time a lookup tries it.

    The index is plain data (`index_data`), so a compiled map can be stored and reopened
    with `from_index` without parsing any pattern until a lookup reaches it.
    """

    def __init__(self, globs: Sequence[Glob]):
        self.globs = globs
        self._for_dirs = _Buckets()
        self._for_files = _Buckets()
        # The same pattern in many places (an imported CODEOWNERS excludes a late `*.md` from
        # every earlier line) is filed and tried once; a match stands for all its copies.
        first_of: dict[tuple[tuple[str, ...], Reach], int] = {}
        copies: dict[int, list[int]] = defaultdict(list)
        for i, glob in enumerate(globs):
            first = first_of.setdefault((glob.segments, glob.reach), i)
            copies[first].append(i)
            if first != i:
                continue
            filed = _filing(glob)
            if glob.reach is not Reach.SELF:
                self._for_dirs.add(i, filed)
            if glob.reach is not Reach.DESCENDANTS:
                self._for_files.add(i, filed)
        self._copies = {first: tuple(ids) for first, ids in copies.items() if len(ids) > 1}
        self._start()

    @classmethod
    def from_index(cls, globs: Sequence[Glob], data: dict[str, Any]) -> IndexedMatcher:
        """The matcher whose `index_data` was `data`, over the same globs."""
        matcher = cls.__new__(cls)
        matcher.globs = globs
        matcher._for_dirs = _Buckets.from_data(data["dirs"])
        matcher._for_files = _Buckets.from_data(data["files"])
        matcher._copies = {ids[0]: tuple(ids) for ids in data["copies"]}
        matcher._start()
        return matcher

    def index_data(self) -> dict[str, Any]:
        """The index as plain lists and dicts, for `from_index`."""
        return {
            "dirs": self._for_dirs.to_data(),
            "files": self._for_files.to_data(),
            "copies": list(self._copies.values()),
        }

    def _start(self) -> None:
        self._tests: list[Callable[[str], Any] | None] = [None] * len(self.globs)
        self._dir_cache: dict[str, tuple[int, ...]] = {"": ()}

    def _test(self, i: int) -> Callable[[str], Any]:
        """Glob `i`'s full match: string operations where the glob's shape allows (see
        `Glob.string_test`), else its regex, built when a path first passes the glob's
        literal head: a lookup tries a few dozen candidates, and building each one's regex
        would cost more than the whole lookup."""
        test = self._tests[i]
        if test is None:
            glob = self.globs[i]
            head = glob.literal_head
            if glob.string_test is not None:
                test = glob.string_test
            elif not head:
                test = glob.core.fullmatch
            else:

                def test(path: str, glob: Glob = glob, head: str = head) -> Any:
                    if not path.startswith(head):
                        return None
                    self._tests[i] = full = glob.core.fullmatch
                    return full(path)

            self._tests[i] = test
        return test

    def _with_copies(self, found: list[int]) -> list[int]:
        copies = self._copies
        if not copies:
            return found
        return [copy for i in found for copy in copies.get(i, (i,))]

    def _covering(self, directory: str) -> tuple[int, ...]:
        """Globs that cover every file below `directory`, sorted."""
        cached = self._dir_cache.get(directory)
        if cached is not None:
            return cached
        parent, _, name = directory.rpartition("/")
        inherited = self._covering(parent)
        tests = self._tests
        own = [
            i
            for i in self._for_dirs.candidates(directory, parent, name)
            if (tests[i] or self._test(i))(directory)
        ]
        if not own:
            self._dir_cache[directory] = inherited
            return inherited
        own = self._with_copies(own)
        result = tuple(sorted({*inherited, *own}))
        self._dir_cache[directory] = result
        return result

    def match(self, path: str) -> tuple[int, ...]:
        """Indexes of the globs matching `path`, ascending."""
        parent, _, name = path.rpartition("/")
        covering = self._covering(parent)
        tests = self._tests
        own = [
            i
            for i in self._for_files.candidates(path, parent, name)
            if (tests[i] or self._test(i))(path)
        ]
        if not own:
            return covering
        return tuple(sorted({*covering, *self._with_copies(own)}))
