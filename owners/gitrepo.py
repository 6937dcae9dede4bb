"""The local git checkout, as the CLI needs it: its root, its files and a change's files.

Paths come from git NUL-separated and are decoded like the OS decodes file names, so odd
bytes survive a round trip instead of breaking the command.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from owners.engine.change import ChangedFile


class GitError(RuntimeError):
    """A git command failed; the message is git's own first line, fit for a one-line error."""


def _git(args: list[str], cwd: Path) -> bytes:
    import subprocess  # here, as below: `owners who` finds its checkout without git

    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if done.returncode != 0:
        raise _failure(done.stderr, args[0])
    return done.stdout


def _failure(stderr: bytes, command: str) -> GitError:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return GitError(lines[0] if lines else f"git {command} failed")


def repo_root(start: Path) -> Path | None:
    """The top level of the checkout around `start` (see `checkout`)."""
    found = checkout(start)
    return found[0] if found is not None else None


def checkout(start: Path) -> tuple[Path, Path] | None:
    """The top level and the git folder of the checkout around `start`.

    Found as git finds them, by looking for `.git` (a folder, or a file naming the folder as
    a worktree's and a submodule's do) in `start` and each folder above it, without starting
    git: every checkout command begins here, and a git process costs more than the answer.
    The variables that change git's search (GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES,
    GIT_DISCOVERY_ACROSS_FILESYSTEM) hand the question to git itself.
    """
    if any(name in os.environ for name in _DISCOVERY_VARIABLES):
        return _checkout_by_git(start)
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return folder, dot_git
        if dot_git.is_file():
            git_dir = _linked_git_dir(dot_git)
            return (folder, git_dir) if git_dir is not None else _checkout_by_git(start)
    return None


_DISCOVERY_VARIABLES = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)  # fmt: skip


def _linked_git_dir(dot_git: Path) -> Path | None:
    """The folder a `.git` file names (`gitdir: PATH`, relative to the file's folder)."""
    try:
        first = dot_git.read_text(errors="surrogateescape").partition("\n")[0]
    except OSError:
        return None
    if not first.startswith("gitdir: "):
        return None
    git_dir = (dot_git.parent / first.removeprefix("gitdir: ").strip()).resolve()
    return git_dir if git_dir.is_dir() else None


def _checkout_by_git(start: Path) -> tuple[Path, Path] | None:
    try:
        out = _git(["rev-parse", "--show-toplevel", "--absolute-git-dir"], start)
    except GitError:
        return None
    top, folder = out.splitlines()[:2]
    return Path(os.fsdecode(top)), Path(os.fsdecode(folder))


def tracked_files(root: Path, untracked: bool = False, paths: Sequence[str] = ()) -> list[str]:
    """The checkout's files as `git ls-files` lists them (those of `paths` alone, when
    given); with `untracked`, also the files not yet added (those .gitignore leaves out
    aside): the files on disk a user sees."""
    more = ["--cached", "--others", "--exclude-standard"] if untracked else []
    literal = [f":(literal){p}" for p in paths]
    out = _git(["ls-files", "-z", *more, "--", *literal], root)
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


def upstream_of_head(root: Path) -> str:
    """The upstream branch of HEAD (`origin/master`), or a GitError saying there is none."""
    try:
        out = _git(["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"], root)
    except GitError as exc:
        raise GitError(
            "the current branch has no upstream; pass a range such as origin/master..HEAD"
        ) from exc
    return out.decode().strip()


def commits_ahead(root: Path, upstream: str) -> int:
    """How many commits HEAD has that `upstream` lacks: what a push would upload."""
    out = _git(["rev-list", "--count", "--end-of-options", f"{upstream}..HEAD", "--"], root)
    return int(out.decode().strip() or 0)


def changed_files(root: Path, revrange: str | None) -> list[ChangedFile]:
    """Files of a revision range, renames with their old path.

    No range means the commits on HEAD that its upstream branch lacks, which is what a
    `git push origin HEAD:refs/for/<branch>` would upload.  A single commit means that commit.
    """
    command = ["diff"]
    if revrange is None:
        spec = [f"{upstream_of_head(root)}...HEAD"]
    elif ".." in revrange:
        spec = [revrange]
    else:  # one commit, against its first parent; diff-tree also handles a root commit
        spec = [revrange]
        command = ["diff-tree", "-r", "--root", "--no-commit-id", "-m", "--first-parent"]
    return _name_status(
        _git([*command, "--name-status", "-z", "-M", "--no-color", *spec, "--"], root)
    )


EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # what git diffs a first commit with


def worktree_files(root: Path) -> list[ChangedFile]:
    """The uncommitted edits of the checkout, staged or not, against HEAD (against nothing
    before the first commit); files never added are not part of them, as for `git commit -a`."""
    try:
        _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root)
        base = "HEAD"
    except GitError:
        base = EMPTY_TREE
    return _name_status(_git(["diff", "--name-status", "-z", "-M", "--no-color", base, "--"], root))


