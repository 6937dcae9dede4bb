"""Each source format's own rules, one table per rule, the expected answers written by hand
from that format's documentation (GitHub "About code owners", GitLab "Syntax of CODEOWNERS
file" and "Advanced CODEOWNERS configuration", Prow's pkg/repoowners), never from our code.

The matchers are the `--check` oracle; the imports must then agree with them (the property
at the end, and `test_import.py`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from owners.engine import Ownership, load_config
from owners.migrate import FORMATS, compare
from owners.migrate.common import describe
from owners.migrate.forgeglob import GitHubRule, GitLabRule

GITHUB_PATTERNS = [
    # "*" the default owners for everything
    ("*", "README.md", True),
    ("*", "a/b/c.txt", True),
    # "*.js" any .js file, at any depth
    ("*.js", "web/app.js", True),
    ("*.js", "app.jsx", False),
    # "/build/logs/": the root's build/logs and its subdirectories
    ("/build/logs/", "build/logs/x.log", True),
    ("/build/logs/", "build/logs/deep/x.log", True),
    ("/build/logs/", "src/build/logs/x.log", False),
    ("/build/logs/", "build/logs", False),  # a trailing '/' is a directory's contents
    # "docs/*" matches docs/getting-started.md, not docs/build-app/troubleshooting.md
    ("docs/*", "docs/getting-started.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),
    ("docs/*", "lib/docs/x.md", False),  # a '/' in the middle anchors (gitignore)
    # "apps/" any file in an apps directory anywhere
    ("apps/", "apps/a.py", True),
    ("apps/", "x/y/apps/a.py", True),
    # "/docs/" the root's docs and any of its subdirectories
    ("/docs/", "docs/a/b.md", True),
    ("/docs/", "x/docs/a.md", False),
    # "**/logs" a logs directory such as /build/logs, /scripts/logs, /deeply/nested/logs
    ("**/logs", "build/logs/x", True),
    ("**/logs", "deeply/nested/logs/x", True),
    ("**/logs", "logs/x", True),
    # "/apps/github" owns apps/github's files (a pattern naming a directory owns all below)
    ("/apps/github", "apps/github/g.py", True),
    # '[ ]' character ranges do not work: /apps/[param]/file.ts owns apps/[param]/file.ts
    ("/apps/[param]/file.ts", "apps/[param]/file.ts", True),
    ("/apps/[param]/file.ts", "apps/p/file.ts", False),
    # paths are case-sensitive
    ("/Docs/", "docs/a.md", False),
    # gitignore: '/**/' zero or more directories, trailing '/**' everything inside
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("abc/**", "abc/x/y", True),
    ("abc/**", "abc", False),
    ("a/**/**", "a/x.py", True),
    # gitignore: without a '/' a name matches at any level, a file or a directory
    ("foo", "a/foo", True),
    ("foo", "a/foo/bar", True),
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("a**b", "axyb", True),  # other runs of '*' are one '*'
    ("a**b", "ax/b", False),
    # '\' escapes
    ("\\*.md", "*.md", True),
    ("\\*.md", "x.md", False),
    ("path\\ with\\ spaces/", "path with spaces/x", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), GITHUB_PATTERNS)
def test_github_patterns(pattern: str, path: str, expected: bool) -> None:
    assert GitHubRule.compile(pattern).matches(path) is expected


GITLAB_PATTERNS = [
    # Absolute paths: from the root
    ("/README.md", "README.md", True),
    ("/README.md", "docs/README.md", False),
    ("/docs/README.md", "docs/README.md", True),
    # Relative paths are globstar paths: README.md is /**/README.md
    ("README.md", "README.md", True),
    ("README.md", "internal/README.md", True),
    ("README.md", "app/lib/README.md", True),
    ("internal/README.md", "internal/README.md", True),
    ("internal/README.md", "docs/internal/README.md", True),
    ("internal/README.md", "docs/api/internal/README.md", True),
    ("internal/README.md", "README.md", False),
    # Directory paths: a trailing '/' is every file below, at any depth
    ("/docs/", "docs/a.md", True),
    ("/docs/", "docs/x/y.md", True),
    ("/docs/", "x/docs/a.md", False),
    ("lib/", "lib/a.rb", True),
    ("lib/", "x/lib/a/b.rb", True),
    # ... and without it, fnmatch on the whole path: a file of that name only
    ("docs", "docs/index.md", False),
    ("docs", "x/docs", True),
    ("/docs", "docs/index.md", False),
    # Wildcard paths: '*' never crosses '/'
    ("/docs/*.md", "docs/a.md", True),
    ("/docs/*.md", "docs/x/a.md", False),
    ("/docs/index.*", "docs/index.html", True),
    ("/docs/*spec*", "docs/qa_specs.rb", True),
    ("/docs/*spec*", "docs/runtime.spec", True),
    ("/docs/*/README.md", "docs/api/README.md", True),
    ("/docs/*/README.md", "docs/README.md", False),
    ("/docs/*/README.md", "docs/a/b/README.md", False),
    ("/docs/*", "docs/index.md", True),
    ("/docs/*", "docs/projects/index.md", False),
    # Globstar paths: '**/' spans directories; any other '**' is a '*' (File.fnmatch)
    ("/docs/**/index.md", "docs/index.md", True),
    ("/docs/**/index.md", "docs/api/index.md", True),
    ("/docs/**/index.md", "docs/api/graphql/index.md", True),
    ("**/*.rb", "config/database.rb", True),
    ("**/*.rb", "app/controllers/users/stars_controller.rb", True),
    ("/docs/**", "docs/a", True),
    ("/docs/**", "docs/a/b", False),
    # FNM_DOTMATCH: '*' matches dotfiles
    ("*", "a/.gitignore", True),
    ("*.rb", ".hidden/x.rb", True),
    # character classes (fnmatch), case-sensitive
    ("src/[ab].c", "src/a.c", True),
    ("src/[ab].c", "src/c.c", False),
    ("src/[!a].c", "src/b.c", True),
    ("src/[!a].c", "src/a.c", False),
    ("src/[a-c].c", "src/b.c", True),
    ("/Docs/", "docs/a", False),
    # escaping: a leading '\#', spaces
    ("\\#file_with_pound.rb", "#file_with_pound.rb", True),
    ("path\\ with\\ spaces/", "path with spaces/a.md", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), GITLAB_PATTERNS)
def test_gitlab_patterns(pattern: str, path: str, expected: bool) -> None:
    assert GitLabRule.compile(pattern).matches(path) is expected


def gitlab(text: str, tree: list[str]) -> dict[str, str]:
    imported = FORMATS["gitlab"]({"CODEOWNERS": text}.get, tree, None, ())
    ownership = Ownership(load_config(imported.config))
    assert [
        d.path for d in compare(ownership, imported.answer, tree) if "(optional)" not in str(d)
    ] == []
    return {p: describe(imported.answer(p)) for p in tree}


GITLAB_FILES = [
    pytest.param(
        # Sections: each judged apart, last entry per section; the README example
        "* @admin\n[README Owners]\nREADME.md @user1 @user2\ninternal/README.md @user4\n"
        "[README other owners]\nREADME.md @user3\n",
        {
            "README.md": "1 of admin; 1 of user1, user2; 1 of user3",
            "internal/README.md": "1 of admin; 1 of user3; 1 of user4",
        },
        id="sections",
    ),
    pytest.param(
        # Default owners on the header; owners beside a path override them
        "[Database] @database-team @agarcia\nmodel/db/\nconfig/db/database-setup.md @docs-team\n",
        {
            "model/db/x.rb": "1 of agarcia, database-team",
            "config/db/database-setup.md": "1 of docs-team",
        },
        id="default-owners",
    ),
    pytest.param(
        # [Section][2] needs two; ^[Section] optional; `[Documentation][2] @docs-team` combines
        "[Documentation][2] @docs-team @writer\ndocs/\n^[Go] @gopher\n*.go\n",
        {"docs/a.md": "2 of docs-team, writer", "cmd/main.go": "1 of gopher (optional)"},
        id="approvals-optional",
    ),
    pytest.param(
        # duplicate names are one section, case-blind; optional only if every header is
        "[Documentation]\nee/docs/ @docs\n[DOCUMENTATION]\nREADME.md @docs2\n^[documentation]\n"
        "*.txt @docs3\n",
        {"ee/docs/README.md": "1 of docs2", "notes.txt": "1 of docs3"},
        id="duplicate-sections",
    ),
    pytest.param(
        # exclusions: in their section only, whatever their place in it
        "* @username\n!pom.xml\n[Ruby]\n*.rb @ruby-team\n!/config/**/*.rb\n"
        "/config/routes.rb @ops\n",
        {
            "pom.xml": "no requirement",
            "app.rb": "1 of ruby-team; 1 of username",
            "config/routes.rb": "1 of username",
        },
        id="exclusions",
    ),
    pytest.param(
        # no inline comments: owners after a '#' count; words are ignored
        "*.rb @ruby-owner # and @reviewer\nLICENSE @legal this_does_not_match janedoe@gitlab.com\n",
        {"a.rb": "1 of reviewer, ruby-owner", "LICENSE": "1 of janedoe@gitlab.com, legal"},
        id="no-inline-comments",
    ),
    pytest.param(
        # an entry with something after the pattern gets no section defaults, even if
        # that is no owner: zero owners, which GitLab approves automatically
        "[Docs] @docs\n*.md nobody\n*.txt\n",
        {"a.md": "no requirement", "a.txt": "1 of docs"},
        id="zero-owners",
    ),
    pytest.param(
        # the same pattern twice in a section: the last line's owners, in the first's place
        "a/ @x\na/b.txt @y\na/ @z\n",
        {"a/b.txt": "1 of y", "a/c.txt": "1 of z"},
        id="duplicate-entry",
    ),
    pytest.param(
        # an unparsable header is an entry of the section before
        "* @group\n[Section name\ndocs/ @docs_group\n",
        {"docs/a": "1 of docs_group", "x": "1 of group"},
        id="unparsable-header",
    ),
    pytest.param(
        # relative paths at any depth; a directory needs the trailing '/'
        "* @all\ninternal/README.md @int\ndocs @nobody\nsrc/[ab].c @c\n",
        {
            "docs/internal/README.md": "1 of int",
            "docs/index.md": "1 of all",
            "a/docs": "1 of nobody",
            "src/a.c": "1 of c",
            "src/d.c": "1 of all",
        },
        id="patterns",
    ),
]


@pytest.mark.parametrize(("text", "expected"), GITLAB_FILES)
def test_gitlab_rules(text: str, expected: dict[str, str]) -> None:
    assert gitlab(text, sorted(expected)) == expected


def prow(files: dict[str, str], tree: list[str]) -> dict[str, str]:
    everything = sorted({*files, *tree})
    imported = FORMATS["prow"](files.get, everything, None, ())
    ownership = Ownership(load_config(imported.config))
    assert list(compare(ownership, imported.answer, everything)) == []
    return {p: describe(imported.answer(p)) for p in tree}


PROW_FILES = [
    pytest.param(
        # NormLogin: lower-cased, one '@' removed, for approvers and aliases alike
        {
            "OWNERS": "approvers: ['@Bob', '@leads']\n",
            "OWNERS_ALIASES": "aliases:\n  Leads: ['@Carol']\n",
        },
        {"a.go": "1 of bob, carol"},
        id="logins",
    ),
    pytest.param(
        # entriesForFile stops at no_parent_owners only once it has approvers: an OWNERS
        # file without approvers does not stop the walk
        {
            "OWNERS": "approvers: [root]\n",
            "pkg/OWNERS": "approvers: [erin]\n",
            "pkg/api/OWNERS": "options:\n  no_parent_owners: true\nreviewers: [rev]\n",
            "pkg/api/v1/OWNERS": "approvers: [vic]\n",
        },
        {
            "pkg/api/types.go": "1 of erin, root",
            "pkg/api/v1/x.go": "1 of vic",  # found approvers below, so it stops there
        },
        id="no-parent-without-approvers",
    ),
    pytest.param(
        # a filter-only no_parent_owners file stops the walk for the files it matches
        {
            "OWNERS": "approvers: [root]\n",
            "gen/OWNERS": 'options:\n  no_parent_owners: true\nfilters:\n  "\\\\.go$":\n'
            "    approvers: [gopher]\n",
        },
        {"gen/a.go": "1 of gopher", "gen/a.py": "1 of root"},
        id="no-parent-filters",
    ),
]


@pytest.mark.parametrize(("files", "expected"), PROW_FILES)
def test_prow_rules(files: dict[str, str], expected: dict[str, str]) -> None:
    assert prow(files, sorted(expected)) == expected


SEGMENTS = ["a", "b", "*", "*.py", "x.py", "**", "[ax].py", "[!a]"]
NAMES = ["x.py", "a.py", "a", "b"]

trees = st.lists(
    st.lists(st.sampled_from(["a", "b", "x.py"]), max_size=3).flatmap(
        lambda dirs: st.sampled_from(NAMES).map(lambda name: "/".join([*dirs, name]))
    ),
    min_size=1,
    max_size=20,
    unique=True,
).filter(lambda t: not any(q.startswith(p + "/") for p in t for q in t))  # as git holds them
patterns = st.builds(
    lambda lead, segs, trail: lead + "/".join(segs) + trail,
    st.sampled_from(["", "/", "!"]),
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3),
    st.sampled_from(["", "/"]),
)
lines = st.lists(
    st.one_of(
        st.tuples(patterns, st.lists(st.sampled_from(["@ann", "@ben", "@org/t"]), max_size=2)),
        st.sampled_from([("[S]", ["@sec"]), ("^[Opt][2]", ["@o1", "@o2"]), ("[s]", [])]),
    ),
    max_size=10,
)


@settings(max_examples=150, deadline=None)
@given(lines, trees)
def test_random_gitlab_import_without_differences(entries, tree):
    """Whatever GitLab file: the engine answers as GitLab's own rules do, except where a
    note says a line could not be imported (a negated class) or where the engine
    enforces an optional section's files through root."""
    text = "".join(f"{p} {' '.join(o)}\n" for p, o in entries)
    imported = FORMATS["gitlab"]({"CODEOWNERS": text}.get, tree, None, ())
    ownership = Ownership(load_config(imported.config))
    untranslated = any("not imported" in n.message for n in imported.notes)
    for difference in compare(ownership, imported.answer, tree):
        assert untranslated or any(not r.blocking for r in difference.source), difference
