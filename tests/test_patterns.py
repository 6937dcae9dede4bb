"""The CODEOWNERS matching rules, one table row per rule (sentence 1 of the format docs)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from owners.engine.patterns import IndexedMatcher, NaiveMatcher, PatternError, compile_glob

# (pattern, {path: matches?}) — GitHub's CODEOWNERS behaviour for each kind of pattern.
TABLE = [
    ("foo", {"foo": True, "foo.txt": False, "foo/bar": True, "bar/foo": True,
             "bar/foo.txt": False, "bar/baz": False, "bar/foo/baz": True}),
    ("/foo", {"foo": True, "fool.txt": False, "foo/bar": True, "bar/foo": False,
              "foo/bar/baz": True, "bar/foo/baz": False}),
    ("foo/", {"foo": False, "foo/bar": True, "foo/bar/baz": True, "bar/foo": False,
              "bar/foo/baz": True, "bar/foo/baz/qux": True}),
    ("/foo/", {"foo": False, "foo/bar": True, "foo/bar/baz": True, "bar/foo/baz": False}),
    ("foo/bar", {"foo/bar": True, "foo/bart": False, "foo/bar/baz": True,
                 "baz/foo/bar": False, "baz/foo/bar/qux": False}),
    ("/foo/bar", {"foo/bar": True, "foo/bar/baz": True, "baz/foo/bar": False}),
    ("foo/bar/", {"foo/bar": False, "foo/bar/baz": True, "baz/foo/bar/qux": False}),
    ("*", {"foo": True, "foo/bar": True, "bar/foo/baz": True, "xfoo": True}),
    ("f*", {"foo": True, "foo/bar": True, "bar/foo": True, "bar/foo/baz": True,
            "bar/baz": False, "xfoo": False}),
    ("/*", {"foo": True, "bar": True, "foo/bar": False, "foo/bar/baz": False}),
    ("/f*", {"foo": True, "foo/bar": True, "bar/foo": False, "xfoo": False}),
    ("f*/", {"foo": False, "foo/bar": True, "bar/foo": False, "bar/foo/baz": True}),
    ("/*/", {"foo": False, "foo/bar": True, "bar/foo/baz": True}),
    ("/f*/", {"foo": False, "foo/bar": True, "bar/foo/baz": False}),
    ("foo/*", {"foo": False, "foo/bar": True, "foo/bar/baz": False, "bar/foo/baz": False}),
    ("foo/*.txt", {"foo/bar.txt": True, "foo/bar/baz.txt": False, "qux/foo/bar.txt": False}),
    ("foo/*/baz", {"foo/bar": False, "foo/baz": False, "foo/bar/baz": True,
                   "foo/bar/baz/qux": True}),
    ("f?o", {"foo": True, "fo": False, "fooo": False, "f/o": False}),
    ("**/foo/bar", {"foo/bar": True, "qux/foo/bar": True, "qux/foo/bar/baz": True,
                    "foo/baz/bar": False}),
    ("**/*bar*", {"bar": True, "foo/bar": True, "foo/rebar": True, "foo/qux/bar": True}),
    ("foo/bar/**", {"foo/bar": False, "foo/bar/baz": True, "foo/bar/baz/qux": True,
                    "qux/foo/bar/baz": False}),
    ("foo/**/bar", {"foo/bar": True, "foo/bar/baz": True, "foo/qux/bar/baz": True,
                    "foo/qux/quux/bar/baz": True, "qux/foo/bar": False}),
    ("foo/**/", {"foo": False, "foo/bar": True, "foo/bar/baz": True, "x/foo/bar": False}),
    ("foo/**/bar/b*", {"foo/bar": False, "foo/bar/baz": True, "foo/bar/qux": False,
                       "foo/qux/bar/baz": True}),
    ("**", {"a": True, "a/b/c": True}),
    ("*.py", {"a.py": True, "x/y/a.py": True, "a.pyc": False, "a.py/b": True}),
    # escapes make wildcards literal
    ("f\\*o", {"foo": False, "f*o": True}),
    ("f\\?o", {"foo": False, "f?o": True}),
    ("\\!important", {"!important": True, "important": False}),
    ("a\\ b", {"a b": True, "ab": False}),
    # matching is case-sensitive
    ("Makefile", {"Makefile": True, "makefile": False, "src/MAKEFILE": False}),
    ("/docs/", {"docs/x.md": True, "Docs/x.md": False}),
]


@pytest.mark.parametrize(("pattern", "paths"), TABLE, ids=[row[0] for row in TABLE])
def test_codeowners_rules(pattern: str, paths: dict[str, bool]) -> None:
    glob = compile_glob(pattern)
    indexed = IndexedMatcher([glob])
    for path, expected in paths.items():
        assert glob.matches(path) is expected, (pattern, path)
        assert bool(indexed.match(path)) is expected, ("index", pattern, path)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty pattern"),
        ("a/***", "'***' is not a wildcard"),
        ("/", "'/' alone matches nothing"),
        ("a//b", "empty path segment"),
        ("a**b", "'**' must be a whole path segment"),
        ("src/[ab].c", "character ranges are not supported"),
        ("trailing\\", "pattern ends with a lone '\\'"),
    ],
)
def test_malformed_patterns_are_rejected(pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message.replace("*", r"\*").replace("\\'", "\\\\'")):
        compile_glob(pattern)


def test_index_agrees_with_naive_matcher_on_many_globs() -> None:
    globs = [compile_glob(p) for p, _ in TABLE]
    paths = sorted({path for _, paths in TABLE for path in paths})
    naive, indexed = NaiveMatcher(globs), IndexedMatcher(globs)
    for path in paths:
        assert indexed.match(path) == naive.match(path), path


def test_a_pattern_written_many_times_matches_under_every_index() -> None:
    """Repeated patterns are tried once; each copy still answers for its own rule."""
    texts = ["*.md", "docs/", "*.md", "/docs/*.md", "docs/", "*.md", "README.md"]
    globs = [compile_glob(p) for p in texts]
    naive, indexed = NaiveMatcher(globs), IndexedMatcher(globs)
    for path in ["a.md", "docs/a.md", "docs/x/README.md", "src/docs/b.py", "c.py"]:
        assert indexed.match(path) == naive.match(path), path
    assert indexed.match("docs/a.md") == (0, 1, 2, 3, 4, 5)


# Segments built from a small alphabet, so that generated paths often match.
_NAME = st.text("ab.", min_size=1, max_size=4)
_WILD = st.text("ab.*", min_size=1, max_size=5).filter(lambda s: "**" not in s)
_PATTERN_SEGMENT = st.one_of(_NAME, _WILD, st.just("**"), st.just("*"))


@settings(max_examples=500, deadline=None)
@given(
    st.booleans(),
    st.lists(_PATTERN_SEGMENT, min_size=1, max_size=4),
    st.lists(st.lists(_NAME, min_size=1, max_size=5), min_size=1, max_size=8),
)
def test_the_string_test_is_the_regex(anchored, segments, paths):
    """Where a glob is matched with string operations, they say what its regex says."""
    text = ("/" if anchored else "") + "/".join(segments)
    try:
        glob = compile_glob(text)
    except PatternError:
        return
    if glob.string_test is None:
        return
    for parts in paths:
        path = "/".join(parts)
        assert bool(glob.string_test(path)) == bool(glob.core.fullmatch(path)), (text, path)


@pytest.mark.parametrize(
    ("pattern", "string_test"),
    [
        ("/docs/index.md", True), ("docs/*.md", True), ("*.md", True), ("/a/**/*.py", True),
        ("a/**/b*c*d", True), ("**", True), ("/*", True), ("a?c", False), ("a/*/c", False),
        (r"a\*b", False), ("a/**/b/**/c", False), ("**/x/", True),
    ],
)  # fmt: skip
def test_the_common_shapes_need_no_regex(pattern, string_test):
    assert (compile_glob(pattern).string_test is not None) is string_test
