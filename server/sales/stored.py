"""A stored sale: the request its row keeps, and pricing it again exactly as it was committed.

The desk writes a sale's effective request (the ledger's member attributes, coupon codes as the
definitions the engine priced, what budgets had left) so that :func:`reprice` reproduces the
stored reply byte for byte, which is what ``promo audit verify`` checks.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

from google.protobuf import json_format

from engine.compiled import CompiledRuleset
from engine.invoice.build import Invoice
from engine.model import Evaluation
from engine.usage import UsageLeft
from server._pb.promo.v1 import promo_pb2 as pb
from server.sales.pricing import Evaluator, default_evaluate, price
from server.storage.results import CommitResult
from server.wire.ledger import PresentedCoupons
from server.wire.reply import evaluation_to_proto
from server.wire.request import request_from_proto

__all__ = ["compact_json", "reply_of", "reprice", "result_json", "stored_reply", "stored_request_json"]


def reply_of(
    compiled: CompiledRuleset,
    evaluation: Evaluation,
    invoices: tuple[Invoice, ...] | None,
    presented: PresentedCoupons,
    transaction_id: str,
    explain: bool,
) -> tuple[pb.EvaluateReply, tuple[str, ...]]:
    reply = evaluation_to_proto(
        evaluation, invoices, digest=compiled.digest, transaction_id=transaction_id, explain=explain
    )
    reply.drafts_applied = compiled.applies_drafts
    return reply, tuple(presented.relabel(reply))


def stored_request_json(
    effective: pb.EvaluateRequest, presented: PresentedCoupons, usage: UsageLeft | None
) -> str:
    """What a sale row keeps as its request: the effective request and the coupon resolution."""
    data: dict[str, Any] = {
        "request": json_format.MessageToDict(effective),
        "coupons": presented.to_json(),
    }
    if usage is not None:  # what budgets and limits had left: audit verify prices within it again
        data["usage"] = {"blocked": dict(usage.blocked), "money_left": dict(usage.money_left)}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def reprice(
    compiled: CompiledRuleset, stored_request: str, evaluate: Evaluator = default_evaluate
) -> tuple[pb.EvaluateReply, list[pb.Invoice]]:
    """Price a stored sale again exactly as it was committed: the reply and the invoices it gets now."""
    data = json.loads(stored_request)
    effective = pb.EvaluateRequest()
    json_format.ParseDict(data["request"], effective)
    presented = PresentedCoupons.from_json(data["coupons"])
    basket = request_from_proto(effective)
    if "usage" in data:
        left = data["usage"]
        basket = dataclasses.replace(basket, usage=UsageLeft(left["blocked"], left["money_left"]))
    _, evaluation, invoices = price(compiled, basket, evaluate)
    assert invoices is not None  # price() builds them unless told not to
    reply, _ = reply_of(
        compiled, evaluation, invoices, presented, effective.transaction_id, effective.explain
    )
    return reply, list(reply.invoices)


def result_json(reply: pb.EvaluateReply) -> str:
    return compact_json(json_format.MessageToDict(reply))


def compact_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def stored_reply(result: CommitResult) -> pb.EvaluateReply:
    reply = pb.EvaluateReply()
    json_format.ParseDict(cast(dict[str, Any], json.loads(result.result_json)), reply)
    return reply
