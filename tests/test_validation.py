"""Validation of OWNERS.yaml: every problem as `FILE:LINE:COL: message (hint: ...)`.

Each row is a file and the exact diagnostics it must produce, location included.  The hostile
rows are inputs meant to exhaust the parser; each must end in a clear error, quickly (they
run here without timing asserts; a hang shows up as a stuck test run).
"""

from __future__ import annotations

import re

import pytest

from owners.engine import Severity, load_config, parse_config, tree_warnings
from owners.engine import reader as reader_module
from owners.engine.config import MAX_BYTES, MAX_PATTERNS, ConfigError

HEAD = "version: 1\nroot: {owners: [a, b]}\nsubsystems:\n"  # subsystems start on line 4


def messages(data: str | bytes, filename: str = "OWNERS.yaml") -> list[str]:
    _, diagnostics = parse_config(data, filename)
    return [str(d) for d in diagnostics]


# -- the validation rules named by the format -----------------------------------------------------

VALIDATION_ROWS = [
    # (scenario, file, exact diagnostics)
    ("unknown top-level key",
     "version: 1\nroot: {owners: [a, b]}\nsubsystem: []\n",
     ["OWNERS.yaml:3:1: unknown key 'subsystem' in the top level "
      "(hint: did you mean 'subsystems'?)"]),
    ("unknown key in a subsystem names it",
     HEAD + "  - name: hyperv\n    owner: [a]\n    owners: [a]\n    paths: [x/]\n",
     ["OWNERS.yaml:5:5: unknown key 'owner' in subsystem 'hyperv' "
      "(hint: did you mean 'owners'?)"]),
    ("a misspelt required key is one error, not also a missing key",
     HEAD + "  - name: hyperv\n    owner: [a]\n    path: [x/]\n",
     ["OWNERS.yaml:5:5: unknown key 'owner' in subsystem 'hyperv' "
      "(hint: did you mean 'owners'?)",
      "OWNERS.yaml:6:5: unknown key 'path' in subsystem 'hyperv' "
      "(hint: did you mean 'paths'?)"]),
    ("a subsystem's own error does not make its children's parent unknown",
     HEAD + "  - {name: core, owner: [a], paths: [core/]}\n"
     "  - {name: ui, owners: [b], paths: [core/ui/], parent: core}\n",
     ["OWNERS.yaml:4:18: unknown key 'owner' in subsystem 'core' "
      "(hint: did you mean 'owners'?)"]),
    ("a missing key that was not misspelt is still missing",
     HEAD + "  - {name: s, paths: [s/]}\n",
     ["OWNERS.yaml:4:5: subsystem 's' has no 'owners' "
      "(hint: list who may approve, e.g. owners: [alice])"]),
    ("unknown key in policy",
     "version: 1\npolicy:\n  self_aproval: true\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:3:3: unknown key 'self_aproval' in policy "
      "(hint: did you mean 'self_approval'?)"]),
    ("unknown key in root",
     "version: 1\nroot:\n  owners: [a, b]\n  noparent: true\n",
     ["OWNERS.yaml:4:3: unknown key 'noparent' in root "
      "(hint: allowed: owners, approvals, description)"]),
    ("undefined alias in a subsystem's owners, at the entry",
     "version: 1\ngroups:\n  hyperv-core: [a, b]\nroot: {owners: [a, b]}\nsubsystems:\n"
     "  - name: hyperv\n    owners: [c, hyperv-cor]\n    paths: [x/]\n",
     ["OWNERS.yaml:7:17: undefined alias 'hyperv-cor' (hint: did you mean 'hyperv-core'? "
      "write 'user:hyperv-cor' if it is a username)"]),
    ("undefined alias inside a group",
     "version: 1\ngroups:\n  core: [a, b]\n  all: [cor, c]\nroot: {owners: [all]}\n",
     ["OWNERS.yaml:4:9: undefined alias 'cor' (hint: did you mean 'core'? "
      "write 'user:cor' if it is a username)"]),
    ("user: silences the undefined-alias check",
     "version: 1\ngroups:\n  core: [a, b]\nroot: {owners: ['user:cor', core]}\n",
     []),
    ("group that contains itself",
     "version: 1\ngroups:\n  a: [a, x]\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:3:3: group cycle: a -> a (hint: a group may not contain itself)"]),
    ("group cycle through three aliases",
     "version: 1\ngroups:\n  a: [b]\n  b: [c]\n  c: [a]\nroot: {owners: [a, x, y]}\n",
     ["OWNERS.yaml:5:3: group cycle: a -> b -> c -> a (hint: a group may not contain itself)"]),
    ("parent cycle",
     HEAD + "  - {name: x, owners: [a], paths: [x/], parent: y}\n"
     "  - {name: y, owners: [a], paths: [y/], parent: x}\n",
     ["OWNERS.yaml:4:12: parent cycle: x -> y -> x "
      "(hint: every chain of parents must end at root)"]),
    ("subsystem that is its own parent",
     HEAD + "  - {name: x, owners: [a], paths: [x/], parent: x}\n",
     ["OWNERS.yaml:4:12: subsystem 'x' is its own parent"]),
    ("unknown parent",
     HEAD + "  - {name: virt, owners: [a], paths: [v/]}\n"
     "  - {name: hyperv, owners: [a], paths: [h/], parent: vrt}\n",
     ["OWNERS.yaml:5:12: subsystem 'hyperv' has unknown parent 'vrt' "
      "(hint: did you mean 'virt'?)"]),
    ("duplicate subsystem name",
     HEAD + "  - {name: x, owners: [a], paths: [x/]}\n  - {name: x, owners: [b], paths: [y/]}\n",
     ["OWNERS.yaml:5:12: duplicate subsystem name 'x' (hint: first defined at OWNERS.yaml:4:12)"]),
    ("duplicate group name",
     "version: 1\ngroups:\n  g: [a]\n  g: [b]\nroot: {owners: [g, c]}\n",
     ["OWNERS.yaml:4:3: duplicate group 'g' (hint: first defined at line 3)"]),
    ("duplicate key",
     "version: 1\nroot: {owners: [a, b]}\nversion: 1\n",
     ["OWNERS.yaml:3:1: duplicate key 'version' in the top level (hint: first given at line 1)"]),
    ("duplicate key in a subsystem",
     HEAD + "  - name: x\n    owners: [a]\n    paths: [x/]\n    paths: [y/]\n",
     ["OWNERS.yaml:7:5: duplicate key 'paths' in subsystem 'x' "
      "(hint: first given at line 6)"]),
    ("malformed pattern: character range",
     HEAD + "  - name: s\n    owners: [a]\n    paths: ['src/[ab].c']\n",
     ["OWNERS.yaml:6:13: malformed pattern 'src/[ab].c': character ranges are not supported "
      "(hint: write '\\[' to match a literal '[')"]),
    ("malformed pattern: triple star",
     HEAD + "  - name: s\n    owners: [a]\n    paths: ['a/***']\n",
     ["OWNERS.yaml:6:13: malformed pattern 'a/***': '***' is not a wildcard "
      "(hint: use '**' for any depth)"]),
    ("malformed pattern: double star inside a segment",
     HEAD + "  - name: s\n    owners: [a]\n    paths: [x/, 'a**b']\n",
     ["OWNERS.yaml:6:17: malformed pattern 'a**b': '**' must be a whole path segment "
      "(hint: write 'a/**/b', not 'a**b')"]),
    ("malformed pattern: empty segment",
     HEAD + "  - name: s\n    owners: [a]\n    paths: [a//b]\n",
     ["OWNERS.yaml:6:13: malformed pattern 'a//b': empty path segment ('//')"]),
    ("malformed pattern: trailing backslash",
     HEAD + "  - name: s\n    owners: [a]\n    paths: ['a\\']\n",
     ["OWNERS.yaml:6:13: malformed pattern 'a\\': pattern ends with a lone '\\' "
      "(hint: escape it as '\\\\')"]),
    ("malformed pattern: slash alone",
     HEAD + "  - name: s\n    owners: [a]\n    paths: [/]\n",
     ["OWNERS.yaml:6:13: malformed pattern '/': '/' alone matches nothing "
      "(hint: use '**' to match every file)"]),
    ("only exclusions own nothing",
     HEAD + "  - name: s\n    owners: [a]\n    paths: ['!x/']\n",
     ["OWNERS.yaml:6:12: subsystem 's' has only '!' patterns, so it owns nothing "
      "(hint: add the paths it owns before the exclusions)"]),
    ("requirement that can never be met",
     HEAD + "  - {name: s, owners: [x, y], approvals: 3, paths: [s/], noparent: true}\n",
     ["OWNERS.yaml:4:12: requirement of 's' can never be met: it needs 3 approvals but has 2 "
      "eligible approvers (hint: add owners or lower 'approvals')"]),
    ("root's requirement that can never be met",
     "version: 1\ngroups: {core: [a, a]}\nroot:\n  owners: [core]\n  approvals: 2\n",
     ["OWNERS.yaml:4:3: requirement of 'root' can never be met: it needs 2 approvals but has 1 "
      "eligible approvers (hint: add owners or lower 'approvals')"]),
    ("ancestors' owners count towards feasibility",
     HEAD + "  - {name: s, owners: [x], approvals: 2, paths: [s/]}\n",
     []),
    ("a requirement needing all its approvers is a warning",
     HEAD + "  - {name: s, owners: [x, y], approvals: 2, paths: [s/], noparent: true}\n",
     ["OWNERS.yaml:4:12: warning: 's' needs every one of its 2 eligible approvers, so a change "
      "by one of them can never be approved (hint: add another owner)"]),
    ("one approval from a lone approver is a one-person project, not a warning",
     "version: 1\nroot: {owners: [a]}\n",
     []),
    ("a lone approver of a noparent subsystem is not a warning either",
     HEAD + "  - {name: s, owners: [x], paths: [s/], noparent: true}\n",
     []),
    ("self_approval: all approvers may be needed",
     "version: 1\npolicy: {self_approval: true}\nroot: {owners: [a]}\n",
     []),
    ("a gerrit group's size is left to the service",
     HEAD + "  - {name: s, owners: ['gerrit:Core'], approvals: 5, paths: [s/], noparent: true}\n",
     []),
    ("the file name given is the file name reported",
     "version: 1\nroot: {owners: [a, b]}\nextra: 1\n",
     ["OWNERS.yaml:3:1: unknown key 'extra' in the top level "
      "(hint: allowed: version, policy, groups, root, subsystems, include)"]),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [row[1:] for row in VALIDATION_ROWS],
    ids=[row[0] for row in VALIDATION_ROWS],
)
def test_validation_messages(text: str, expected: list[str]):
    assert messages(text) == expected


