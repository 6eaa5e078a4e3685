"""``promo eval`` and ``promo invoice``: price a request file against a ruleset file.

These run exactly the path the service will run (JSON -> protobuf -> engine request ->
evaluation -> reply), so a merchandiser or an integrator can try a basket before it
reaches a till. A bad request is one line naming the field; a bad ruleset is the
rendered errors; both exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.errors import InvalidRequest
from engine.invoice.build import build_invoice
from engine.invoice.check import ensure_invoices
from engine.invoice.split import split_invoice
from engine.model import Evaluation, Request
from server._pb.promo.v1 import promo_pb2 as pb
from server.cli.base import EXIT_FAILED, EXIT_OK, Failure, arg, command, compile_path, read_text
from server.sales.invoicing import invoices_or_refusal
from server.wire.reply import evaluation_to_proto, reply_to_json
from server.wire.request import request_from_proto, wire_error
from server.wire.request_json import request_from_json

__all__ = ["evaluate_files", "invoices_or_refusal", "run_eval", "run_invoice"]

_RULESET = arg("--ruleset", required=True, metavar="FILE", help="the *.rules file to price with")
_REQUEST = arg("--request", required=True, metavar="FILE.json", help="the request as JSON; - reads stdin")


@command(
    "eval",
    "price a request (JSON) with a ruleset and print the reply as JSON",
    _RULESET,
    _REQUEST,
    arg("--explain", action="store_true", help="include every line's discounts and the points breakdown"),
)
def run_eval(args: argparse.Namespace) -> int:
    compiled, msg, request, evaluation = evaluate_files(args.ruleset, args.request)
    explain = args.explain or msg.explain
    reply = evaluation_to_proto(
        evaluation,
        invoices_or_refusal(request, evaluation),
        digest=compiled.digest,
        transaction_id=msg.transaction_id,
        explain=explain,
    )
    print(reply_to_json(reply, explain=explain))
    return EXIT_OK


@command(
    "invoice",
    "print the VAT invoice lines (goods and discount lines) for a request",
    _RULESET,
    _REQUEST,
    arg("--format", choices=("table", "json", "csv"), default="table", help="output format (default: table)"),
)
def run_invoice(args: argparse.Namespace) -> int:
    from engine.invoice import render as invoice_render

    _, _, request, evaluation = evaluate_files(args.ruleset, args.request)
    try:
        invoices = ensure_invoices(split_invoice(build_invoice(request, evaluation)), request, evaluation)
    except InvalidRequest as exc:
        raise Failure(_request_error(args.request, wire_error(exc))) from None
    refused = invoices[0].refused
    if refused and args.format != "json":
        raise Failure(f"promo invoice: {refused}")
    if args.format == "json":  # one invoice: its object, as before; a split sale: a list of them
        if len(invoices) == 1:
            data: Any = invoice_render.to_json_dict(invoices[0])
        else:
            data = [invoice_render.to_json_dict(i) | {"number": n} for n, i in enumerate(invoices, 1)]
        text = json.dumps(data, ensure_ascii=False, indent=2)
    elif args.format == "csv":
        text = invoice_render.render_csv_many(invoices)
    else:
        text = "\n".join(
            (f"发票 {n}/{len(invoices)}\n" if len(invoices) > 1 else "") + invoice_render.render_table(i)
            for n, i in enumerate(invoices, 1)
        )
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if refused:  # the JSON says so too ("issued": false)
        print(f"promo invoice: {refused}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def evaluate_files(
    ruleset_path: str, request_path: str
) -> tuple[Any, pb.EvaluateRequest, Request, Evaluation]:
    """Compile the ruleset, read and convert the request, evaluate: what eval and invoice share."""
    compiled = compile_path(ruleset_path)
    text = read_text(request_path, "request")
    where = "stdin" if request_path == "-" else request_path
    try:
        msg = request_from_json(text)
        if msg.ruleset and msg.ruleset != compiled.name:
            raise InvalidRequest(
                "ruleset",
                f"the request asks for ruleset {msg.ruleset!r} but {ruleset_path} is {compiled.name!r}",
            )
        request = request_from_proto(msg)
        evaluation = compiled.evaluate(request)
    except InvalidRequest as exc:
        raise Failure(_request_error(where, wire_error(exc))) from None
    return compiled, msg, request, evaluation


def _request_error(where: str, exc: InvalidRequest) -> str:
    return f"{where}: bad request: {exc.field}: {exc.message}"
