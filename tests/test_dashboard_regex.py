"""The dashboards' regexes give the engine's answer: generated, then checked against it.

A dashboard finds a subsystem's changes with Gerrit's `file:^regex`, which Lucene's `RegExp`
reads.  Two levels are checked on the table rows of tests/test_semantics.py and
tests/test_patterns.py, the two paths the hand-written translation got wrong, and random
patterns, configs and paths (hypothesis):

* one pattern: `path_regex(glob)` must match exactly the paths `Glob.matches` does, read by
  Python's `re` (with `re.DOTALL`) and by Lucene.  It is generated in a subset of the syntax
  that means the same to both (see `path_regex`), so Python's `re` is a fair judge of it, and
  the Lucene evaluator checks that the subset really means the same there: escapes of
  Lucene's own operators (`@ & ~ # < > "`) included;
* a subsystem: the dashboard's regex composes those with `&`, `~` and `|`, which Python's
  `re` does not have (`&` and `~` are literals there), so it is read only by an independent
  evaluator of Lucene's grammar (tests/lucene_regexp.py), and must match exactly the paths
  whose `Ownership.requirements` hold the subsystem.

Paths are drawn from names with the characters patterns treat specially, a newline and a
non-ASCII letter included; a path has no empty segment, as in git.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from owners.engine import (
    CONFIG_PATH,
    ROOT,
    Mode,
    OwnersConfig,
    Ownership,
    Policy,
    Subsystem,
    load_config,
)
from owners.engine.model import Location, PathRule
from owners.engine.patterns import PatternError, compile_glob, literal_regex, path_regex
from owners.gerrit.dashboards import region
from tests import lucene_regexp
from tests.test_patterns import TABLE
from tests.test_semantics import CONFIG_CLAIM_ROWS, NOVA, PATTERN_ROWS, REQUIREMENT_ROWS

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Names for paths and the pieces patterns are made of, with what patterns and Lucene treat
# specially: a name with a `*` or `?` in it, Lucene's operators, a dot, a space, a newline.
NAMES = [
    "a",
    "b",
    "ab",
    "a.b",
    "x*y",
    "v?",
    "@",
    "a&b",
    "~",
    "#",
    '"q"',
    "<1-2>",
    "é",
    "a b",
    "n\nl",
    "OWNERS.yaml",
    "src",
    "docs",
]
SEGMENTS = st.one_of(
    st.sampled_from(NAMES).map(lambda name: re.sub(r"([*?\\])", r"\\\1", name)),  # literal
    st.sampled_from(["*", "**", "a*", "*b", "?", "a?", "*.b", "x\\*y", "\\@", "a*b*"]),
)
# the plain names more often, so that patterns made of them match often enough
PATHS = st.lists(st.sampled_from([*NAMES, *NAMES[:4] * 3]), min_size=1, max_size=5).map("/".join)


@st.composite
def patterns(draw) -> str:
    """A valid pattern: anchored or not, a folder or not."""
    text = "/".join(draw(st.lists(SEGMENTS, min_size=1, max_size=4)))
    text = draw(st.sampled_from(["", "/"])) + text + draw(st.sampled_from(["", "/"]))
    try:
        compile_glob(text)
    except PatternError:
        return draw(st.sampled_from(["a/", "*.b", "/docs/*"]))
    return text


def _agree_on_pattern(pattern: str, path: str) -> None:
    glob = compile_glob(pattern)
    regex = path_regex(glob)
    expected = glob.matches(path)
    assert bool(re.fullmatch(regex, path, re.DOTALL)) == expected, (pattern, regex, path)
    assert lucene_regexp.fullmatch(regex, path) == expected, (pattern, regex, path)


@pytest.mark.parametrize(("pattern", "paths"), TABLE, ids=[row[0] for row in TABLE])
def test_a_pattern_regex_matches_what_the_pattern_matches(pattern: str, paths: dict) -> None:
    for path in paths:
        _agree_on_pattern(pattern, path)


@SETTINGS
@given(patterns(), st.lists(PATHS, min_size=1, max_size=10))
@example("src/*", ["src/a/b.c", "src/a", "src"])
def test_a_generated_pattern_regex_matches_what_the_pattern_matches(pattern, paths) -> None:
    for path in paths:
        _agree_on_pattern(pattern, path)


def test_a_literal_regex_is_the_literal() -> None:
    text = "".join(chr(c) for c in range(32, 127)) + "é\n"
    for reader in (
        lambda r: re.fullmatch(r, text, re.DOTALL),
        lambda r: lucene_regexp.fullmatch(r, text),
    ):
        assert reader(literal_regex(text))
        assert not reader(literal_regex(text[:-1] + "x"))


# -- a subsystem's region: the dashboard's regex against `requirements` ----------------------------


def _agree_on_requirements(ownership: Ownership, paths: list[str]) -> None:
    for sub in ownership.config.all_subsystems:
        regex = region(ownership, sub.name)
        for path in paths:
            expected = sub.name in ownership.requirements(path)
            assert lucene_regexp.fullmatch(regex, path) == expected, (sub.name, regex, path)


def _one_subsystem(patterns: list[str]) -> Ownership:
    rules = tuple(PathRule(p, Location(CONFIG_PATH, i + 1, 1)) for i, p in enumerate(patterns))
    root = Subsystem(ROOT, ("r",), parent=None)
    return Ownership(OwnersConfig(Policy(), {}, root, (Subsystem("s", ("a",), paths=rules),)))


@pytest.mark.parametrize(
    ("patterns", "path"),
    [row[1:3] for row in PATTERN_ROWS] + [(row[1], CONFIG_PATH) for row in CONFIG_CLAIM_ROWS],
    ids=[row[0] for row in PATTERN_ROWS] + [row[0] for row in CONFIG_CLAIM_ROWS],
)
def test_the_semantics_table_gives_the_same_answer(patterns: list[str], path: str) -> None:
    _agree_on_requirements(_one_subsystem(patterns), [path])


def test_the_two_paths_the_hand_written_regex_got_wrong() -> None:
    """`src/*` reached `src/a/b.c`; an exclusion before an inclusion excluded."""
    star = _one_subsystem(["src/*"])
    assert not lucene_regexp.fullmatch(region(star, "s"), "src/a/b.c")
    assert lucene_regexp.fullmatch(region(star, "root"), "src/a/b.c")
    late = _one_subsystem(["!docs/internal/", "docs/"])
    assert lucene_regexp.fullmatch(region(late, "s"), "docs/internal/x.md")
    _agree_on_requirements(star, ["src/a/b.c", "src/a", "src/a/b"])
    _agree_on_requirements(late, ["docs/internal/x.md", "docs/a.md", "internal/x"])


def test_a_trial_is_enforced_by_its_ancestor_also_beside_a_nearer_subsystem() -> None:
    """A file both hyperv and the advisory `tests` own needs virt, which enforces for `tests`
    (the hand-written regex gave it to hyperv alone)."""
    text = """version: 1
