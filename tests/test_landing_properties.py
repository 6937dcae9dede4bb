"""Sticky approvals hold their invariant on generated patch set histories, checked by git.

The invariant (docs/security.md, "Sticky approvals"): an owner's approval carries to a later
patch set only if what that patch set would land on the requirement's paths is exactly what
the approved patch set landed there.  Each example builds real commits in a scratch git
repository: a branch that may move, another open change to stack on, patch set 1 and a later
patch set made by one of the moves an uploader can make (the same tree on another parent, a
rebase, an edit inside or outside the requirement, a conflict resolved differently, a mode
change).  The engine decides from landings read with `git diff-tree`, as the service reads
them from Gerrit; the oracle answers from the trees alone with `git ls-tree`, knowing nothing
of the engine.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from owners.engine import Account, Change, Ownership, Vote, evaluate, load_config
from owners.engine.change import StickyVote
from owners.engine.landing import PathChange, Side, landing

OWNED = ("core/a.py", "core/b.py")  # the requirement under test: core/, owned by carol
ELSEWHERE = ("hv/x.py", "docs/r.txt")
PATHS = OWNED + ELSEWHERE
CAROL = Account("carol", "carol@example.org", 3)
ZED = Account("zed", "zed@example.org", 9)
OWNERSHIP = Ownership(
    load_config(
        "version: 1\npolicy:\n  sticky_approvals: true\nroot:\n  owners: [dave]\n"
        "subsystems:\n  - name: core\n    paths: [core/]\n    owners: [carol]\n    noparent: true\n"
    )
)

File = tuple[str, str] | None  # (mode, text), None: absent
Edits = Mapping[str, File]


TEXTS = ("base", "resolved", *"xyz")


class Repo:
    """A scratch repository whose commits are built with git's plumbing."""

    def __init__(self, root: Path):
        self.root = root
        self.git("init", "--quiet")
        self.empty = self.git("mktree", stdin="")
        self.blob = {t: self.git("hash-object", "-w", "--stdin", stdin=t) for t in TEXTS}
        self.text = {blob: text for text, blob in self.blob.items()}

    def git(self, *args: str, stdin: str | None = None) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
            "GIT_INDEX_FILE": str(self.root / "scratch-index"),
        }
        done = subprocess.run(
            ["git", "-C", str(self.root), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        return done.stdout.strip()

    def commit(self, parent: str | None, files: Edits) -> str:
        """A commit on `parent` (None: a root commit) whose tree is the parent's with `files`
        written (None removes one)."""
        self.git("read-tree", f"{parent}^{{tree}}" if parent else self.empty)
        removed = "0 " + "0" * 40
        entries = "".join(
            f"{removed if file is None else f'{file[0]} {self.blob[file[1]]}'}\t{path}\n"
            for path, file in files.items()
        )
        self.git("update-index", "--index-info", stdin=entries)
        tree = self.git("write-tree")
        return self.git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", "c")

    def tree(self, commit: str) -> dict[str, File]:
        """The oracle's view: each path's mode and content at a commit."""
        found: dict[str, File] = {}
        for line in self.git("ls-tree", "-r", commit).splitlines():
            meta, path = line.split("\t", 1)
            mode, _, blob = meta.split()
            found[path] = (mode, self.text[blob])
        return found

    def landing(self, commit: str) -> dict[str, PathChange]:
        """What the service reads from Gerrit for a revision, read from git instead."""
        raw = self.git("diff-tree", "-r", "--no-renames", "--no-commit-id", "--raw", commit)
        changes = []
        for line in raw.splitlines():
            meta, path = line.split("\t", 1)
            old_mode, new_mode, old, new, _ = meta.lstrip(":").split()
            changes.append(
                (
                    path,
                    PathChange(
                        Side(int(old_mode, 8), old) if int(old_mode, 8) else None,
                        Side(int(new_mode, 8), new) if int(new_mode, 8) else None,
                    ),
                )
            )
        return landing(changes)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    yield Repo(tmp_path_factory.mktemp("landing"))


file = st.one_of(
    st.none(), st.tuples(st.sampled_from(["100644", "100755"]), st.sampled_from("xyz"))
)
edits = st.dictionaries(st.sampled_from(PATHS), file, max_size=3)
# patch set 1 always changes an owned path, so the approval matters
owned_edits = st.builds(
    lambda owned, other: {**other, **owned},
    st.dictionaries(st.sampled_from(OWNED), file, min_size=1, max_size=2),
    edits,
)
MOVES = ("same-tree", "rebase", "edit-inside", "edit-outside", "resolve-differently", "chmod")


def later_patch_set(
    repo: Repo, move: str, parent: str, ps1: str, ps1_parent: str, extra: Edits
) -> str:
    """Patch set 2, made from patch set 1 by `move` onto `parent`."""
    ps1_tree = repo.tree(ps1)
    landed = {
        path: ps1_tree.get(path) for path in repo.landing(ps1)
    }  # what patch set 1 changes, as its contents after
    if move == "same-tree":
        everything = set(repo.tree(parent)) | set(ps1_tree)
        return repo.commit(parent, {p: ps1_tree.get(p) for p in everything})
    if move == "rebase":
        return repo.commit(parent, landed)
    if move == "resolve-differently":
        return repo.commit(parent, {**landed, OWNED[0]: ("100644", "resolved")})
    if move == "chmod":
        current = ps1_tree.get(OWNED[1]) or ("100644", "x")
        flipped = "100755" if current[0] == "100644" else "100644"
        return repo.commit(ps1_parent, {**landed, OWNED[1]: (flipped, current[1])})
    inside = move == "edit-inside"
    changed = {k: v for k, v in extra.items() if (k in OWNED) == inside}
    return repo.commit(ps1_parent, {**landed, **changed})


def oracle_same_on_owned(repo: Repo, approved: str, current: str) -> bool:
    """Plain git: for every owned path, the approved patch set and the current one change
    it from the same content to the same content, or both leave it alone."""

    def changes(commit: str) -> dict[str, tuple[File, File]]:
        before, after = repo.tree(f"{commit}^"), repo.tree(commit)
        return {p: (before.get(p), after.get(p)) for p in OWNED if before.get(p) != after.get(p)}

    return changes(approved) == changes(current)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    base=edits,
    branch_moves=owned_edits,
    stacked_on=owned_edits,
    ps1_edits=owned_edits,
    move=st.sampled_from(MOVES),
    onto=st.sampled_from(["same", "moved-branch", "other-change"]),
    extra=edits,
)
def test_a_sticky_approval_carries_exactly_when_the_landing_on_its_paths_is_unchanged(
    repo: Repo,
    base: Edits,
    branch_moves: Edits,
    stacked_on: Edits,
    ps1_edits: Edits,
    move: str,
    onto: str,
    extra: Edits,
) -> None:
    tip = repo.commit(None, {p: ("100644", "base") for p in PATHS} | dict(base))
    moved = repo.commit(tip, branch_moves)
    other_change = repo.commit(tip, stacked_on)
    ps1 = repo.commit(tip, ps1_edits)
    parent = {"same": tip, "moved-branch": moved, "other-change": other_change}[onto]
    current = later_patch_set(repo, move, parent, ps1, tip, extra)

    now = repo.landing(current)
    change = Change.of(
        sorted(now),
        owner=ZED,
        uploader=ZED,
        sticky_votes=[StickyVote(Vote(CAROL, 2), 1, repo.landing(ps1))],
        landing=now,
    )
    core = [r for r in evaluate(OWNERSHIP, change).requirements if r.subsystem == "core"]
    if not core:
        return  # the later patch set lands nothing on core/: no approval is needed there
    assert core[0].met == oracle_same_on_owned(repo, ps1, current), (move, onto)
