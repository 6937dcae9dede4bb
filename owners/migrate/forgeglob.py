"""GitHub's and GitLab's own CODEOWNERS pattern rules, for the `--check` oracle.

This module deliberately shares nothing with `owners.engine.patterns`: a check that matched
the source with the engine's matcher would agree with the engine about every pattern rule,
right or wrong, and so could never find a bug in one.  Each matcher is written from its
forge's documentation:

GitHub ("About code owners"): gitignore's rules, except that `!` negation, `[ ]` character
ranges and escaping a leading `#` do not work.  A `/` at the start or in the middle anchors
a pattern at the root, otherwise it matches at any depth; a trailing `/` means the
directory's contents; a pattern matching a directory owns everything below it, except that
`docs/*` owns only the files directly in `docs`; `*` and `?` never cross a `/`; a leading
`**/`, a middle `/**/` and a trailing `/**` span directories, other runs of `*` are one `*`;
`\\` escapes; `[` and `]` are plain characters; paths are case-sensitive.

GitLab ("Syntax of CODEOWNERS file", "Advanced CODEOWNERS configuration"): `File.fnmatch`
with `FNM_PATHNAME | FNM_DOTMATCH` on `/` + the path, after GitLab's normalisation: `*` is
`/**/*`, a pattern without a leading `/` gets `/**/` in front (`internal/README.md` owns
`docs/internal/README.md`), a trailing `/` gets `**/*` behind (the directory's contents at
any depth), `\\ ` is a space and a leading `\\#` a `#`.  So a pattern matches whole paths
only: `docs` (no trailing `/`) owns a file called `docs`, not a directory's contents.
`**/` spans zero or more directories, a `**` anywhere else is a `*`, `[...]` is a character
class (`[!...]`/`[^...]` negated), `\\` escapes, and matching is case-sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_ANY_DIRS = "(?:[^/]+/)*"


def _github_segment(seg: str) -> str:
    """One path segment of a GitHub pattern as a regex: `[`/`]` literal, runs of `*` one."""
    out: list[str] = []
    i = 0
    while i < len(seg):
        ch = seg[i]
        if ch == "\\" and i + 1 < len(seg):
            out.append(re.escape(seg[i + 1]))
            i += 2
            continue
        if ch == "*":
            while i < len(seg) and seg[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        out.append("[^/]" if ch == "?" else re.escape(ch))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class GitHubRule:
    """One GitHub CODEOWNERS pattern: `matches_file` for the path itself, `matches_dir`
    for a directory whose every file it then owns."""

    pattern: str
    regex: re.Pattern[str]
    files: bool  # may match the path itself
    directories: bool  # may match a directory (and so own what is below)

    @classmethod
    def compile(cls, pattern: str) -> GitHubRule:
        body = pattern[:-1] if pattern.endswith("/") else pattern
        contents_only = body != pattern
        anchored = "/" in body
        body = body[1:] if body.startswith("/") else body
        # `/**/` is zero or more directories, so two in a row are one
        segments = [
            seg
            for i, seg in enumerate(body.split("/"))
            if seg != "**" or body.split("/")[i - 1 : i] != ["**"]
        ]
        if len(segments) > 1 and segments[-1] == "**":  # `abc/**`: everything inside
            segments.pop()
            contents_only = True
        parts = [] if anchored else [_ANY_DIRS]
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            if seg == "**" and not last:
                parts.append(_ANY_DIRS)
            else:
                parts.append(_github_segment(seg) + ("" if last else "/"))
        # GitHub: `docs/*` owns files directly in docs, not files of its subdirectories
        direct_files = not contents_only and segments[-1] == "*" and pattern.endswith("/*")
        return cls(pattern, re.compile("".join(parts)), not contents_only, not direct_files)

    def matches(self, path: str) -> bool:
        """The slow, obvious way; the oracle memoises directories instead."""
        if self.files and self.regex.fullmatch(path):
            return True
        parts = path.split("/")
        return self.directories and any(
            self.regex.fullmatch("/".join(parts[:i])) for i in range(1, len(parts))
        )


def gitlab_normalize(pattern: str) -> str:
    """GitLab's normalisation of an entry's pattern (before `File.fnmatch`)."""
    if pattern == "*":
        return "/**/*"
    pattern = re.sub(r"\A\\#", "#", pattern)
    pattern = re.sub(r"\\\s+", " ", pattern)
    if not pattern.startswith("/"):
        pattern = "/**/" + pattern
    if pattern.endswith("/"):
        pattern += "**/*"
    return pattern


@dataclass(frozen=True)
class ClassToken:
    """A `[...]` character class of an fnmatch pattern."""

    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def regex(self) -> str:
        items = "".join(re.escape(c) for c in sorted(self.chars))
        items += "".join(f"{re.escape(a)}-{re.escape(b)}" for a, b in self.ranges)
        if self.negated:
            return f"[^/{items}]"
        return f"(?!/)[{items}]" if items else "(?!)"

    def members(self, limit: int) -> list[str] | None:
        """The characters it matches, or None when negated or more than `limit`."""
        if self.negated:
            return None
        found = set(self.chars)
        for a, b in self.ranges:
            if ord(b) - ord(a) > limit:
                return None
            found.update(chr(c) for c in range(ord(a), ord(b) + 1))
        found.discard("/")
        return sorted(found) if len(found) <= limit else None


Token = tuple[str, str] | ClassToken  # ("lit", c), ("star", ""), ("any", "") or a class


def fnmatch_tokens(segment: str) -> list[Token]:
    """A segment of an fnmatch pattern (escapes on, no extglob) as tokens."""
    tokens: list[Token] = []
    i = 0
    while i < len(segment):
        ch = segment[i]
        if ch == "\\" and i + 1 < len(segment):
            tokens.append(("lit", segment[i + 1]))
            i += 2
        elif ch == "*":
            if not tokens or tokens[-1] != ("star", ""):
                tokens.append(("star", ""))
            i += 1
        elif ch == "?":
            tokens.append(("any", ""))
            i += 1
        elif ch == "[" and (parsed := _bracket(segment, i)) is not None:
            token, i = parsed
            tokens.append(token)
        else:
            tokens.append(("lit", ch))
            i += 1
    return tokens


def _bracket(segment: str, start: int) -> tuple[ClassToken, int] | None:
    """A character class starting at `segment[start] == '['`, and where it ends; None when
    it is never closed (then `[` is a plain character, as in Ruby)."""
    i = start + 1
    negated = i < len(segment) and segment[i] in "!^"
    i += negated
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    while i < len(segment) and segment[i] != "]":
        ch = segment[i]
        if ch == "\\" and i + 1 < len(segment):
            i += 1
            ch = segment[i]
        if i + 2 < len(segment) and segment[i + 1] == "-" and segment[i + 2] != "]":
            end = segment[i + 2]
            if end == "\\" and i + 3 < len(segment):
                end, i = segment[i + 3], i + 1
            ranges.append((ch, end))
            i += 3
        else:
            chars.add(ch)
            i += 1
    if i >= len(segment):
        return None
    return ClassToken(frozenset(chars), tuple(ranges), negated), i + 1


def _token_regex(token: Token) -> str:
    if isinstance(token, ClassToken):
        return token.regex()
    kind, ch = token
    return {"star": "[^/]*", "any": "[^/]"}.get(kind) or re.escape(ch)


def fnmatch_regex(pattern: str) -> re.Pattern[str]:
    """Ruby's `File.fnmatch(pattern, path, FNM_PATHNAME | FNM_DOTMATCH)` as a regex that
    must match the whole path: `**/` at a segment's start spans directories, `*`, `?` and
    classes never match `/`, and with FNM_DOTMATCH nothing treats a leading `.` apart."""
    segments = pattern.split("/")
    parts: list[str] = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "**" and not last:
            if parts[-1:] != [_ANY_DIRS]:  # `**/**/` spans what `**/` spans
                parts.append(_ANY_DIRS)
            continue
        parts.append("".join(_token_regex(t) for t in fnmatch_tokens(seg)) + ("" if last else "/"))
    return re.compile("".join(parts))


@dataclass(frozen=True)
class GitLabRule:
    """One GitLab CODEOWNERS pattern, normalised as GitLab does, matched as fnmatch does."""

    pattern: str
    normalized: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, pattern: str) -> GitLabRule:
        normalized = gitlab_normalize(pattern)
        return cls(pattern, normalized, fnmatch_regex(normalized))

    def matches(self, path: str) -> bool:
        return self.regex.fullmatch("/" + path) is not None


Matcher = Callable[[str], bool]
