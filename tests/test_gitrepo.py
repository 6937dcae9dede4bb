"""Finding the checkout without starting git: the answer is git's own, whatever the layout.

The oracle is `git rev-parse --show-toplevel --absolute-git-dir` run in the same folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from owners.gitrepo import checkout
from tests.conftest import git


def git_says(start: Path) -> tuple[Path, Path] | None:
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir"],
        cwd=start,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
    )
    if done.returncode != 0:
        return None
    top, folder = done.stdout.splitlines()[:2]
    return Path(top), Path(folder)


@pytest.fixture
def layouts(tmp_path: Path) -> dict[str, Path]:
    """A repository, a linked worktree of it, a submodule, and folders inside each."""
    main = tmp_path / "main"
    (main / "src" / "deep").mkdir(parents=True)
    git(tmp_path, "init", "-q", "-b", "master", str(main))
    (main / "src" / "deep" / "a.py").write_text("a\n")
    git(main, "add", "-A")
    git(main, "commit", "-q", "-m", "one")
    git(main, "worktree", "add", "-q", str(tmp_path / "linked"))
    sub = tmp_path / "sub"
    git(tmp_path, "init", "-q", "-b", "master", str(sub))
    git(sub, "commit", "-q", "--allow-empty", "-m", "sub")
    git(main, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/sub")
    outside = tmp_path / "outside"
    outside.mkdir()
    return {
        "root": main,
        "subfolder": main / "src" / "deep",
        "linked worktree": tmp_path / "linked",
        "linked worktree subfolder": tmp_path / "linked" / "src" / "deep",
        "submodule (relative gitdir)": main / "vendor" / "sub",
        "outside any checkout": outside,
    }


@pytest.mark.parametrize(
    "where",
    [
        "root",
        "subfolder",
        "linked worktree",
        "linked worktree subfolder",
        "submodule (relative gitdir)",
        "outside any checkout",
    ],
)
def test_the_checkout_is_the_one_git_finds(layouts, where):
    start = layouts[where]
    assert checkout(start) == git_says(start)


def test_git_dir_in_the_environment_is_left_to_git(layouts, monkeypatch):
    """GIT_DIR moves the repository away from the folder: only git knows the answer."""
    monkeypatch.setenv("GIT_DIR", str(layouts["root"] / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(layouts["root"]))
    outside = layouts["outside any checkout"]
    assert checkout(outside) == git_says(outside)
    assert checkout(outside) == (layouts["root"], layouts["root"] / ".git")