def test_every_problem_is_reported_not_just_the_first():
    text = (
        "version: 1\ngroups:\n  core: [a, b]\nroot: {owners: [cor, a, b]}\nsubsystems:\n"
        "  - {name: s, owners: [a], paths: ['[x]'], mode: strict}\n"
        "  - {name: t, owner: [a], paths: [t/]}\n"
    )
    assert messages(text, "conf/OWNERS.yaml") == [
        "conf/OWNERS.yaml:4:17: undefined alias 'cor' (hint: did you mean 'core'? "
        "write 'user:cor' if it is a username)",
        "conf/OWNERS.yaml:6:36: malformed pattern '[x]': character ranges are not supported "
        "(hint: write '\\[' to match a literal '[')",
        "conf/OWNERS.yaml:6:50: mode must be 'enforce' or 'advisory', not 'strict'",
        "conf/OWNERS.yaml:7:15: unknown key 'owner' in subsystem 't' "
        "(hint: did you mean 'owners'?)",
    ]


def test_load_config_raises_with_every_error_and_keeps_warnings_apart():
    with pytest.raises(ConfigError) as caught:
        load_config("version: 2\nroot: {owners: a}\n")
    assert [str(d) for d in caught.value.errors] == [
        "OWNERS.yaml:1:10: unsupported version 2 (hint: this tool reads version 1)",
        "OWNERS.yaml:2:16: root owners must be a list (hint: write root owners: [a, b])",
    ]
    config = load_config("version: 1\nroot: {owners: [a]}\n")  # a warning only
    assert config.root.owners == ("a",)


