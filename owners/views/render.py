"""What the CLI prints: the stable JSON shapes scripts rely on, and short aligned text.

Kept apart from the commands so the contract is in one place and the text can be tested
without running a command.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from owners.engine.model import Mode
from owners.wording import plural, requirement_name, requirement_state

if TYPE_CHECKING:
    from owners.engine import (
        Diagnostic,
        Evaluation,
        OwnersConfig,
        Ownership,
        Policy,
        RequirementResult,
    )
    from owners.engine.coverage import Coverage
    from owners.engine.explanation import PathExplanation
    from owners.insight.history import RangeStats
    from owners.insight.waits import RangeWaits, Spread

Json = dict[str, object]


def who_json(ownership: Ownership, paths: Iterable[str]) -> list[Json]:
    return [
        {
            "path": path,
            "requirements": [requirement_json(ownership, n) for n in ownership.requirements(path)],
        }
        for path in paths
    ]


def requirement_json(ownership: Ownership, name: str) -> Json:
    """One requirement as `who --json` and the web API show it (one shape, so they agree)."""
    return {
        "subsystem": name,
        "mode": str(ownership.config.subsystem(name).mode),
        "approvals": ownership.config.subsystem(name).approvals,
        "eligible": list(ownership.eligible(name)),
    }


def who_text(ownership: Ownership, paths: Iterable[str]) -> str:
    rows = []
    for path in paths:
        for i, name in enumerate(ownership.requirements(path)):
            sub = ownership.config.subsystem(name)
            mode = "" if sub.mode is Mode.ENFORCE else " (advisory)"
            rows.append(
                (
                    path if i == 0 else "",
                    f"{name}{mode}",
                    f"{sub.approvals} of",
                    ", ".join(ownership.eligible(name)),
                )
            )
    return table(rows)


def _requirement_json(req: RequirementResult) -> Json:
    return {
        "subsystem": req.subsystem,
        "mode": str(req.mode),
        "met": req.met,
        "approved_by": list(req.approved_by),
        "missing": req.missing,
        "vetoed_by": list(req.vetoed_by),
        "files": list(req.files),
    }


def check_json(evaluation: Evaluation) -> Json:
    data: Json = {
        "verdict": str(evaluation.verdict),
        "requirements": [_requirement_json(r) for r in evaluation.requirements],
        "suggested_reviewers": list(evaluation.suggested_reviewers),
    }
    if evaluation.unresolved_groups:
        data["unresolved_groups"] = list(evaluation.unresolved_groups)
    if evaluation.waived:
        data["waived"] = evaluation.waived
    return data


def check_text(evaluation: Evaluation) -> str:
    rows = []
    for req in evaluation.requirements:
        mark = "ok" if req.met and not req.vetoed_by else "--"
        status = f"{len(req.approved_by)}/{req.approvals}"
        files = f"{len(req.files)} {plural(len(req.files), 'file')}"
        rows.append((mark, requirement_name(req), status, files, requirement_state(req)))
    lines = [str(evaluation.verdict), table(rows)]
    if evaluation.suggested_reviewers:
        lines.append("suggested reviewers: " + ", ".join(evaluation.suggested_reviewers))
    if evaluation.unresolved_groups:
        lines.append("not resolved without Gerrit: " + ", ".join(evaluation.unresolved_groups))
    if evaluation.waived:
        lines.append(f"no owner approval needed: {evaluation.waived} (vetoes still block)")
    return "\n".join(lines)


def validate_text(config: OwnersConfig | None, diagnostics: Sequence[Diagnostic]) -> str:
    """Each problem on its line, then, for a valid file, what it holds: silence would not
    tell a passing run from one that read nothing."""
    lines = [str(d) for d in diagnostics]
    if config is not None:
        patterns = sum(len(s.paths) for s in config.subsystems)
        warnings = (
            f" ({len(diagnostics)} {plural(len(diagnostics), 'warning')})" if diagnostics else ""
        )
        lines.append(
            f"OK: {len(config.subsystems)} {plural(len(config.subsystems), 'subsystem')}, "
            f"{patterns} {plural(patterns, 'pattern')}{warnings}"
        )
    return "\n".join(lines)


def explain_json(explanation: PathExplanation) -> Json:
    return {
        "path": explanation.path,
        "matches": [
            {
                "subsystem": m.subsystem,
                "pattern": m.pattern,
                "location": str(m.location),
                "decisive": m.decisive,
            }
            for m in explanation.matches
        ],
        "superseded": [{"subsystem": a, "by": b} for a, b in explanation.superseded],
        "requirements": [
            {
                "subsystem": r.subsystem,
                "mode": str(r.mode),
                "approvals": r.approvals,
                "chain": list(r.chain),
                "stopped_by_noparent": r.stopped_by_noparent,
                "enforces_for": r.enforces_for,
                "approvers": [
                    {"identity": a.identity, "subsystem": a.subsystem, "via": list(a.via)}
                    for a in r.approvers
                ],
            }
            for r in explanation.requirements
        ],
    }


def explain_text(explanation: PathExplanation) -> str:
    lines = [explanation.path]
    if not explanation.matches:
        lines.append("  no pattern matches: the file belongs to root")
    for m in explanation.matches:
        verdict = "decides" if m.decisive else "overridden by a later pattern"
        lines.append(f"  {m.location}: '{m.pattern}' of {m.subsystem} ({verdict})")
    for ancestor, nearer in explanation.superseded:
        lines.append(f"  {ancestor} is an ancestor of {nearer}: the nearer subsystem wins")
    for r in explanation.requirements:
        mode = "" if r.mode is Mode.ENFORCE else ", advisory: reported, never blocks"
        stands_in = f", enforcing for advisory {r.enforces_for}" if r.enforces_for else ""
        lines.append(f"requirement {r.subsystem}: {r.approvals} approval(s){mode}{stands_in}")
        chain = " -> ".join(r.chain)
        stop = f" (stops: {r.stopped_by_noparent} has noparent)" if r.stopped_by_noparent else ""
        lines.append(f"  approval chain: {chain}{stop}")
        rows = []
        for a in r.approvers:
            why = "owner" if a.subsystem == r.subsystem else "ancestor owner"
            via = " via " + " > ".join(a.via) if a.via else ""
            rows.append(("   ", a.identity, f"{why} of {a.subsystem}{via}"))
        lines.append(table(rows))
    return "\n".join(lines)


def exceptions(policy: Policy) -> dict[str, Any]:
    """The opt-in exceptions the file turns on (docs/format.md, "Exceptions"), as written."""
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in policy.exceptions_in_effect().items()
    }


def exceptions_text(policy: Policy) -> str:
    """One line naming the exceptions in effect, or nothing when there are none."""
    found = exceptions(policy)
    if not found:
        return ""
    shown = {
        k: "true" if v is True else ", ".join(v) if isinstance(v, list) else v
        for k, v in found.items()
    }
    return "exceptions in effect: " + "; ".join(f"{k}: {v}" for k, v in shown.items())


def diagnostics_json(diagnostics: Sequence[Diagnostic]) -> list[Json]:
    return [
        {
            "file": d.location.file,
            "line": d.location.line,
            "column": d.location.column,
            "severity": str(d.severity),
            "message": d.message,
            "hint": d.hint,
        }
        for d in diagnostics
    ]


def coverage_json(result: Coverage) -> Json:
    return {
        "total_files": result.total_files,
        "subsystems": [
            {"subsystem": name, "files": count} for name, count in result.files_by_subsystem.items()
        ],
        "root_only": list(result.root_only),
    }


def coverage_text(result: Coverage) -> str:
    rows = [(name, str(count)) for name, count in result.files_by_subsystem.items()]
    lines = [f"{result.total_files} files", table(rows)]
    only = result.root_only
    lines.append(f"{len(only)} files only root owns" + (":" if only else ""))
    lines.extend(f"  {path}" for path in only)
    return "\n".join(lines)


def table(rows: Sequence[Sequence[object]], align_right: bool = False) -> str:
    """Aligned columns; with `align_right` every column but the first is right-aligned."""
    if not rows:
        return ""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]

    def cell(i: int, value: object) -> str:
        if align_right and i > 0:
            return str(value).rjust(widths[i])
        return str(value).ljust(widths[i])

    return "\n".join("  ".join(cell(i, v) for i, v in enumerate(row)).rstrip() for row in rows)


def _stats_rows(results: Sequence[RangeStats]) -> list[tuple[str, list[int]]]:
    """The figures of `owners stats`, one row each, ranges as columns."""
    names = list(results[0].subsystems) if results else []
    return [
        ("commits", [r.commits for r in results]),
        *((f"subsystem:{name}", [r.subsystems[name] for r in results]) for name in names),
        ("root_only", [r.root_only for r in results]),
        ("cross", [r.cross for r in results]),
    ]


def _has_waits(figure: str) -> bool:
    """Whether a count has waits beside it: all commits' and each subsystem's have."""
    return figure == "commits" or figure.startswith("subsystem:")


def _spread_of(waits: RangeWaits, figure: str) -> Spread | None:
    """The waits beside a count; None for a row without them or a subsystem without commits."""
    if figure == "commits":
        return waits.commits
    if figure.startswith("subsystem:"):
        return waits.subsystems[figure.removeprefix("subsystem:")]
    return None


def _spread_json(spread: Spread | None) -> Json | None:
    return None if spread is None else {"median": spread.median, "p75": spread.p75}


def stats_json(
    results: Sequence[RangeStats], source: str, waits: Sequence[RangeWaits] | None = None
) -> Json:
    ranges = []
    for i, r in enumerate(results):
        one: dict[str, Any] = {
            "range": r.revrange,
            "commits": r.commits,
            "subsystems": dict(r.subsystems),
            "root_only": r.root_only,
            "cross": r.cross,
        }
        if waits is not None:
            w = waits[i]
            one["waits"] = {
                "commits": _spread_json(w.commits),
                "subsystems": {name: _spread_json(s) for name, s in w.subsystems.items()},
                "landed_by": dict(w.landed_by),
            }
        ranges.append(one)
    return {"config": source, "ranges": ranges}


def stats_csv(results: Sequence[RangeStats], waits: Sequence[RangeWaits] | None = None) -> str:
    import csv  # here: only `owners stats --csv` needs it

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["figure", *(r.revrange for r in results)])
    rows = _stats_rows(results)
    for figure, counts in rows:
        writer.writerow([figure, *counts])
    if waits is not None:
        for figure in (figure for figure, _ in rows if _has_waits(figure)):
            spreads = [_spread_of(w, figure) for w in waits]
            writer.writerow([f"wait_median:{figure}", *(s and f"{s.median:.0f}" for s in spreads)])
            writer.writerow([f"wait_p75:{figure}", *(s and f"{s.p75:.0f}" for s in spreads)])
        for how in waits[0].landed_by if waits else ():
            writer.writerow([f"landed_by:{how}", *(w.landed_by[how] for w in waits)])
    return out.getvalue()


def stats_text(
    results: Sequence[RangeStats],
    source: str,
    ownership: Ownership,
    waits: Sequence[RangeWaits] | None = None,
) -> str:
    def label(figure: str) -> str:
        if figure.startswith("subsystem:"):
            name = figure.removeprefix("subsystem:")
            advisory = ownership.config.subsystem(name).mode is Mode.ADVISORY
            return f"  {name}" + (" (advisory)" if advisory else "")
        return STATS_LABELS[figure]

    if waits is None:
        header = ("", *(r.revrange for r in results))
        rows = [
            (label(figure), *(f"{n:,}" for n in counts)) for figure, counts in _stats_rows(results)
        ]
        return f"ownership map: {source}\n" + table([header, *rows], align_right=True)
    header = ("", *(cell for r in results for cell in (r.revrange, "", "")))
    columns = ("", *(("commits", "median", "p75") * len(results)))
    rows = []
    for figure, counts in _stats_rows(results):
        cells: list[str] = []
        for n, w in zip(counts, waits, strict=True):
            spread = _spread_of(w, figure)
            cells.append(f"{n:,}")
            if spread is None:
                cells.extend(("", ""))
            else:
                cells.extend((_duration(spread.median), _duration(spread.p75)))
        rows.append((label(figure), *cells))
    for how in waits[0].landed_by if waits else ():
        cells = [cell for w in waits for cell in (f"{w.landed_by[how]:,}", "", "")]
        rows.append((LANDED_LABELS[how], *cells))
    return (
        f"ownership map: {source}\n"
        "waits: author date to landing, median and 75th percentile (see docs/cli.md)\n"
        + table([header, columns, *rows], align_right=True)
    )


def _duration(seconds: float) -> str:
    """A wait as people say it: hours under a day, days above."""
    if seconds < 86_400:
        return f"{seconds / 3_600:.1f}h"
    return f"{seconds / 86_400:.1f}d"


STATS_LABELS = {
    "commits": "commits (no merges)",
    "root_only": "touching root-only paths",
    "cross": "needing 2+ requirements",
}
LANDED_LABELS = {
    "merge": "landed by a merge commit",
    "reviewed_on": "landed with Reviewed-on",
    "committer_date": "landed, no sign of submit",
}
