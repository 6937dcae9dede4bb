"""Prow OWNERS files (Kubernetes): parsed, answered by Prow's rules, converted.

Prow's rule (pkg/repoowners, `entriesForFile`): a file's approvers are the `approvers` of
the OWNERS file in its directory and of every ancestor directory's, walking up to the root
or until an OWNERS file with `options: {no_parent_owners: true}` once some approvers have
been found (so one without approvers of its own for the file does not stop the walk);
`filters` add approvers for files whose path relative to the OWNERS file's directory
matches a regular expression.  Names are GitHub logins, normalised as `NormLogin` does
(lower-cased, one leading `@` removed: `@Bob` is `bob`); OWNERS_ALIASES at the root names
lists.  Reviewers are suggested, never approve.  One approval is needed.

Conversion: a subsystem per directory with approvers, parented to the nearest ancestor
directory's; `no_parent_owners` is `noparent`; aliases become groups; simple filters
(a file-name suffix such as `\\.go$`, or `.*`) become subsystems under their directory.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import yaml

from owners.migrate.common import (
    ROOT_NOTE,
    Answer,
    ConfigWriter,
    Imported,
    Note,
    Requirement,
    SourceError,
)
from owners.migrate.tree import (
    DirectoryTree,
    cut_off,
    directories_up,
    owners_files,
    root_owners,
    under,
)

ALIASES_FILE = "OWNERS_ALIASES"
_SUFFIX = re.compile(r"(?:\.\*)?\\\.([A-Za-z0-9_+-]+)\$\Z")  # \.go$ or .*\.go$
_EVERYTHING = {"", ".*"}
_UNSUPPORTED = ("labels", "required_reviewers", "emeritus_approvers")


@dataclass
class ProwFile:
    path: str
    directory: str
    approvers: tuple[str, ...]
    no_parent: bool
    filters: list[tuple[re.Pattern[str], tuple[str, ...], str, int]] = field(default_factory=list)


def _line_of(text: str, key: str) -> int:
    match = re.search(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*:", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _login(value: object) -> str:
    """Prow's `github.NormLogin`: lower-cased, without one leading `@`."""
    return str(value).strip().lower().removeprefix("@")


def _names(value: object) -> tuple[str, ...]:
    """Logins of a list (or, in OWNERS_ALIASES, of a flow mapping's keys, as Prow reads it)."""
    if isinstance(value, dict):
        value = list(value)
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(n for n in map(_login, value) if n))


def _load(text: str, path: str, notes: list[Note]) -> dict | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        notes.append(
            Note(path, mark.line + 1 if mark else 1, "not valid YAML: file ignored, as Prow does")
        )
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        notes.append(Note(path, 1, "not a mapping: file ignored, as Prow does"))
        return None
    return data


def parse(
    read: Callable[[str], str | None], tree: Sequence[str]
) -> tuple[dict[str, ProwFile], dict[str, tuple[str, ...]], list[Note]]:
    notes: list[Note] = []
    aliases: dict[str, tuple[str, ...]] = {}
    alias_text = read(ALIASES_FILE)
    if alias_text is not None:
        data = _load(alias_text, ALIASES_FILE, notes) or {}
        raw = data.get("aliases") or {}
        if isinstance(raw, dict):
            aliases = {_login(k): _names(v) for k, v in raw.items()}
    files: dict[str, ProwFile] = {}
    for path in owners_files(tree):
        text = read(path) or ""
        data = _load(text, path, notes)
        if data is None:
            continue
        directory = posixpath.dirname(path)
        options = data.get("options") or {}
        prow = ProwFile(
            path,
            directory,
            _names(data.get("approvers")),
            bool(isinstance(options, dict) and options.get("no_parent_owners")),
        )
        for key in _UNSUPPORTED:
            if data.get(key):
                notes.append(
                    Note(path, _line_of(text, key), f"'{key}' has no equivalent: not imported")
                )
        if data.get("reviewers"):
            notes.append(
                Note(
                    path,
                    _line_of(text, "reviewers"),
                    "reviewers do not approve in Prow: not imported (OWNERS.yaml suggests owners)",
                )
            )
        if isinstance(options, dict) and options.get("auto_approve_unowned_subfolders"):
            notes.append(
                Note(
                    path,
                    _line_of(text, "auto_approve_unowned_subfolders"),
                    "auto_approve_unowned_subfolders has no equivalent: ignored",
                )
            )
        filters = data.get("filters") or {}
        for regex, body in filters.items() if isinstance(filters, dict) else ():
            line = _line_of(text, str(regex))
            approvers = _names((body or {}).get("approvers")) if isinstance(body, dict) else ()
            try:
                compiled = re.compile(str(regex))
            except re.error:
                notes.append(
                    Note(
                        path,
                        line,
                        f"filter '{regex}' is not a regular expression: ignored, as Prow does",
                    )
                )
                continue
            if approvers:
                prow.filters.append((compiled, approvers, str(regex), line))
        files[directory] = prow
    return files, aliases, notes