def test_a_pattern_matching_no_file_in_the_tree_is_a_warning():
    text = HEAD + "  - name: s\n    owners: [a]\n    paths: [src/, docs/, '!src/gen/']\n"
    config = load_config(text)
    warnings = tree_warnings(config, ["src/main.c", "README"])
    assert [str(w) for w in warnings] == [
        "OWNERS.yaml:6:19: warning: pattern 'docs/' of 's' matches no file in the tree "
        "(hint: fix the path or remove the pattern)",
        "OWNERS.yaml:6:26: warning: pattern '!src/gen/' of 's' matches no file in the tree "
        "(hint: fix the path or remove the pattern)",
    ]
    assert all(w.severity is Severity.WARNING for w in warnings)
    assert tree_warnings(config, ["src/main.c", "docs/a.md", "src/gen/x.c"]) == []


# -- wrong types and values -----------------------------------------------------------------------

TYPE_ROWS = [
    # (scenario, file, exact diagnostics)
    ("version as a string", "version: '1'\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:1:10: version must be an integer"]),
    ("version missing its value", "version:\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:1:9: version must be an integer"]),
    ("unsupported version", "version: 2\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:1:10: unsupported version 2 (hint: this tool reads version 1)"]),
    ("missing version", "root: {owners: [a, b]}\n",
     ["OWNERS.yaml:1:1: missing 'version' (hint: start the file with 'version: 1')"]),
    ("missing root", "version: 1\n",
     ["OWNERS.yaml:1:1: missing 'root' (hint: add 'root: {owners: [...]}' naming the core team)"]),
    ("top level a list", "- version: 1\n", ["OWNERS.yaml:1:1: the top level must be a mapping"]),
    ("top level a scalar", "version 1\n", ["OWNERS.yaml:1:1: the top level must be a mapping"]),
    ("owners a string", "version: 1\nroot: {owners: alice}\n",
     ["OWNERS.yaml:2:16: root owners must be a list (hint: write root owners: [a, b])"]),
    ("owners empty", "version: 1\nroot: {owners: []}\n",
     ["OWNERS.yaml:2:16: root has an empty owners list"]),
    ("owners a number", "version: 1\nroot: {owners: [a, 7]}\n",
     ["OWNERS.yaml:2:20: each entry of root owners must be a string (hint: quote it)"]),
    ("paths a string", HEAD + "  - {name: s, owners: [a], paths: src/}\n",
     ["OWNERS.yaml:4:35: subsystem 's' paths must be a list (hint: write subsystem 's' paths: "
      "[a, b])"]),
    ("approvals a word", "version: 1\nroot: {owners: [a, b], approvals: two}\n",
     ["OWNERS.yaml:2:35: root approvals must be an integer"]),
    ("approvals a fraction", "version: 1\nroot: {owners: [a, b], approvals: 1.5}\n",
     ["OWNERS.yaml:2:35: root approvals must be an integer"]),
    ("approvals zero", "version: 1\nroot: {owners: [a, b], approvals: 0}\n",
     ["OWNERS.yaml:2:35: root approvals must be at least 1, not 0"]),
    ("noparent a number", HEAD + "  - {name: s, owners: [a], paths: [s/], noparent: 1}\n",
     ["OWNERS.yaml:4:51: noparent must be true or false"]),
    ("mode unknown", HEAD + "  - {name: s, owners: [a], paths: [s/], mode: strict}\n",
     ["OWNERS.yaml:4:47: mode must be 'enforce' or 'advisory', not 'strict'"]),
    ("name a number", HEAD + "  - {name: 12, owners: [a], paths: [s/]}\n",
     ["OWNERS.yaml:4:12: name must be a string (hint: quote it)"]),
    ("name with a space", HEAD + "  - {name: 'a b', owners: [a], paths: [s/]}\n",
     ["OWNERS.yaml:4:12: 'a b' is not a valid subsystem name "
      "(hint: letters, digits, '.', '_', '+' and '-')"]),
    ("name root is reserved", HEAD + "  - {name: root, owners: [a], paths: [s/]}\n",
     ["OWNERS.yaml:4:12: 'root' is reserved for the root section (hint: choose another name)"]),
    ("subsystem without a name", HEAD + "  - {owners: [a], paths: [s/]}\n",
     ["OWNERS.yaml:4:5: subsystem without a 'name'"]),
    ("subsystem without paths", HEAD + "  - {name: s, owners: [a]}\n",
     ["OWNERS.yaml:4:5: subsystem 's' has no 'paths' "
      "(hint: list the paths it owns, e.g. [src/x/])"]),
    ("subsystems a mapping", HEAD.replace("subsystems:\n", "subsystems: {name: s}\n"),
     ["OWNERS.yaml:3:13: subsystems must be a list"]),
    ("groups a list", "version: 1\ngroups: [a]\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:2:9: groups must be a mapping of alias name to members"]),
    ("group named root", "version: 1\ngroups: {root: [a]}\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:2:10: 'root' is not a valid group name "
      "(hint: letters, digits, '.', '_', '+' and '-'; not 'root')"]),
    ("label with a space", "version: 1\npolicy: {label: Code Review}\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:2:17: 'Code Review' is not a Gerrit label name "
      "(hint: letters, digits and '-' only, e.g. Code-Review)"]),
    ("approve not positive", "version: 1\npolicy: {approve: 0}\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:2:19: policy.approve must be a positive vote "
      "(hint: Code-Review approval is 2)"]),
    ("veto not negative", "version: 1\npolicy: {veto: 1}\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:2:16: policy.veto must be a negative vote (hint: Code-Review veto is -2)"]),
    ("self_approval a string", "version: 1\npolicy: {self_approval: 'no'}\n"
     "root: {owners: [a, b]}\n",
     ["OWNERS.yaml:2:25: policy.self_approval must be true or false"]),
    ("gerrit: without a group", "version: 1\nroot: {owners: ['gerrit:', a]}\n",
     ["OWNERS.yaml:2:17: 'gerrit:' needs a group name (hint: write gerrit:<Group Name>)"]),
    ("user: without a name", "version: 1\nroot: {owners: ['user:', a]}\n",
     ["OWNERS.yaml:2:17: 'user:' needs a username"]),
    ("an owner with a space", "version: 1\nroot: {owners: ['two words', a]}\n",
     ["OWNERS.yaml:2:17: 'two words' is not a username, email or alias "
      "(hint: only gerrit:<Group Name> may contain spaces)"]),
    ("an empty pattern", HEAD + "  - {name: s, owners: [a], paths: [x/, '']}\n",
     ["OWNERS.yaml:4:40: empty entry in subsystem 's' paths"]),
    ("YAML syntax error", "version: 1\nroot: {owners: [a, b]\n",
     ["OWNERS.yaml:3:1: YAML syntax error: did not find expected ',' or '}' "
      "(hint: check indentation and quoting)"]),
    ("a tab for indentation is named, at its line and column",
     "version: 1\nroot:\n\towners: [a, b]\n",
     ["OWNERS.yaml:3:1: YAML syntax error: a tab, where YAML allows only spaces "
      "(hint: indent with spaces)"]),
    ("a tab deeper in the file too",
     "version: 1\nroot:\n  owners: [a, b]\nsubsystems:\n  - name: s\n    paths: [s/]\n"
     "\towners: [a]\n",
     ["OWNERS.yaml:7:1: YAML syntax error: a tab, where YAML allows only spaces "
      "(hint: indent with spaces)"]),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [row[1:] for row in TYPE_ROWS],
    ids=[row[0] for row in TYPE_ROWS],
)
def test_wrong_types_and_values(text: str, expected: list[str]):
    assert messages(text) == expected