root: {owners: [r]}
subsystems:
  - {name: virt, owners: [v], paths: [virt/]}
  - {name: hyperv, owners: [h], paths: [virt/hyperv/], parent: virt}
  - {name: tests, owners: [t], paths: ['test_*.py'], parent: virt, mode: advisory}
"""
    ownership = Ownership(load_config(text))
    path = "virt/hyperv/test_x.py"
    assert ownership.requirements(path) == ("hyperv", "tests", "virt")
    assert lucene_regexp.fullmatch(region(ownership, "virt"), path)
    _agree_on_requirements(ownership, [path, "virt/a.py", "virt/hyperv/a.py", "test_a.py"])


def test_the_nova_fixture_gives_the_same_answer() -> None:
    paths = [row[1] for row in REQUIREMENT_ROWS] + [
        "nova/virt/xenapi/a/b.py",
        "nova/tests/unit/virt/hyperv/README.rst",
        "nova/virt",
    ]
    _agree_on_requirements(NOVA, paths)


@st.composite
def configs(draw) -> Ownership:
    """1 to 4 subsystems, each 1 to 4 rules (some `!`), any earlier one as parent, some on
    trial (advisory), some `noparent`."""
    subsystems = []
    line = 0
    for i in range(draw(st.integers(1, 4))):
        rules = []
        for _ in range(draw(st.integers(1, 4))):
            line += 1
            bang = draw(st.sampled_from(["", "", "!"]))
            rules.append(PathRule(bang + draw(patterns()), Location(CONFIG_PATH, line, 1)))
        subsystems.append(
            Subsystem(
                f"s{i}",
                ("o",),
                paths=tuple(rules),
                parent=draw(st.sampled_from([ROOT, *(f"s{j}" for j in range(i))])),
                noparent=draw(st.booleans()),
                mode=draw(st.sampled_from([Mode.ENFORCE, Mode.ENFORCE, Mode.ADVISORY])),
            )
        )
    root = Subsystem(ROOT, ("r",), parent=None)
    return Ownership(OwnersConfig(Policy(), {}, root, tuple(subsystems)))


@SETTINGS
@given(configs(), st.lists(PATHS, min_size=1, max_size=8).map(lambda p: [*p, CONFIG_PATH]))
def test_a_dashboard_regex_matches_the_paths_that_need_its_subsystem(ownership, paths) -> None:
    _agree_on_requirements(ownership, paths)