def source_answer(
    files: dict[str, ProwFile], aliases: dict[str, tuple[str, ...]]
) -> Callable[[str], Answer]:
    def expand(names: tuple[str, ...]) -> set[str]:
        return {m for n in names for m in aliases.get(n, (n,))}

    def answer(path: str) -> Answer:
        approvers: set[str] = set()
        for directory in directories_up(path):
            prow = files.get(directory)
            if prow is None:
                continue
            relative = posixpath.relpath(path, directory or ".")
            approvers |= expand(prow.approvers)
            for regex, people, _, _ in prow.filters:
                if regex.search(relative):
                    approvers |= expand(people)
            if prow.no_parent and approvers:  # Prow: `NoParentOwners && out.Len() > 0`
                break
        return frozenset({Requirement.of(approvers)}) if approvers else frozenset()

    return answer


def convert(
    files: dict[str, ProwFile],
    aliases: dict[str, tuple[str, ...]],
    root: tuple[str, ...],
    notes: list[Note],
) -> str:
    top = files.get("")
    owners, real = root_owners(_approvers(top) if top else (), root)
    writer = ConfigWriter(
        "Imported from Prow OWNERS files by 'owners import'; each subsystem names its file.\n"
        "A directory's subsystem has the nearest ancestor directory's as parent.",
        owners,
        "" if real else "TODO: name the core team; the source has no root approvers",
    )
    writer.groups = dict(aliases)
    if not real:
        notes.insert(0, Note("OWNERS", 0, ROOT_NOTE))
    dirs = DirectoryTree(writer, real, {})
    stops = {d for d, prow in files.items() if d and _approvers(prow) and _stops(d, files)}
    for directory, prow in files.items():
        approvers = _approvers(prow)
        if directory and approvers:
            dirs.add(directory, approvers, prow.path, directory in stops)
        elif directory and prow.no_parent:
            notes.append(
                Note(
                    prow.path,
                    1,
                    "no_parent_owners without approvers: Prow's walk stops only once it has "
                    "approvers, so the parent directories' approve these files, here too",
                )
            )
        for regex, people, text, line in prow.filters:
            if regex.pattern in _EVERYTHING:
                continue
            suffix = _SUFFIX.fullmatch(regex.pattern)
            if suffix is None:
                notes.append(
                    Note(prow.path, line, f"filter '{text}' has no glob equivalent: not imported")
                )
                continue
            hint = f"{directory or 'top'}-{suffix.group(1)}"
            noparent = directory not in dirs.names and _stops(directory, files)
            dirs.add(
                directory,
                people,
                f"{prow.path}:{line}",
                noparent,
                pattern=under(directory, f"*.{suffix.group(1)}"),
                hint=hint,
                parent=dirs.names.get(directory),
                exclude=cut_off(directory, stops),
            )
    return writer.text()


def _stops(directory: str, files: dict[str, ProwFile]) -> bool:
    """Whether Prow's walk up from approvers found in `directory` ends before the nearest
    ancestor with approvers: at its own `no_parent_owners`, or at one of an ancestor
    without approvers of its own (which stops a walk that has found some)."""
    for ancestor in directories_up(directory + "/x"):
        found = files.get(ancestor)
        if found is None:
            continue
        if ancestor != directory and _approvers(found):
            return False
        if found.no_parent:
            return True
    return False


def _approvers(prow: ProwFile) -> tuple[str, ...]:
    """Approvers of every file of the directory: top-level ones and those of a `.*` filter."""
    everything = [a for r, people, _, _ in prow.filters if r.pattern in _EVERYTHING for a in people]
    return tuple(dict.fromkeys([*prow.approvers, *everything]))


def import_prow(
    read: Callable[[str], str | None],
    tree: Sequence[str],
    source: str | None,
    root: tuple[str, ...],
) -> Imported:
    files, aliases, notes = parse(read, tree)
    if not files:
        raise SourceError("no OWNERS files in the checkout")
    config = convert(files, aliases, root, notes)
    return Imported(
        config, notes, source_answer(files, aliases), tuple(p.path for p in files.values())
    )