# -- hostile input ------------------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)


def _many_patterns(count: int) -> str:
    return HEAD + "  - {name: s, owners: [a], paths: [" + ",".join(["x"] * count) + "]}\n"


LOCATED = ["one located error"]  # any single `OWNERS.yaml:LINE:COL: message` line will do
_LOCATED = re.compile(r"OWNERS\.yaml:[1-9][0-9]*:[1-9][0-9]*: [^\n]+")

HOSTILE_ROWS = [
    # (scenario, data, exact diagnostics)
    ("a file over 1 MiB", b"#" * (MAX_BYTES + 1),
     [f"OWNERS.yaml:1:1: file is {MAX_BYTES + 1} bytes, over the {MAX_BYTES} byte limit "
      "(hint: split ownership into fewer, broader patterns)"]),
    ("an anchor and alias", "version: 1\ngroups:\n  a: &x [u]\n  b: *x\nroot: {owners: [a]}\n",
     ["OWNERS.yaml:3:6: YAML anchors and aliases are not allowed "
      "(hint: write the values out, or use a group alias under 'groups')"]),
    ("billion laughs", BILLION_LAUGHS,
     ["OWNERS.yaml:1:4: YAML anchors and aliases are not allowed "
      "(hint: write the values out, or use a group alias under 'groups')"]),
    ("a merge key with an alias", "base: &b {owners: [a]}\nroot:\n  <<: *b\n",
     ["OWNERS.yaml:1:7: YAML anchors and aliases are not allowed "
      "(hint: write the values out, or use a group alias under 'groups')"]),
    ("a merge key without an alias", "version: 1\nroot:\n  <<: {approvals: 1}\n"
     "  owners: [a, b]\n",
     ["OWNERS.yaml:3:3: YAML merge keys ('<<') are not allowed (hint: write the keys out)"]),
    ("a python object tag", "version: 1\nroot: !!python/object/apply:os.system ['true']\n",
     ["OWNERS.yaml:2:7: YAML tags are not allowed (tag:yaml.org,2002:python/object/apply:"
      "os.system) (hint: remove the tag)"]),
    ("a local tag", "version: 1\nroot: !owners {owners: [a]}\n",
     ["OWNERS.yaml:2:7: YAML tags are not allowed (!owners) (hint: remove the tag)"]),
    ("a standard tag", "version: !!int 1\nroot: {owners: [a, b]}\n",
     ["OWNERS.yaml:1:10: YAML tags are not allowed (tag:yaml.org,2002:int) "
      "(hint: remove the tag)"]),
    ("100-deep flow nesting", "x: " + "[" * 100 + "]" * 100 + "\n",
     ["OWNERS.yaml:1:11: nesting deeper than 8 levels "
      "(hint: OWNERS.yaml needs at most four levels)"]),
    ("100-deep block nesting", "".join(f"{'  ' * i}k{i}:\n" for i in range(100)),
     ["OWNERS.yaml:9:17: nesting deeper than 8 levels "
      "(hint: OWNERS.yaml needs at most four levels)"]),
    # Which check fires first depends on the parser: ours at depth 9 with PyYAML's pure-Python
    # parser, libyaml's own depth limit (its scanner reads ahead) with the C one.
    ("500,000-deep nesting just under 1 MiB", "[" * 500_000 + "]" * 500_000, LOCATED),
    ("too many patterns", _many_patterns(MAX_PATTERNS + 1),
     [f"OWNERS.yaml:4:35: more than {MAX_PATTERNS} patterns in the file"]),
    ("too many subsystems", HEAD + "  - x\n" * 50_001,
     ["OWNERS.yaml:4:3: 50001 subsystems, over the limit of 50000"]),
    ("a pattern too long", HEAD + "  - {name: s, owners: [a], paths: [" + "a" * 1025 + "]}\n",
     ["OWNERS.yaml:4:36: pattern longer than 1024 characters"]),
    ("parents nested deeper than 32",
     HEAD + "  - {name: s0, owners: [a], paths: [x]}\n"
     + "".join(f"  - {{name: s{i}, owners: [a], paths: [x], parent: s{i - 1}}}\n"
               for i in range(1, 2000)),
     ["OWNERS.yaml:36:12: subsystem 's32' is more than 32 levels below root "
      "(hint: attach deep subsystems to a shallower parent)"]),
    ("aliases nested deeper than 32",
     "version: 1\ngroups:\n" + "".join(f"  g{i}: [g{i + 1}, u]\n" for i in range(5000))
     + "  g5000: [u]\nroot: {owners: [g0, v]}\n",
     ["OWNERS.yaml:3:3: group 'g0' nests aliases more than 32 levels deep "
      "(hint: list the people of the inner groups directly)"]),
    ("aliases repeating aliases", "version: 1\ngroups:\n"
     + "".join(f"  g{i}: [{', '.join([f'g{i + 1}'] * 30)}]\n" for i in range(30))
     + "  g30: [u, v]\nroot: {owners: [g0]}\n",
     []),
    ("non-UTF-8 bytes", b"version: 1\nroot: {owners: [a, b]}\n# caf\xe9\n",
     ["OWNERS.yaml:3:1: not valid UTF-8 (byte 39) (hint: save the file as UTF-8)"]),
    ("a NUL byte", "version: 1\nroot: {owners: [a,\x00 b]}\n",
     ["OWNERS.yaml:2:19: character U+0000 is not allowed in YAML "
      "(hint: remove it, or write it as an escape in a double-quoted string)"]),
    ("a control character after multi-byte text", "version: 1\n# café\nroot: {owners: [\x07]}\n",
     ["OWNERS.yaml:3:17: character U+0007 is not allowed in YAML "
      "(hint: remove it, or write it as an escape in a double-quoted string)"]),
    ("an empty file", b"", ["OWNERS.yaml:1:1: file is empty (hint: start with 'version: 1')"]),
    ("only comments and blank lines", "# owners\n\n   \n",
     ["OWNERS.yaml:1:1: file is empty (hint: start with 'version: 1')"]),
    ("a document marker alone", "---\n", ["OWNERS.yaml:2:1: the top level must be a mapping"]),
    ("two documents", "version: 1\nroot: {owners: [a, b]}\n---\nversion: 1\n",
     ["OWNERS.yaml:3:1: YAML syntax error: but found another document "
      "(hint: check indentation and quoting)"]),
    ("a 5,000-digit integer", HEAD + "  - {name: s, owners: [a], approvals: " + "9" * 5000
     + ", paths: [s/]}\n",
     ["OWNERS.yaml:4:39: subsystem 's' approvals is too large"]),
    ("an integer too large to mean anything", "version: 1\npolicy: {veto: -1" + "0" * 20 + "}\n"
     "root: {owners: [a, b]}\n",
     ["OWNERS.yaml:2:16: policy.veto is too large"]),
]


