"""Fuzz target: the OWNERS.yaml loader takes any bytes and answers with diagnostics, never an
exception.  The service parses every branch's and every proposed OWNERS.yaml, which anyone
who can push for review controls.

Run longer with e.g. `HYPOTHESIS_PROFILE=fuzz python -m pytest tests/fuzz` (the profiles are in
tests/conftest.py).
"""

from __future__ import annotations

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from owners.engine import CONFIG_PATH, Severity, parse_config
from owners.gerrit.verdict import one_line
from tests.conftest import NOVA_OWNERS

NOVA = NOVA_OWNERS.read_bytes()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["root", "owners", "paths", "nova/virt/**", "gerrit:Core", "*", "!x", ""]),
)
keys = st.sampled_from(
    [
        "version",
        "root",
        "subsystems",
        "name",
        "paths",
        "owners",
        "approvals",
        "policy",
        "groups",
        "noparent",
        "mode",
        "parent",
        "label",
        "veto",
        "description",
    ]
) | st.text(max_size=10)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)


def check(data: bytes) -> None:
    config, diagnostics = parse_config(data, CONFIG_PATH)
    for diagnostic in diagnostics:
        text = str(diagnostic)
        assert text.startswith(f"{CONFIG_PATH}:"), text
        # what the bot quotes in its comment: one printable line, whatever the file holds
        line = one_line(text)
        assert line.isprintable() and line.startswith(f"{CONFIG_PATH}:"), line
    if config is None:
        assert any(d.severity is Severity.ERROR for d in diagnostics)


@given(documents)
def test_any_yaml_document_gets_diagnostics_not_an_exception(document: object) -> None:
    check(yaml.safe_dump(document, allow_unicode=True).encode())


@given(st.binary(max_size=2000))
@example(b"\xff\xfe\x00")
@example(b"a: &a [*a]")
@example(b"[" * 5000)
@example(b"a: !!python/object/apply:os.system ['true']")
@example(b"x: " + b"&a [" * 50)
def test_any_bytes_get_diagnostics_not_an_exception(data: bytes) -> None:
    check(data)


@given(st.data())
def test_a_mutated_real_file_gets_diagnostics_not_an_exception(data: st.DataObject) -> None:
    content = bytearray(NOVA)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(content) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            content[at] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del content[at : at + data.draw(st.integers(1, 40))]
        else:
            content[at:at] = data.draw(st.sampled_from([b"- ", b": ", b"\n  ", b"*", b"&x ", b"{"]))
        if not content:
            break
    check(bytes(content))
