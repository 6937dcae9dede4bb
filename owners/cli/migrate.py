"""Commands that move ownership between formats: import (with --check) and export."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from owners.cli.base import cli, config_option, parse_ownership, read_file
from owners.console import CliError, emit, json_option
from owners.engine import CONFIG_PATH
from owners.gitrepo import repo_root, tracked_files
from owners.migrate import FORMATS, SourceError, compare, export_codeowners
from owners.migrate.common import Imported, Requirement


def _checkout(path: str | None) -> tuple[Path, str | None]:
    """The repository to read and, when PATH names a file, that file relative to it."""
    target = Path(path or ".")
    if not target.exists():
        raise CliError(f"{target}: no such file or directory")
    start = target.parent if target.is_file() else target
    root = repo_root(start.resolve())
    if root is None:
        raise CliError(f"{target}: not in a git checkout")
    if target.is_file():
        return root, target.resolve().relative_to(root.resolve()).as_posix()
    return root, None


def _reader(root: Path):
    def read(relative: str) -> str | None:
        try:
            return (root / relative).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise CliError(f"{relative}: {exc.strerror}") from None

    return read


def _requirements_json(answer: frozenset[Requirement]) -> list[dict]:
    return [
        {"eligible": list(r.eligible), "approvals": r.approvals, "blocking": r.blocking}
        for r in sorted(answer)
    ]


@cli.command("import", short_help="Write OWNERS.yaml from CODEOWNERS or OWNERS files.")
@click.option(
    "--from", "fmt", required=True, type=click.Choice(sorted(FORMATS)), help="Source format."
)
@click.argument("path", required=False)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    show_default=f"the checkout's {CONFIG_PATH}",
    help="Where to write; - for stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option(
    "--root",
    "root",
    multiple=True,
    metavar="OWNER",
    help="Root's owners when the source has no top-level owners (repeatable).",
)
@click.option(
    "--check",
    "check",
    is_flag=True,
    help="Compare the source with an OWNERS.yaml over git ls-files instead of writing.",
)
@config_option
@json_option
def import_(
    fmt: str,
    path: str | None,
    output: str | None,
    force: bool,
    root: Sequence[str],
    check: bool,
    config: str | None,
    as_json: bool,
) -> None:
    """Write an OWNERS.yaml from a CODEOWNERS file or OWNERS files (PATH: the checkout or
    the file), with a note on stderr for each feature that has no equivalent."""
    repo, source = _checkout(path)
    tree = tracked_files(repo)
    try:
        imported = FORMATS[fmt](_reader(repo), tree, source, tuple(root))
    except SourceError as exc:
        raise CliError(str(exc)) from None
    if check:
        _check(imported, repo, tree, config, as_json)
        return
    if config:
        raise click.UsageError("--config goes with --check; use -o to name the output")
    parse_ownership(imported.config, "the imported OWNERS.yaml")  # never write an invalid file
    target = output or str(repo / CONFIG_PATH)
    if target != "-" and os.path.exists(target) and not force:
        raise CliError(f"{target} exists; pass --force to overwrite it")
    for note in imported.notes:
        click.echo(f"note: {note}", err=True)
    if target == "-":
        click.echo(imported.config, nl=False)
    else:
        Path(target).write_text(imported.config, encoding="utf-8")
    if as_json:
        emit(True, {"written": target, "notes": [str(n) for n in imported.notes]}, str)
    elif target != "-":
        click.echo(
            f"wrote {os.path.relpath(target)} from {', '.join(imported.sources[:3])}"
            + (f" and {len(imported.sources) - 3} more" if len(imported.sources) > 3 else "")
            + f"; {len(imported.notes)} notes",
            err=True,
        )


def _check(
    imported: Imported, repo: Path, tree: list[str], config: str | None, as_json: bool
) -> None:
    config_file = Path(config) if config else repo / CONFIG_PATH
    ownership = parse_ownership(read_file(config_file), os.path.relpath(config_file))
    differences = list(compare(ownership, imported.answer, tree))
    compared = sum(1 for p in tree if p != CONFIG_PATH)
    data = {
        "compared": compared,
        "differences": [
            {
                "path": d.path,
                "source": _requirements_json(d.source),
                "ours": _requirements_json(d.ours),
            }
            for d in differences
        ],
    }
    emit(
        as_json,
        data,
        lambda: "\n".join(
            [str(d) for d in differences]
            + [f"{compared} paths compared, {len(differences)} differ"]
        ),
    )
    if differences:
        sys.exit(1)


@cli.command(short_help="Write a CODEOWNERS file from OWNERS.yaml.")
@click.option(
    "--to", "fmt", required=True, type=click.Choice(["codeowners"]), help="Target format."
)
@click.option(
    "-o", "--output", metavar="FILE", show_default="stdout", help="Where to write; - for stdout."
)
@click.option(
    "--org", metavar="ORG", help="GitHub/GitLab organisation for gerrit: groups (@ORG/group)."
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@config_option
def export(fmt: str, output: str | None, org: str | None, force: bool, config: str | None) -> None:
    """Write a CODEOWNERS file from OWNERS.yaml, with a header listing what it cannot express."""
    from owners.cli.local import Workspace

    ws = Workspace.find(config)
    tree = ws.tree() if ws.root is not None else None
    text = export_codeowners(ws.ownership, tree, org)
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    if os.path.exists(output) and not force:
        raise CliError(f"{output} exists; pass --force to overwrite it")
    Path(output).write_text(text, encoding="utf-8")