@pytest.mark.parametrize(
    ("data", "expected"),
    [row[1:] for row in HOSTILE_ROWS],
    ids=[row[0] for row in HOSTILE_ROWS],
)
def test_hostile_input_is_a_clear_error(data: str | bytes, expected: list[str]):
    if expected is not LOCATED:
        assert messages(data) == expected
        return
    config, diagnostics = parse_config(data, "OWNERS.yaml")  # raising would fail the test too
    assert config is None
    assert [d.severity for d in diagnostics] == [Severity.ERROR]
    assert _LOCATED.fullmatch(str(diagnostics[0])), str(diagnostics[0])


def test_a_file_of_exactly_1_mib_is_read():
    text = "version: 1\nroot: {owners: [a, b]}\n"
    data = text.encode() + b"#" * (MAX_BYTES - len(text) - 1) + b"\n"
    assert len(data) == MAX_BYTES
    assert messages(data) == []


def test_a_utf8_byte_order_mark_is_accepted():
    assert messages("\ufeffversion: 1\nroot: {owners: [a, b]}\n".encode()) == []


def test_the_pattern_limit_itself_is_allowed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(reader_module, "MAX_PATTERNS", 10)
    assert messages(_many_patterns(10)) == []
    assert messages(_many_patterns(11)) == ["OWNERS.yaml:4:35: more than 10 patterns in the file"]


