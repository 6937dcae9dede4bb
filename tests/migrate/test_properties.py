"""Property: any CODEOWNERS file of random patterns over a random tree imports into an
OWNERS.yaml that validates and that the engine answers exactly as GitHub's last-match rule
does, file by file; and an exported CODEOWNERS of such a map, imported again, gives every
file the same approvers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from owners.engine import Ownership, load_config
from owners.migrate import FORMATS, compare, export_codeowners

SEGMENTS = ["a", "b", "c", "*", "*.py", "x.py", "**"]
NAMES = ["x.py", "y.txt", "a", "b"]
PEOPLE = ["ann", "ben", "cat", "@org/team", "dan@example.org"]

trees = st.lists(
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=3).flatmap(
        lambda dirs: st.sampled_from(NAMES).map(lambda name: "/".join([*dirs, name]))
    ),
    min_size=1,
    max_size=25,
    unique=True,
)
patterns = st.builds(
    lambda lead, segs, trail: lead + "/".join(segs) + trail,
    st.sampled_from(["", "/"]),
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3),
    st.sampled_from(["", "/"]),
)
lines = st.lists(
    st.tuples(patterns, st.lists(st.sampled_from(PEOPLE), max_size=3, unique=True)),
    max_size=12,
)


def codeowners(entries: list[tuple[str, list[str]]]) -> str:
    return "".join(
        f"{p} {' '.join(o if '@' in o else '@' + o for o in owners)}\n" for p, owners in entries
    )


def imported(text: str, tree: list[str]):
    files = {"CODEOWNERS": text}
    return FORMATS["codeowners"](files.get, tree, None, ())


@given(lines, trees)
def test_random_codeowners_import_without_differences(entries, tree):
    result = imported(codeowners(entries), tree)
    ownership = Ownership(load_config(result.config))
    assert list(compare(ownership, result.answer, tree)) == []


@given(lines, trees)
def test_export_then_import_keeps_every_files_approvers(entries, tree):
    first = Ownership(load_config(imported(codeowners(entries), tree).config))
    again = imported(export_codeowners(first), tree)
    assert list(compare(first, again.answer, tree)) == []
