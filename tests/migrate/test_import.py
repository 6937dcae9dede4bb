"""`owners import` and `--check` on small hand-written trees, one per format, built from
the examples in each format's public documentation.

Each case states, path by path, what the source format itself requires (read from its
documentation, not from our code), so the answer function the check trusts is tested too;
then the import must validate and the check must find no difference (or exactly the
differences the notes announce).  Every tree is a real git checkout.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from owners.cli import main
from owners.engine import Ownership, load_config
from owners.migrate import FORMATS, compare
from owners.migrate.common import ROOT_PLACEHOLDER, describe
from tests.conftest import git


def checkout(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(textwrap.dedent(text))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tree")
    return repo


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def reader(repo: Path):
    def read(path: str) -> str | None:
        file = repo / path
        return file.read_text() if file.is_file() else None

    return read


# GitHub's example CODEOWNERS (docs: "About code owners"), shortened, over a small tree.
GITHUB = {
    ".github/CODEOWNERS": """\
        # These owners will be the default owners for everything in the repo.
        *       @global-owner1 @global-owner2
        *.js    @js-owner #This is an inline comment.
        *.go docs@example.com
        *.txt @octo-org/octocats
        /build/logs/ @doctocat
        docs/*  docs@example.com
        apps/ @octocat
        /docs/ @doctocat
        /scripts/ @doctocat @octocat
        **/logs @octocat
        /apps/ @octocat
        /apps/github
        src/[ab].c @nobody
        """,
    "README.md": "",
    "web/app.js": "",
    "main.go": "",
    "notes.txt": "",
    "build/logs/x.log": "",
    "docs/a.md": "",
    "docs/api/b.md": "",
    "lib/docs/c.md": "",
    "lib/docs/deep/d.md": "",
    "apps/a.py": "",
    "apps/github/g.py": "",
    "scripts/s.sh": "",
    "src/logs/l.txt": "",
    "src/[ab].c": "",
    "src/a.c": "",
}
GITHUB_EXPECTED = {
    "README.md": "1 of global-owner1, global-owner2",
    "web/app.js": "1 of js-owner",
    "main.go": "1 of docs@example.com",
    "notes.txt": "1 of gerrit:octocats",
    "build/logs/x.log": "1 of octocat",  # **/logs comes after /build/logs/
    "docs/a.md": "1 of doctocat",  # /docs/ comes after docs/*
    "docs/api/b.md": "1 of doctocat",
    "lib/docs/c.md": "1 of global-owner1, global-owner2",  # docs/* is anchored at the root
    "lib/docs/deep/d.md": "1 of global-owner1, global-owner2",
    "apps/a.py": "1 of octocat",
    "apps/github/g.py": "no requirement",  # a line without owners
    "scripts/s.sh": "1 of doctocat, octocat",
    "src/logs/l.txt": "1 of octocat",
    "src/[ab].c": "1 of nobody",  # GitHub has no character ranges: '[' and ']' are literal
    "src/a.c": "1 of global-owner1, global-owner2",
}

# GitLab's sections examples (docs: "Code Owners syntax"), with approvals, an optional
# section, section default owners and an exclusion.
GITLAB = {
    "CODEOWNERS": """\
        * @default-owner
        *.rb @ruby-owner
        LICENSE @legal janedoe@gitlab.com

        [Documentation]
        ee/docs    @docs
        docs       @docs

        [Database][2] @dba-one @dba-two
        model/db/
        config/db/database-setup.md @docs @database

        ^[Go Owners] @gopher
        *.go

        [Release]
        * @release
        !pom.xml
        """,
    "app.rb": "",
    "LICENSE": "",
    "docs/index.md": "",
    "model/db/schema.rb": "",
    "config/db/database-setup.md": "",
    "cmd/main.go": "",
    "pom.xml": "",
}
GITLAB_EXPECTED = {
    "app.rb": "1 of release; 1 of ruby-owner",
    "LICENSE": "1 of janedoe@gitlab.com, legal; 1 of release",
    # `docs` without a trailing '/' is `/**/docs` matched on whole paths: a file called
    # docs, not the directory's contents
    "docs/index.md": "1 of default-owner; 1 of release",
    "model/db/schema.rb": "2 of dba-one, dba-two; 1 of release; 1 of ruby-owner",
    "config/db/database-setup.md": "2 of database, docs; 1 of default-owner; 1 of release",
    "cmd/main.go": "1 of default-owner; 1 of gopher (optional); 1 of release",
    "pom.xml": "1 of default-owner",
}

# Prow's OWNERS docs: approvers walk up, no_parent_owners stops, filters add approvers for
# matching files, OWNERS_ALIASES names lists, logins compare case-blind, reviewers never
# approve.
PROW = {
    "OWNERS": """\
        approvers: [alice, sig-leads]
        reviewers: [bob]
        """,
    "OWNERS_ALIASES": """\
        aliases:
          sig-leads: [Carol, dave]
        """,
    "pkg/OWNERS": """\
        approvers: [erin]
        filters:
          "\\\\.go$":
            approvers: [gopher]
        labels: [area/pkg]
        """,
    "pkg/api/OWNERS": """\
        options:
          no_parent_owners: true
        approvers: [frank]
        """,
    "docs/OWNERS": "reviewers: [grace]\n",
    "README.md": "",
    "pkg/util.py": "",
    "pkg/util.go": "",
    "pkg/sub/deep.go": "",
    "pkg/api/types.go": "",
    "docs/x.md": "",
}
PROW_EXPECTED = {
    "README.md": "1 of alice, carol, dave",
    "pkg/util.py": "1 of alice, carol, dave, erin",
    "pkg/util.go": "1 of alice, carol, dave, erin, gopher",
    "pkg/sub/deep.go": "1 of alice, carol, dave, erin, gopher",
    "pkg/api/types.go": "1 of frank",
    "docs/x.md": "1 of alice, carol, dave",
}

# find-owners syntax docs and the code-owners cookbook: set noparent, per-file (also in
# subdirectories), per-file set noparent, include (everything) and file: (owners only), '*'.
FIND_OWNERS = {
    "OWNERS": """\
        root@example.com
        per-file *.md = docs@example.com
        """,
    "src/OWNERS": """\
        set noparent
        dev@example.com
        per-file BUILD = build@example.com
        per-file *.proto = set noparent
        per-file *.proto = proto@example.com
        """,
    "lib/OWNERS": """\
        include /src/OWNERS
        lib@example.com
        """,
    "tools/OWNERS": """\
        file: /src/OWNERS
        """,
    "ui/OWNERS": "*\n",
    "README.md": "",
    "guide/intro.md": "",
    "src/main.c": "",
    "src/BUILD": "",
    "src/a/b.proto": "",
    "src/x.md": "",
    "lib/x.c": "",
    "tools/t.py": "",
    "ui/v.js": "",
}
FIND_OWNERS_EXPECTED = {
    "README.md": "1 of docs@example.com, root@example.com",
    "guide/intro.md": "1 of docs@example.com, root@example.com",
    "src/main.c": "1 of dev@example.com",
    "src/BUILD": "1 of build@example.com, dev@example.com",
    "src/a/b.proto": "1 of proto@example.com",
    "src/x.md": "1 of dev@example.com",
    "lib/x.c": "1 of dev@example.com, lib@example.com",
    "tools/t.py": "1 of dev@example.com, root@example.com",
    "ui/v.js": "no requirement",  # anyone may approve
}

CASES = [
    pytest.param("codeowners", GITHUB, GITHUB_EXPECTED, [], id="github"),
    # a file with a required owner and an optional section also needs root here: the
    # engine enforces an advisory subsystem's files through its parent (noted per line)
    pytest.param("gitlab", GITLAB, GITLAB_EXPECTED, ["cmd/main.go"], id="gitlab"),
    pytest.param("prow", PROW, PROW_EXPECTED, [], id="prow"),
    pytest.param("find-owners", FIND_OWNERS, FIND_OWNERS_EXPECTED, [], id="find-owners"),
]


@pytest.mark.parametrize(("fmt", "files", "expected", "known"), CASES)
def test_source_rules_follow_the_documentation(tmp_path, fmt, files, expected, known):
    repo = checkout(tmp_path, files)
    imported = FORMATS[fmt](reader(repo), sorted(files), None, ())
    assert {p: describe(imported.answer(p)) for p in expected} == expected


@pytest.mark.parametrize(("fmt", "files", "expected", "known"), CASES)
def test_import_validates_and_checks_clean(
    tmp_path, monkeypatch, capsys, fmt, files, expected, known
):
    repo = checkout(tmp_path, files)
    monkeypatch.chdir(repo)
    code, _, err = run(capsys, "import", "--from", fmt)
    assert code == 0, err
    assert "note:" in err  # every case uses a feature without an exact equivalent
    code, out, err = run(capsys, "validate", "--no-tree")
    assert code == 0, out + err
    code, out, _ = run(capsys, "import", "--from", fmt, "--check", "--json")
    report = json.loads(out)
    assert [d["path"] for d in report["differences"]] == known
    assert report["compared"] == len(files)
    assert code == (1 if known else 0)


@pytest.mark.parametrize(
    ("fmt", "files", "wrong"),
    [
        ("codeowners", GITHUB, ("global-owner2]", "intruder]")),
        ("prow", PROW, ("    noparent: true\n", "")),
        ("find-owners", FIND_OWNERS, ("dev@example.com]", "nobody@example.com]")),
    ],
)
def test_check_reports_a_wrong_map(tmp_path, monkeypatch, capsys, fmt, files, wrong):
    repo = checkout(tmp_path, files)
    monkeypatch.chdir(repo)
    assert run(capsys, "import", "--from", fmt)[0] == 0
    text = (repo / "OWNERS.yaml").read_text()
    assert wrong[0] in text
    (repo / "OWNERS.yaml").write_text(text.replace(wrong[0], wrong[1]))
    code, out, _ = run(capsys, "import", "--from", fmt, "--check")
    assert code == 1
    assert "source says" in out and "differ" in out.splitlines()[-1]


def test_import_refuses_to_overwrite_and_names_root_placeholder(tmp_path, monkeypatch, capsys):
    repo = checkout(tmp_path, GITHUB)
    monkeypatch.chdir(repo)
    assert run(capsys, "import", "--from", "codeowners")[0] == 0
    code, _, err = run(capsys, "import", "--from", "codeowners")
    assert (code, err.strip()) == (
        1,
        f"owners: {repo / 'OWNERS.yaml'} exists; pass --force to overwrite it",
    )
    assert ROOT_PLACEHOLDER in (repo / "OWNERS.yaml").read_text()
    code, out, err = run(capsys, "import", "--from", "codeowners", "--root", "core", "-o", "-")
    assert code == 0 and "owners: [core]" in out and ROOT_PLACEHOLDER not in out


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        (
            {"a.txt": ""},
            ["--from", "codeowners"],
            "owners: no CODEOWNERS file (looked for .github/CODEOWNERS, CODEOWNERS, "
            "docs/CODEOWNERS)",
        ),
        ({"a.txt": ""}, ["--from", "prow"], "owners: no OWNERS files in the checkout"),
        (
            {"a.txt": ""},
            ["--from", "codeowners", "missing"],
            "owners: missing: no such file or directory",
        ),
        (
            {"CODEOWNERS": "* @a\n"},
            ["--from", "codeowners", "--check"],
            "owners: OWNERS.yaml: No such file or directory",
        ),
    ],
)
def test_errors_are_one_line(tmp_path, monkeypatch, capsys, files, args, message):
    repo = checkout(tmp_path, files)
    monkeypatch.chdir(repo)
    code, _, err = run(capsys, "import", *args)
    assert code == 1
    assert err.strip().endswith(message.removeprefix("owners: ")) and len(err.splitlines()) == 1


def test_notes_name_the_source_line(tmp_path):
    repo = checkout(tmp_path, GITHUB)
    imported = FORMATS["codeowners"](reader(repo), sorted(GITHUB), None, ())
    lines = [str(n) for n in imported.notes]
    assert (
        ".github/CODEOWNERS:5: team '@octo-org/octocats' becomes the Gerrit group 'octocats'"
        in lines
    )
    assert any(n.startswith(".github/CODEOWNERS:13: '/apps/github' has no owners") for n in lines)
    assert not any("src/[ab].c" in n for n in lines)  # imported, its brackets escaped
    assert '"src/\\\\[ab\\\\].c"' in imported.config


def test_compare_uses_the_engine(tmp_path):
    """The comparison reads OWNERS.yaml through the real engine: the imported map's answer
    for every file equals the source's."""
    repo = checkout(tmp_path, PROW)
    imported = FORMATS["prow"](reader(repo), sorted(PROW), None, ())
    ownership = Ownership(load_config(imported.config))
    assert list(compare(ownership, imported.answer, sorted(PROW))) == []
