"""``promo analyze``: what a ruleset can do before it goes live.

Rules and coupons that can never act, the worst-case share of a line all discounts can
take, and a witness basket the engine really priced, printed as an ``example`` block to
paste into the file. The analysis itself is :mod:`engine.analysis` (pure); this module
reads files, prints and picks the exit code: 1 for a ruleset that does not check or whose
worst case exceeds its ``max_discount``, else 0 (findings are warnings).
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from server.cli.base import (
    EXIT_FAILED,
    EXIT_OK,
    Failure,
    UsageError,
    arg,
    command,
    compile_path,
    expand_programme_paths,
    render_errors,
)

__all__ = ["run_analyze"]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of: not a date: {text!r} (write 2026-11-30)") from None


@command(
    "analyze",
    "find rules and coupons that can never act, and the worst case a basket can reach",
    arg(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a programme folder (programme.rules + campaign files), a *.rules file, or a directory of them",
    ),
    arg("--as-of", metavar="DATE", help="today, for windows already over (default: today)"),
    arg("--json", action="store_true", help="print one JSON object per file instead of text"),
)
def run_analyze(args: argparse.Namespace) -> int:
    from engine.analysis import analyze, ceiling_error, describe_bound, example_block, reach_text
    from engine.analysis.worst import percent

    as_of = _day(args.as_of) if args.as_of else date.today()
    status = EXIT_OK
    for path in expand_programme_paths(args.paths):
        try:
            compiled = compile_path(path)
        except Failure as exc:
            print(str(exc), end="\n\n")
            print(f"{path}: does not check; run `promo check {path}`")
            status = EXIT_FAILED
            continue
        result = analyze(compiled, as_of=as_of)
        if result.over_ceiling:
            status = EXIT_FAILED
        w = result.witness
        if args.json:
            print(json.dumps(_as_json(path, result, w, percent), ensure_ascii=False))
            continue
        problems = [ceiling_error(result)] if result.over_ceiling else []
        if problems or result.findings:
            print(render_errors([*problems, *result.findings]), end="\n\n")
        print(f"{path}: worst case {percent(result.bound.share)} of a line's amount")
        print(f"  compounds: {describe_bound(result.bound)}")
        print(f"  {reach_text(result)}")
        if w is not None:
            print("  the witness basket, to paste into the ruleset:")
            print("\n".join("    " + line for line in example_block(w).splitlines()))
        print(f"{path}: {len(result.findings)} finding(s)")
    return status


def _as_json(path: str, result, w, percent) -> dict:  # type: ignore[no-untyped-def]
    from engine.analysis import example_block

    return {
        "file": path,
        "findings": [
            {
                "kind": f.kind,
                "subject": f.subject,
                "message": f.message,
                "line": f.span.line if f.span else None,
                "column": f.span.column if f.span else None,
                "hint": f.hint,
            }
            for f in result.findings
        ],
        "worst_case": {
            "share": str(result.bound.share),
            "percent": percent(result.bound.share),
            "steps": [[source, str(share)] for source, share in result.bound.steps],
            "max_discount": None if result.ceiling is None else str(result.ceiling),
            "over_max_discount": result.over_ceiling,
        },
        "witness": None
        if w is None
        else {
            "line": w.line,
            "amount_fen": w.amount,
            "discount_fen": w.discount,
            "share": str(w.share),
            "reaches_bound": result.reached,
            "example": example_block(w),
        },
    }
