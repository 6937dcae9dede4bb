"""Run the benchmarks and rewrite BENCHMARKS.md.

    python -m benchmarks [--quick] [--only NAME ...] [--output BENCHMARKS.md]

--quick runs small sizes and few repetitions (under a minute, for CI) and skips the benchmarks
that start a Gerrit.  The exit status is 1 when resolvers disagree on an answer, never because
of speed.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import (
    cli,
    endtoend,
    evaluation,
    fleet,
    history,
    ingest,
    migration,
    render,
    resolution,
    review,
    submitcheck,
    suggestions,
    web,
)
from benchmarks.stats import Report

BENCHMARKS: dict[str, Callable[[bool], Report]] = {
    "resolution": resolution.run,
    "ingest": ingest.run,
    "evaluation": evaluation.run,
    "endtoend": endtoend.run,
    "history": history.run,
    "migration": migration.run,
    "review": review.run,
    "submitcheck": submitcheck.run,
    "cli": cli.run,
    "web": web.run,
    "fleet": fleet.run,
    "suggestions": suggestions.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[1]
    )
    parser.add_argument("--quick", action="store_true", help="small and fast: a CI smoke run")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME",
                        help=f"run only these: {', '.join(BENCHMARKS)}")  # fmt: skip
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    about = render.machine()
    started = time.monotonic()
    reports = []
    for name, run in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"benchmarks: {name}...", file=sys.stderr, flush=True)
        reports.append(run(args.quick))
    elapsed = time.monotonic() - started
    command = shlex.join(
        ["python", "-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])]
    )
    text = render.markdown(reports, command, about, [f"run time: {elapsed:.0f} s"])
    args.output.write_text(text)
    errors = [error for report in reports for error in report.errors]
    for error in errors:
        print(f"benchmarks: wrong answer: {error}", file=sys.stderr)
    print(f"benchmarks: wrote {args.output} in {elapsed:.0f} s", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