# -- unquoted patterns that YAML reads as tags and aliases ----------------------------------------

QUOTE = "(hint: quote patterns that start with ! or *)"
UNQUOTED_ROWS = [
    # (scenario, the subsystem's paths as written, exact diagnostics); HEAD + name/owners is
    # lines 4-5, so paths start on line 6
    ("an exclusion in a block list is a tag", "    paths:\n      - x/\n      - !x/README\n",
     [f"OWNERS.yaml:8:9: YAML tags are not allowed (!x/README) {QUOTE}"]),
    ("an exclusion in a flow list", "    paths: [x/, !x/README]\n",
     ["OWNERS.yaml:6:17: YAML syntax error: did not find expected whitespace or line break "
      f"(while scanning a tag) {QUOTE}"]),
    ("a leading * in a flow list", "    paths: [*.pyc]\n",
     ["OWNERS.yaml:6:13: YAML syntax error: did not find expected alphabetic or numeric "
      f"character (while scanning an alias) {QUOTE}"]),
    ("a leading * in a block list", "    paths:\n      - x/\n      - '*.py'\n      - **/build/\n",
     ["OWNERS.yaml:9:9: YAML syntax error: did not find expected alphabetic or numeric "
      f"character (while scanning an alias) {QUOTE}"]),
    ("a leading * that is a valid alias name", "    paths: [x/, *tmp]\n",
     ["OWNERS.yaml:6:17: YAML aliases are not allowed (*tmp is an alias) (hint: quote patterns "
      "that start with ! or *; write values out, or use a group alias under 'groups')"]),
    ("quoted, they are patterns", "    paths: [x/, '!x/README', \"*.py\"]\n", []),
]


