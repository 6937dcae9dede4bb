"""The `owners` command in a real git checkout: text and JSON contracts, exit codes, errors.

The checkout (`git_repo` in conftest.py) holds the Nova-shaped OWNERS.yaml, a branch `topic`
tracking `origin/master` and one commit on top that renames a Hyper-V file into the VMware
driver and edits a libvirt file, so `check` with no range has three requirements.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOVA_OWNERS, git, one_line_error, run_script

RENAMED_OLD = "nova/virt/hyperv/vmops.py"
RENAMED_NEW = "nova/virt/vmwareapi/vmops.py"
EDITED = "nova/virt/libvirt/driver.py"


@pytest.fixture
def in_repo(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(git_repo)
    return git_repo


def votes_file(tmp_path: Path, data: object) -> str:
    path = tmp_path / "votes.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def where(text: str) -> str:
    """LINE:COL of the first occurrence of `text` in the Nova fixture."""
    for number, line in enumerate(NOVA_OWNERS.read_text().splitlines(), start=1):
        if text in line:
            return f"{number}:{line.index(text) + 1}"
    raise AssertionError(text)


# -- who ------------------------------------------------------------------------------------------


def test_who_json_contract(owners, in_repo):
    result = owners("who", "--json", "nova/compute/api.py", "nova/virt/driver.py")
    assert result.code == 0
    assert result.json == [
        {"path": "nova/compute/api.py",
         "requirements": [{"subsystem": "root", "mode": "enforce", "approvals": 2,
                           "eligible": ["carol", "dave", "erin"]}]},
        {"path": "nova/virt/driver.py",
         "requirements": [
             {"subsystem": "virt", "mode": "enforce", "approvals": 1,
              "eligible": ["lena", "victor", "carol", "dave", "erin"]},
             {"subsystem": "driver-api", "mode": "enforce", "approvals": 1,
              "eligible": ["dora", "alice", "bob@example.org", "carol", "dave", "erin"]},
         ]},
    ]


def test_who_json_reports_advisory_subsystems_with_their_enforcer(owners, in_repo):
    result = owners("who", "--json", "nova/virt/xenapi/vmops.py")
    requirements = result.json[0]["requirements"]
    assert [(r["subsystem"], r["mode"]) for r in requirements] == [
        ("xenapi", "advisory"), ("virt", "enforce"),
    ]


def test_who_from_a_subfolder_reads_paths_from_there_and_warns_of_a_path_that_is_nowhere(
    in_repo,
):
    result = run_script(in_repo / "nova", "who", "nova/virt/fake.py", "virt/fake.py")
    assert result.code == 0
    assert [line.split()[0] for line in result.out.splitlines()] == [
        "nova/nova/virt/fake.py", "nova/virt/fake.py",
    ]
    assert result.err == (
        "owners: warning: nova/nova/virt/fake.py: in neither the tree nor the working tree "
        "(paths are relative to the current folder, as in git: the root's nova/virt/fake.py "
        "is virt/fake.py from here)\n"
    )


def test_who_of_a_file_yet_to_be_written_answers_with_a_warning(in_repo):
    result = run_script(in_repo, "who", "nova/virt/hyperv/planned.py")
    assert result.code == 0
    assert result.out.startswith("nova/virt/hyperv/planned.py  hyperv ")
    assert result.err == (
        "owners: warning: nova/virt/hyperv/planned.py: in neither the tree nor the working tree\n"
    )


def test_who_of_a_tracked_file_deleted_from_disk_does_not_warn(in_repo):
    (in_repo / "nova/virt/fake.py").unlink()
    result = run_script(in_repo, "who", "nova/virt/fake.py")
    assert (result.code, result.err) == (0, "")


def test_who_text(owners, in_repo):
    result = owners("who", "nova/virt/hyperv/vmops.py", "nova/compute/api.py")
    assert result.code == 0
    assert result.out == (
        "nova/virt/hyperv/vmops.py  hyperv  1 of  alice, bob@example.org, lena, victor, carol, "
        "dave, erin\n"
        "nova/compute/api.py        root    2 of  carol, dave, erin\n"
    )


def test_paths_are_relative_to_the_current_folder(owners, in_repo, monkeypatch):
    monkeypatch.chdir(in_repo / "nova" / "virt")
    result = owners("who", "--json", "driver.py", "../compute/manager.py", "./hyperv/vmops.py")
    assert [entry["path"] for entry in result.json] == [
        "nova/virt/driver.py", "nova/compute/manager.py", "nova/virt/hyperv/vmops.py",
    ]
    assert [r["subsystem"] for r in result.json[0]["requirements"]] == ["virt", "driver-api"]


def test_config_option_overrides_the_checkout_file(owners, in_repo, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(
        "version: 1\ngroups: {core: [zed, 'user:core', Zoe@Example.org]}\n"
        "root: {owners: [core, 'gerrit:Nova Core']}\n"
    )
    result = owners("who", "--json", "--config", str(other), "nova/virt/driver.py")
    # aliases expanded, user: and emails as written, gerrit: groups as written
    assert result.json[0]["requirements"] == [
        {"subsystem": "root", "mode": "enforce", "approvals": 1,
         "eligible": ["zed", "core", "Zoe@Example.org", "gerrit:Nova Core"]},
    ]


def test_config_option_works_outside_a_checkout(owners, tmp_path, monkeypatch):
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    result = owners("who", "--json", "--config", str(NOVA_OWNERS), "nova/virt/fake.py")
    assert result.code == 0
    assert [r["subsystem"] for r in result.json[0]["requirements"]] == ["virt"]


# -- explain --------------------------------------------------------------------------------------


def test_explain_json_names_patterns_chain_and_reasons(owners, in_repo):
    result = owners("explain", "--json", "nova/virt/hyperv/README.rst")
    assert result.code == 0
    data = result.json
    assert data["path"] == "nova/virt/hyperv/README.rst"
    assert [(m["subsystem"], m["pattern"], m["decisive"]) for m in data["matches"]] == [
        ("virt", "nova/virt/", True),
        ("hyperv", "nova/virt/hyperv/", False),
        ("hyperv", "!nova/virt/hyperv/README.rst", True),
    ]
    assert all(m["location"].startswith("OWNERS.yaml:") for m in data["matches"])
    [requirement] = data["requirements"]
    assert requirement["chain"] == ["virt", "root"]
    assert requirement["stopped_by_noparent"] is None
    assert requirement["approvers"][0] == {"identity": "lena", "subsystem": "virt", "via": []}
    assert requirement["approvers"][-1] == {
        "identity": "erin", "subsystem": "root", "via": ["nova-core"],
    }


def test_explain_text_says_why(owners, in_repo):
    result = owners("explain", "nova/virt/vmwareapi/driver.py")
    assert result.code == 0
    assert "approval chain: vmware (stops: vmware has noparent)" in result.out
    assert "wendy" in result.out and "carol" not in result.out


def test_explain_a_file_no_subsystem_matches(owners, in_repo):
    result = owners("explain", "README.rst")
    assert "no pattern matches: the file belongs to root" in result.out


# -- check -------------------------------------------------------------------------------------


def test_check_default_range_is_what_push_would_upload(owners, in_repo):
    result = owners("check", "--json")
    assert result.code == 1  # PENDING
    data = result.json
    assert data["verdict"] == "PENDING"
    assert {r["subsystem"]: r["files"] for r in data["requirements"]} == {
        "hyperv": [RENAMED_OLD],  # a rename counts under its old path too
        "vmware": [RENAMED_NEW],
        "libvirt": [EDITED],
    }


def test_check_with_nothing_to_push_says_so_instead_of_a_verdict(in_repo):
    git(in_repo, "reset", "-q", "--hard", "origin/master")
    result = run_script(in_repo, "check")
    one_line_error(
        result, 2, "owners: nothing to check: HEAD has no commits that origin/master lacks\n"
    )


def test_check_with_only_uncommitted_edits_points_to_worktree(in_repo):
    git(in_repo, "reset", "-q", "--hard", "origin/master")
    (in_repo / EDITED).write_text("# libvirt, edited\n")
    result = run_script(in_repo, "check")
    one_line_error(
        result,
        2,
        "owners: nothing to check: HEAD has no commits that origin/master lacks; 1 file with "
        "uncommitted edits: commit, or owners check --worktree\n",
    )


def test_check_worktree_checks_staged_and_unstaged_edits_against_head(in_repo):
    (in_repo / EDITED).write_text("# libvirt, edited again\n")  # unstaged
    (in_repo / "nova/virt/hyperv/new.py").write_text("# new\n")
    git(in_repo, "add", "nova/virt/hyperv/new.py")  # staged
    (in_repo / "nova/virt/xenapi/untracked.py").write_text("# never added\n")
    result = run_script(in_repo, "check", "--worktree", "--json")
    assert (result.code, result.err) == (1, "")
    assert {f for r in result.json["requirements"] for f in r["files"]} == {
        EDITED, "nova/virt/hyperv/new.py"
    }
    suggested = run_script(in_repo, "suggest", "--worktree").out.splitlines()
    assert suggested == ["lena", "alice", "luke"]


def test_check_worktree_without_edits_says_so(in_repo):
    result = run_script(in_repo, "check", "--worktree")
    one_line_error(
        result, 2, "owners: nothing to check: no uncommitted edits (git diff HEAD is empty)\n"
    )


def test_check_of_commits_notes_the_uncommitted_edits_it_leaves_out(in_repo):
    (in_repo / "README.rst").write_text("nova, edited\n")
    result = run_script(in_repo, "check", "--json")
    assert result.code == 1
    assert result.err == (
        "note: 1 file with uncommitted edits not checked (owners check --worktree checks them)\n"
    )
    assert "README.rst" not in {f for r in result.json["requirements"] for f in r["files"]}


def test_check_json_contract(owners, in_repo, tmp_path):
    votes = votes_file(tmp_path, {"owner": "zed", "votes": [
        {"user": "alice", "value": 2}, {"user": "wendy", "value": 2}, {"user": "lena", "value": 2},
    ]})
    result = owners("check", "--json", "--votes", votes)
    assert result.code == 1  # PENDING
    assert set(result.json) == {"verdict", "requirements", "suggested_reviewers"}
    assert result.json["verdict"] == "PENDING"
    assert result.json["requirements"] == [
        {"subsystem": "hyperv", "mode": "enforce", "met": True, "approved_by": ["alice", "lena"],
         "missing": 0, "vetoed_by": [], "files": [RENAMED_OLD]},  # lena owns the parent, virt
        {"subsystem": "vmware", "mode": "enforce", "met": True, "approved_by": ["wendy"],
         "missing": 0, "vetoed_by": [], "files": [RENAMED_NEW]},
        {"subsystem": "libvirt", "mode": "enforce", "met": False, "approved_by": ["lena"],
         "missing": 1, "vetoed_by": [], "files": [EDITED]},
    ]
    assert result.json["suggested_reviewers"] == ["luke"]


CHECK_ROWS = [
    # (scenario, votes, verdict)
    ("every requirement met", {"owner": "zed", "votes": [
        {"user": "alice", "value": 2}, {"user": "wendy", "value": 2},
        {"user": "lena", "value": 2}, {"user": "luke", "value": 2}]}, "APPROVED"),
    ("a veto blocks", {"owner": "zed", "votes": [
        {"user": "alice", "value": 2}, {"user": "wendy", "value": 2},
        {"user": "lena", "value": 2}, {"user": "luke", "value": -2}]}, "BLOCKED"),
    ("the owner's approval does not count", {"owner": "luke", "votes": [
        {"user": "alice", "value": 2}, {"user": "wendy", "value": 2},
        {"user": "lena", "value": 2}, {"user": "luke", "value": 2}]}, "PENDING"),
    ("the uploader's approval does not count", {"owner": "zed", "uploader": "luke", "votes": [
        {"user": "alice", "value": 2}, {"user": "wendy", "value": 2},
        {"user": "lena", "value": 2}, {"user": "luke", "value": 2}]}, "PENDING"),
    ("emails are users too", {"owner": "zed", "votes": [
        {"user": "BOB@example.org", "value": 2}, {"user": "wendy", "value": 2},
        {"user": "lena", "value": 2}, {"user": "victor", "value": 2}]}, "APPROVED"),
    ("no votes at all", {}, "PENDING"),
]


@pytest.mark.parametrize(
    ("votes", "verdict"), [row[1:] for row in CHECK_ROWS], ids=[row[0] for row in CHECK_ROWS]
)
def test_check_verdicts(owners, in_repo, tmp_path, votes, verdict):
    result = owners("check", "--json", "--votes", votes_file(tmp_path, votes))
    assert result.code == (0 if verdict == "APPROVED" else 1)  # the documented exit status
    assert result.json["verdict"] == verdict


def test_check_files_from_a_subfolder(owners, in_repo, tmp_path, monkeypatch):
    votes = votes_file(tmp_path, {"votes": [{"user": "lena", "value": 2}]})
    monkeypatch.chdir(in_repo / "nova" / "virt")
    result = owners("check", "--json", "--files", "fake.py", "driver.py", "--votes", votes)
    data = result.json
    assert {r["subsystem"]: r["files"] for r in data["requirements"]} == {
        "virt": ["nova/virt/fake.py", "nova/virt/driver.py"],
        "driver-api": ["nova/virt/driver.py"],
    }
    assert data["verdict"] == "PENDING"
    assert len(data["suggested_reviewers"]) == 1
    assert data["suggested_reviewers"][0] in {"dora", "alice", "bob@example.org"}


def test_check_with_gerrit_groups_lists_them_as_unresolved(owners, in_repo, tmp_path):
    config = tmp_path / "groups.yaml"
    config.write_text("version: 1\nroot: {owners: ['gerrit:Nova Core']}\n")
    result = owners("check", "--json", "--config", str(config), "--files", "README.rst")
    assert result.json["unresolved_groups"] == ["gerrit:Nova Core"]


def test_check_a_single_commit_and_a_range(owners, in_repo):
    single = owners("check", "--json", "HEAD")
    ranged = owners("check", "--json", "origin/master..HEAD")
    default = owners("check", "--json")
    assert single.json == ranged.json == default.json


def test_check_text(owners, in_repo):
    result = owners("check", "--files", "nova/virt/hyperv/vmops.py", "nova/compute/api.py")
    assert result.code == 1  # PENDING
    lines = result.out.splitlines()
    assert lines[:3] == [
        "PENDING",
        "--  root    0/2  1 file  needs 2 more approvals",
        "--  hyperv  0/1  1 file  needs 1 more approval",
    ]
    assert lines[3].startswith("suggested reviewers: ")
    assert len(lines) == 4


# -- suggest -------------------------------------------------------------------------------------


def test_suggest_json_and_text(owners, in_repo, tmp_path):
    votes = votes_file(tmp_path, {"owner": "wendy", "votes": [{"user": "lena", "value": 2}]})
    as_json = owners("suggest", "--json", "--votes", votes)
    as_text = owners("suggest", "--votes", votes)
    assert as_json.code == as_text.code == 0
    suggested = as_json.json
    assert as_text.out.splitlines() == suggested
    # lena (virt, the parent) meets hyperv and half of libvirt; wendy wrote the change
    assert sorted(suggested) == ["luke", "victor"]


def test_suggest_why_needs_the_project_to_rank_by(owners, in_repo):
    result = owners("suggest", "--why")
    assert result.code == 2
    assert "--why needs --project" in result.err


# -- validate ------------------------------------------------------------------------------------


def test_validate_a_valid_file_exits_0_with_tree_warnings(owners, in_repo):
    result = owners("validate")
    assert result.code == 0
    assert result.out.splitlines() == [
        f"OWNERS.yaml:{where(f'nova/tests/unit/virt/{d}/')}: warning: pattern "
        f"'nova/tests/unit/virt/{d}/' of '{name}' matches no file in the tree "
        "(hint: fix the path or remove the pattern)"
        for d, name in [("hyperv", "hyperv"), ("vmwareapi", "vmware"), ("libvirt", "libvirt")]
    ] + ["OK: 6 subsystems, 10 patterns (3 warnings)"]
    assert owners("validate", "--no-tree").out == "OK: 6 subsystems, 10 patterns\n"


def test_validate_counts_files_not_yet_added_as_files_of_the_tree(owners, in_repo):
    for folder in ("hyperv", "vmwareapi", "libvirt"):
        (in_repo / f"nova/tests/unit/virt/{folder}").mkdir(parents=True)
        (in_repo / f"nova/tests/unit/virt/{folder}/test_driver.py").write_text("# new\n")
    result = owners("validate", "--strict")
    assert (result.code, result.out) == (0, "OK: 6 subsystems, 10 patterns\n")


def test_validate_judges_another_file_without_this_checkouts_tree(owners, in_repo):
    (in_repo / "elsewhere.yaml").write_text(
        "version: 1\nroot: {owners: [a, b]}\nsubsystems:\n  - {name: s, owners: [a], paths: [x/]}\n"
    )
    result = owners("validate", "--strict", "elsewhere.yaml")
    assert (result.code, result.out) == (0, "OK: 1 subsystem, 1 pattern\n")


def test_validate_an_invalid_file_exits_1(owners, in_repo, monkeypatch):
    (in_repo / "OWNERS.yaml").write_text(
        "version: 1\nroot: {owners: [a, b]}\nsubsystems:\n  - {name: s, owner: [a], paths: [x]}\n"
    )
    monkeypatch.chdir(in_repo / "nova")
    result = owners("validate")
    assert result.code == 1
    assert result.out.splitlines() == [
        "../OWNERS.yaml:4:15: unknown key 'owner' in subsystem 's' "
        "(hint: did you mean 'owners'?)",
    ]


def test_validate_json(owners, in_repo):
    (in_repo / "OWNERS.yaml").write_text("version: 2\nroot: {owners: [a, b]}\n")
    result = owners("validate", "--json")
    assert result.code == 1
    assert result.json == [
        {"file": "OWNERS.yaml", "line": 1, "column": 10, "severity": "error",
         "message": "unsupported version 2", "hint": "this tool reads version 1"},
    ]


def test_validate_a_named_file(owners, in_repo, tmp_path):
    other = tmp_path / "candidate.yaml"
    other.write_text("version: 1\nroot: {owners: [a, b]}\n")
    assert owners("validate", "--no-tree", str(other)).code == 0
    other.write_text("version: 1\n")
    result = owners("validate", str(other))
    assert result.code == 1
    assert "candidate.yaml:1:1: missing 'root'" in result.out


def test_validate_accepts_config_like_every_command(owners, in_repo, tmp_path):
    other = tmp_path / "candidate.yaml"
    other.write_text("version: 1\nroot: {owners: [a, b]}\n")
    assert owners("validate", "--no-tree", "--config", str(other)).code == 0


# -- coverage ------------------------------------------------------------------------------------


def test_coverage_json(owners, in_repo):
    result = owners("coverage", "--json")
    assert result.code == 0
    assert result.json == {
        "total_files": 10,
        "subsystems": [
            {"subsystem": "root", "files": 3},
            {"subsystem": "virt", "files": 4},
            {"subsystem": "driver-api", "files": 1},
            {"subsystem": "hyperv", "files": 0},
            {"subsystem": "vmware", "files": 2},
            {"subsystem": "libvirt", "files": 1},
            {"subsystem": "xenapi", "files": 1},
        ],
        "root_only": ["OWNERS.yaml", "README.rst", "nova/compute/manager.py"],
    }


def test_coverage_text(owners, in_repo, monkeypatch):
    monkeypatch.chdir(in_repo / "nova" / "virt")  # the whole checkout, from anywhere in it
    result = owners("coverage")
    assert result.out.splitlines()[0] == "10 files"
    assert result.out.splitlines()[-4:] == [
        "3 files only root owns:", "  OWNERS.yaml", "  README.rst", "  nova/compute/manager.py",
    ]


# -- wrong invocations: one line on stderr, non-zero exit, no traceback ---------------------------

USAGE_ROWS = [
    # (scenario, argv, text in the message)
    ("unknown command", ["frobnicate"], "No such command 'frobnicate'"),
    ("who without a path", ["who"], "Missing argument 'PATH...'"),
    ("explain without a path", ["explain"], "Missing argument 'PATH'"),
    ("unknown option", ["who", "--bogus", "x"], "No such option '--bogus'"),
    ("explain with two paths", ["explain", "a", "b"], "Got unexpected extra argument (b)"),
    ("--files without paths", ["check", "--files"], "--files needs at least one PATH"),
    ("two ranges", ["check", "HEAD~1", "HEAD"], "give one REVRANGE, or --files PATH..."),
    ("a votes file that does not exist", ["check", "--votes", "/nonexistent/votes.json"],
     "No such file or directory"),
]


@pytest.mark.parametrize(
    "argv", [row[1] for row in USAGE_ROWS], ids=[row[0] for row in USAGE_ROWS]
)
def test_usage_errors_exit_2(owners, in_repo, argv):
    text = next(row[2] for row in USAGE_ROWS if row[1] == argv)
    one_line_error(owners(*argv), 2, text)


VOTES_ROWS = [
    # (scenario, votes file content, message)
    ("not JSON", "{nope", "votes file: not JSON (Expecting property name enclosed in double "
     "quotes at line 1)"),
    ("not an object", "[]", "votes file: expected an object with owner, uploader and votes"),
    ("votes not a list", '{"votes": {"alice": 2}}', "votes file: votes must be a list"),
    ("a vote without a value", '{"votes": [{"user": "alice"}]}',
     'votes file: votes[0] must be {"user": U, "value": N}'),
    ("a value that is a string", '{"votes": [{"user": "alice", "value": "+2"}]}',
     'votes file: votes[0] must be {"user": U, "value": N}'),
    ("a vote without a user", '{"votes": [{"value": 2}]}',
     "votes file: votes[0].user must be a username or email"),
    ("an empty owner", '{"owner": " "}', "votes file: owner must be a username or email"),
]


@pytest.mark.parametrize(
    ("content", "message"), [row[1:] for row in VOTES_ROWS], ids=[row[0] for row in VOTES_ROWS]
)
def test_bad_votes_files(owners, in_repo, tmp_path, content, message):
    result = owners("check", "--files", "README.rst", "--votes", votes_file(tmp_path, content))
    one_line_error(result, 2, message)  # no verdict: 2, apart from 1 (not approved)


def test_a_path_outside_the_checkout(owners, in_repo):
    one_line_error(owners("who", "../elsewhere.py"), 1, "../elsewhere.py: outside the repository")


def test_a_directory_is_not_a_file(owners, in_repo):
    one_line_error(owners("who", "nova/virt"), 1, "nova/virt: is a directory; name a file in it")


def test_not_a_git_checkout(owners, tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    one_line_error(owners("who", "x.py"), 1, "not in a git checkout; run inside one or pass "
                   "--config OWNERS.yaml")


def test_coverage_needs_a_checkout_even_with_config(owners, tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    one_line_error(owners("coverage", "--config", str(NOVA_OWNERS)), 1,
                   "needs a git checkout to list its files")


def test_an_invalid_owners_yaml(owners, in_repo):
    (in_repo / "OWNERS.yaml").write_text("version: 2\nroot: {owners: a}\n")
    one_line_error(
        owners("who", "README.rst"), 1,
        "OWNERS.yaml is invalid: OWNERS.yaml:1:10: unsupported version 2 "
        "(hint: this tool reads version 1) (and 1 more; run owners validate)",
    )


def test_a_missing_owners_yaml(owners, in_repo):
    (in_repo / "OWNERS.yaml").unlink()
    one_line_error(owners("who", "README.rst"), 1, "OWNERS.yaml: No such file or directory")


def test_a_branch_without_upstream_needs_a_range(owners, in_repo):
    git(in_repo, "checkout", "-q", "-b", "loose", "master")
    one_line_error(owners("check"), 2, "the current branch has no upstream; pass a range such "
                   "as origin/master..HEAD")


def test_a_bad_revision_range(owners, in_repo):
    result = owners("check", "nosuch..HEAD")
    one_line_error(result, 2, "owners: git: ")


def test_the_installed_command_exits_without_a_traceback(in_repo):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "owners.cli", *args],
            cwd=in_repo / "nova", capture_output=True, text=True, check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )

    ok = run("who", "--json", "virt/fake.py")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["path"] == "nova/virt/fake.py"
    bad = run("who", "/")
    assert bad.returncode == 1
    assert bad.stderr == "owners: /: outside the repository at " + str(in_repo) + "\n"
    usage = run("nope")
    assert (usage.returncode, usage.stderr) == (2, "owners: No such command 'nope'.\n")


def test_no_command_at_all_is_a_one_line_error(owners, in_repo):
    result = owners()
    assert result.code == 2
    assert result.err.count("\n") == 1


# -- validate --gerrit and --strict -------------------------------------------------------------


@pytest.fixture
def recorded_gerrit(monkeypatch):
    """`OWNERS_GERRIT_*` set; REST answered from tests/fixtures/gerrit/directory.json."""
    from tests.conftest import ReplayedGerrit

    monkeypatch.setattr("owners.gerrit.rest.GerritRestAPI", ReplayedGerrit)
    monkeypatch.setenv("OWNERS_GERRIT_URL", "http://gerrit.invalid")
    monkeypatch.setenv("OWNERS_GERRIT_USER", "admin")
    monkeypatch.setenv("OWNERS_GERRIT_PASSWORD", "not-a-real-password")


def test_validate_gerrit_reports_unknown_names_where_they_are_written(
    owners, in_repo, recorded_gerrit
):
    (in_repo / "OWNERS.yaml").write_text(
        "version: 1\ngroups:\n  hyperv-core: [alice, hyperv-team]\n"
        "root:\n  owners: ['gerrit:Nova Core', gone]\n"
    )
    offline = owners("validate", "--no-tree")
    # a bare name passes as a username offline
    assert (offline.code, offline.out) == (0, "OK: 0 subsystems, 0 patterns\n")
    result = owners("validate", "--no-tree", "--gerrit")
    assert result.code == 1
    assert result.out.splitlines() == [
        "OWNERS.yaml:3:24: 'hyperv-team' is neither an alias nor a Gerrit username "
        "(hint: define it under 'groups' if it is an alias, or check the username)",
        "OWNERS.yaml:5:32: the account with username 'gone' is inactive in Gerrit "
        "(hint: an inactive account cannot vote; remove the entry or reactivate the account)",
    ]
    as_json = owners("validate", "--no-tree", "--gerrit", "--json")
    assert [d["line"] for d in as_json.json] == [3, 5]


def test_validate_gerrit_counts_group_members(owners, in_repo, recorded_gerrit):
    (in_repo / "OWNERS.yaml").write_text(
        "version: 1\nroot:\n  owners: ['gerrit:Nova Core', alice]\n  approvals: 2\n"
    )
    result = owners("validate", "--no-tree", "--gerrit")
    assert result.code == 0
    # the group's active members are admin and alice: two people, both needed
    assert result.out == (
        "OWNERS.yaml:3:3: warning: 'root' needs every one of its 2 eligible active accounts in "
        "Gerrit, so a change by one of them can never be approved (hint: add another owner)\n"
        "OK: 0 subsystems, 0 patterns (1 warning)\n"
    )
    assert owners("validate", "--no-tree", "--gerrit", "--strict").code == 1


def test_validate_gerrit_without_settings_is_a_one_line_error(owners, in_repo, monkeypatch):
    for name in ("URL", "USER", "PASSWORD", "PASSWORD_FILE"):
        monkeypatch.delenv(f"OWNERS_GERRIT_{name}", raising=False)
    one_line_error(owners("validate", "--gerrit"), 1, "OWNERS_GERRIT_URL")


# -- the pre-commit hook ------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def test_the_pre_commit_hook_validates_owners_yaml(tmp_path):
    """`.pre-commit-hooks.yaml` run by pre-commit itself, as a project would run it: pre-commit
    installs this repository (dependencies from PyPI) into its own environment, offline from
    any Gerrit.  A valid file passes, an invalid one fails with its located problems."""
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed (the test extra installs it)")
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q")
    (project / "OWNERS.yaml").write_text(NOVA_OWNERS.read_text())
    (project / "README.rst").write_text("nova\n")
    git(project, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(pre_commit), "try-repo", str(REPO), "owners-validate", "--all-files"],
            cwd=project, env=env, capture_output=True, text=True, check=False, timeout=600,
        )

    valid = try_repo()
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "owners validate" in valid.stdout and "Passed" in valid.stdout
    # a passing run shows its warnings (here: patterns matching no file of this project)
    assert "warning: pattern 'nova/virt/' of 'virt' matches no file in the tree" in valid.stdout
    assert "OK: 6 subsystems, 10 patterns (10 warnings)" in valid.stdout
    (project / "OWNERS.yaml").write_text(
        "version: 1\nroot: {owners: [a, b]}\nsubsystems:\n  - {name: s, owner: [a], paths: [x]}\n"
    )
    git(project, "add", ".")
    invalid = try_repo()
    assert invalid.returncode == 1, invalid.stdout + invalid.stderr
    assert "OWNERS.yaml:4:15: unknown key 'owner' in subsystem 's'" in invalid.stdout


# -- consistency of the commands ----------------------------------------------------------------


def test_check_exit_status_is_0_only_when_approved(owners, in_repo, tmp_path):
    votes = votes_file(tmp_path, {"owner": "zed", "votes": [{"user": "lena", "value": 2}]})
    approved = owners("check", "--files", "nova/virt/fake.py", "--votes", votes)
    assert (approved.code, approved.out.splitlines()[0]) == (0, "APPROVED")
    vetoed = votes_file(tmp_path, {"owner": "zed", "votes": [{"user": "lena", "value": -2}]})
    blocked = owners("check", "--files", "nova/virt/fake.py", "--votes", vetoed)
    assert (blocked.code, blocked.out.splitlines()[0]) == (1, "BLOCKED")
    assert owners("check", "--bogus").code == 2


def test_who_answers_the_good_paths_and_reports_the_bad_one(owners, in_repo):
    result = owners("who", "nova/virt/fake.py", "../elsewhere.py", "README.rst")
    assert result.code == 1
    assert [line.split()[0] for line in result.out.splitlines()] == [
        "nova/virt/fake.py", "README.rst"
    ]
    assert result.err == (
        f"owners: ../elsewhere.py: outside the repository at {in_repo}\n"
    )
    as_json = owners("who", "--json", "nova", "README.rst")
    assert as_json.code == 1
    assert [entry["path"] for entry in as_json.json] == ["README.rst"]
    assert as_json.err == "owners: nova: is a directory; name a file in it\n"


def test_the_command_list_shows_every_summary_whole(owners):
    """Click cuts a docstring's first sentence at 'e.g.' or the line width; each command
    has a summary of its own, which the list must show whole."""
    from owners.cli import cli

    result = owners("--help")
    assert result.code == 0
    listing = result.out.split("Commands:")[1]
    assert "..." not in listing
    assert "stats         Commits per subsystem for each range of git history." in listing
    for name, command in cli.commands.items():
        assert command.short_help, name
        assert command.short_help.rstrip(".") in " ".join(listing.split()), name


GERRIT_COMMANDS = {"audit", "dead-letters", "gerrit-setup", "reconcile", "report", "serve",
                   "worker", "validate", "suggest"}  # validate: with --gerrit; suggest: --project


def test_the_help_says_which_commands_need_the_gerrit_settings(owners):
    from owners.cli import cli

    assert "OWNERS_GERRIT_URL" in owners("--help").out
    marked = {name for name, command in cli.commands.items() if "[Gerrit]" in command.short_help}
    assert marked == GERRIT_COMMANDS
    for name in GERRIT_COMMANDS - {"validate"}:
        assert "OWNERS_GERRIT_*" in " ".join(owners(name, "--help").out.split()), name
    assert "OWNERS_GERRIT_*" in owners("check", "--help").out


def test_options_are_written_in_one_style():
    """Metavars in capitals; defaults shown by click ([default: ...]), never in the help
    text; --json on every command that reports (serve and worker run until stopped, export
    and schema print a format of their own)."""
    import click

    from owners.cli import cli

    for name, command in cli.commands.items():
        options = [p for p in command.params if isinstance(p, click.Option)]
        for option in options:
            where = f"{name} {option.opts[0]}"
            assert "default" not in (option.help or "").lower(), where
            if option.is_flag or isinstance(option.type, click.Choice):
                continue
            ctx = click.Context(command)
            metavar = option.make_metavar(ctx)
            assert metavar == metavar.upper(), where
            default = option.get_default(ctx, call=False)
            unset = default is None or type(default).__name__ == "Sentinel"  # click 8.3+: UNSET
            if not unset and not option.multiple:
                assert option.show_default, where
        has_json = any(o.name == "as_json" for o in options)
        assert has_json == (name not in {"serve", "worker", "export", "schema"}), name


def test_dead_letters_does_not_create_a_queue_to_list_it(owners, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OWNERS_GERRIT_URL", "http://gerrit.invalid")
    monkeypatch.setenv("OWNERS_GERRIT_USER", "owners-bot")
    monkeypatch.setenv("OWNERS_GERRIT_PASSWORD", "not-a-real-password")
    monkeypatch.delenv("OWNERS_QUEUE", raising=False)
    listed = owners("dead-letters")
    assert (listed.code, listed.out) == (0, "no dead letters\n")
    assert owners("dead-letters", "--json").json == []
    assert owners("dead-letters", "--replay").out == "queued 0 dead letters\n"
    assert list(tmp_path.iterdir()) == []