def _name_status(out: bytes) -> list[ChangedFile]:
    """`git diff --name-status -z` output as changed files; a rename keeps its old path."""
    fields = [os.fsdecode(f) for f in out.split(b"\0")]
    from owners.engine.change import ChangedFile  # here: `owners who` never needs it

    files: list[ChangedFile] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if status[0] == "R":
            files.append(ChangedFile(fields[i + 2], old_path=fields[i + 1]))
            i += 3
        elif status[0] == "C":
            files.append(ChangedFile(fields[i + 2]))
            i += 3
        else:
            files.append(ChangedFile(fields[i + 1]))
            i += 2
    return files


def git_dir(repo: Path) -> Path:
    """The repository's git folder; works for bare repositories, which have no top level."""
    out = _git(["rev-parse", "--absolute-git-dir"], repo)
    return Path(os.fsdecode(out.strip()))


def read_blob(repo: Path, rev: str, path: str) -> tuple[bytes, str]:
    """A file's bytes at a revision, with the full commit id it was read from."""
    commit = _git(["rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}"], repo)
    sha = commit.decode().strip()
    return _git(["cat-file", "blob", f"{sha}:{path}"], repo), sha


def files_at(repo: Path, commit: str) -> Callable[[str], bytes | None]:
    """Reads files at a commit, as `include:` names them (relative to the root): None for a
    path the commit does not hold, so a missing included file is the config's error."""

    def read(path: str) -> bytes | None:
        try:
            return _git(["cat-file", "blob", f"{commit}:{path}"], repo)
        except GitError:
            return None

    return read


def commit_paths(repo: Path, revrange: str) -> Iterator[list[str]]:
    """The paths each non-merge commit of a range touched, streamed from one `git log`.

    Renames are split into the deleted and the added path, as `git log -- PATH` sees them.
    Parsing overlaps git's own work, which matters on histories of 100,000 commits.
    """
    for _, paths in _log(repo, revrange, ["--no-merges"], "%H"):
        yield paths


@dataclass(frozen=True, slots=True)
class LoggedCommit:
    """A commit with what tells when it was written and when it landed: its parents (the
    first is the branch it landed on), its author and committer times (Unix seconds), and
    whether Gerrit stamped a `Reviewed-on:` trailer into it at submit."""

    sha: str
    parents: tuple[str, ...]
    authored: int
    committed: int
    reviewed_on: bool
    paths: list[str]


def logged_commits(repo: Path, revrange: str) -> Iterator[LoggedCommit]:
    """Every commit of a range, merges too (without files), newest first, from one `git log`;
    a non-merge commit's paths as `commit_paths` gives them."""
    trailer = "%(trailers:key=Reviewed-on,valueonly,separator=%x20)"
    for header, paths in _log(repo, revrange, [], f"%H %at %ct %P%x1f{trailer}"):
        fields, _, reviewed = header.partition("\x1f")
        sha, authored, committed, *parents = fields.split()
        yield LoggedCommit(
            sha, tuple(parents), int(authored), int(committed), bool(reviewed.strip()), paths
        )


def _log(
    repo: Path, revrange: str, options: list[str], header: str
) -> Iterator[tuple[str, list[str]]]:
    """Each commit's `header` (a `--format` without NUL or newline) and its paths."""
    command = [
        "git", "log", *options, "--no-renames", "--name-only", "-z", f"--format=%x00{header}",
        "--end-of-options", revrange, "--",
    ]  # fmt: skip
    import subprocess
    import tempfile  # here: only reading history needs it, and it is slow to import

    with tempfile.TemporaryFile() as errors:  # not a pipe: git must never block on stderr
        try:
            process = subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=errors)
        except FileNotFoundError as exc:
            raise GitError("git is not installed") from exc
        with process:
            assert process.stdout is not None
            yield from _log_records(process.stdout)
        if process.returncode != 0:
            errors.seek(0)
            raise _failure(errors.read(), "log")


def _log_records(stream: IO[bytes]) -> Iterator[tuple[str, list[str]]]:
    """Split `git log -z --name-only --format=%x00HEADER` output into each commit's header
    and paths.

    A commit is b"\0<header>\0" then, when it touched files, b"\n<path>\0<path>\0..."; the
    empty field before a header is the boundary, since a path is never empty.
    """
    header = ""
    paths: list[str] | None = None
    pending = b""
    expect_header = False
    while chunk := stream.read(1 << 20):
        fields = (pending + chunk).split(b"\0")
        pending = fields.pop()
        for field in fields:
            if expect_header:
                header = field.decode(errors="replace")
                expect_header = False
            elif not field:
                if paths is not None:
                    yield header, paths
                paths = []
                expect_header = True
            elif paths is not None:
                # only the first path carries the separating newline; a later one may begin
                # with a newline of its own
                paths.append(os.fsdecode(field[1:] if not paths else field))
    if paths is not None:
        yield header, paths