@pytest.mark.parametrize(
    ("paths", "expected"), [row[1:] for row in UNQUOTED_ROWS], ids=[row[0] for row in UNQUOTED_ROWS]
)
def test_unquoted_patterns_get_a_hint_at_their_column(paths: str, expected: list[str]):
    assert messages(HEAD + "  - name: s\n    owners: [a]\n" + paths) == expected


# -- names checked against Gerrit (owners validate --gerrit), on recorded answers ----------------


@pytest.fixture
def directory():
    """The lookup `owners validate --gerrit` uses, over REST answers recorded on the dev
    Gerrit: alice (alice@example.org), gone (inactive), bobby (Bob@example.org), bob2
    (bob@example.org, inactive), the group Nova Core (admin, alice and inactive bob2)."""
    from owners.gerrit.connection import GerritConnection
    from owners.gerrit.settings import Settings
    from tests.conftest import ReplayedGerrit

    rest = ReplayedGerrit()
    settings = Settings(gerrit_url="http://gerrit.invalid", user="admin", password="x" * 16)
    return GerritConnection(settings, rest=rest).accounts.directory(), rest


DIRECTORY_ROWS = [
    # (scenario, root's owners, exact diagnostics)
    ("a name that is neither an alias nor an account", "[alice, hyperv-team]",
     ["OWNERS.yaml:2:24: 'hyperv-team' is neither an alias nor a Gerrit username "
      "(hint: define it under 'groups' if it is an alias, or check the username)"]),
    ("a username in another case", "[alice, Alice@example.org, Alice]",
     ["OWNERS.yaml:2:43: 'Alice' is neither an alias nor a Gerrit username "
      "(hint: identities are exact, case included; Gerrit has alice)",
      "OWNERS.yaml:2:24: no Gerrit account has the email 'Alice@example.org' (hint: "
      "identities are exact, case included; Gerrit has alice@example.org (alice))"]),
    ("an email in another case", "[alice, bob@Example.org]",
     ["OWNERS.yaml:2:24: no Gerrit account has the email 'bob@Example.org' (hint: identities "
      "are exact, case included; Gerrit has bob@example.org (bob2), Bob@example.org (bobby))"]),
    ("a secondary email names nobody (votes show preferred emails)",
     "[alice, alice.second@example.org]",
     ["OWNERS.yaml:2:24: no Gerrit account has the email 'alice.second@example.org' (hint: "
      "no account has exactly this email as its preferred email)"]),
    ("inactive accounts", "[alice, gone, gone@example.org]",
     ["OWNERS.yaml:2:24: the account with username 'gone' is inactive in Gerrit (hint: an "
      "inactive account cannot vote; remove the entry or reactivate the account)",
      "OWNERS.yaml:2:30: the account with email 'gone@example.org' is inactive in Gerrit "
      "(hint: an inactive account cannot vote; remove the entry or reactivate the account)"]),
    ("an unknown group", "[alice, 'gerrit:Nope']",
     ["OWNERS.yaml:2:24: Gerrit group 'Nope' does not exist or is not visible (hint: check "
      "the name; the bot's account must be able to see the group)"]),
    ("a group spelled in another case", "[alice, 'gerrit:nova core', Bob@example.org]",
     ["OWNERS.yaml:2:24: warning: Gerrit spells the group 'Nova Core' "
      "(hint: write gerrit:Nova Core)"]),
    ("one person under two names is one approver", "[alice, alice@example.org]",
     ["OWNERS.yaml:2:7: requirement of 'root' can never be met: it needs 2 approvals but has "
      "1 eligible active accounts in Gerrit (hint: add owners or lower 'approvals')"]),
    ("a group counts its active members", "[Bob@example.org, 'gerrit:Nova Core']",
     []),
]


@pytest.mark.parametrize(
    ("owners", "expected"),
    [row[1:] for row in DIRECTORY_ROWS],
    ids=[row[0] for row in DIRECTORY_ROWS],
)
def test_names_are_checked_against_gerrit(directory, owners: str, expected: list[str]):
    lookup, _ = directory
    text = f"version: 1\nroot: {{owners: {owners}, approvals: 2}}\n"
    _, diagnostics = parse_config(text, "OWNERS.yaml", lookup)
    assert sorted(str(d) for d in diagnostics) == sorted(expected)


def test_each_name_is_looked_up_once_per_run(directory):
    lookup, rest = directory
    text = (
        "version: 1\ngroups:\n  core: [alice, Bob@example.org]\nroot: {owners: [core, alice]}\n"
        "subsystems:\n  - {name: a, paths: [a/], owners: [alice, core]}\n"
        "  - {name: b, paths: [b/], owners: [core]}\n"
    )
    parse_config(text, "OWNERS.yaml", lookup)
    assert sorted(rest.calls) == sorted(
        [
            'accounts/?o=DETAILS&q=username:"alice" (is:active OR is:inactive)',
            'accounts/?o=DETAILS&q=email:"Bob@example.org" (is:active OR is:inactive)',
        ]
    )

