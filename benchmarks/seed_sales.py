"""Stored sales for backtests: synthetic committed sales written straight into a ledger.

Baskets are drawn (seeded, so reproducible) from the lines of the ruleset's own examples, on
random days of a period, for random tiers or guests, sometimes with a coupon or redeemed
points; each row carries the wire request as the sales desk stores it, and the ruleset's
source is stored by digest. With ``replies`` each row also keeps the reply the ruleset gives
(priced here, through the same wire code as the desk); nine sales in ten asked for ``explain``,
so their reply has the per-line discounts a backtest can read instead of pricing them again.
The rows a backtest does not read (invoice, lines) hold placeholders. Used by tests/backtest
and benchmarks/bench_backtest.py.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from engine.compiled import CompiledRuleset
from server.backtest.requests import parse_stored
from server.rulesets.sources import SourceBook
from server.sales.stored import result_json
from server.storage.models import Sale
from server.storage.store import Ledger

__all__ = ["seed_sales"]


def seed_sales(
    ledger: Ledger,
    compiled: CompiledRuleset,
    n: int,
    first: date,
    days: int,
    seed: int = 7,
    prefix: str = "S",
    replies: bool = True,
) -> None:
    """Store ``n`` sales priced (in name) by ``compiled``, on local days ``first`` .. ``first + days - 1``."""
    SourceBook(ledger).remember(compiled)
    rng = random.Random(seed)
    ruleset = compiled.ruleset
    zone = ZoneInfo(ruleset.settings.timezone)
    catalogue = [ln for ex in ruleset.examples for ln in ex.lines]
    tiers = [t.id for t in ruleset.tiers]
    coupons = [c.id for c in ruleset.coupons if c.points_price is None]
    rows = []
    for k in range(n):
        day = first + timedelta(days=rng.randrange(days))
        at = datetime.combine(day, time(rng.randrange(8, 22), rng.randrange(60)), zone)
        lines = []
        for j, ln in enumerate(rng.sample(catalogue, rng.randint(1, min(5, len(catalogue))))):
            lines.append(
                {
                    "id": str(j + 1),
                    "sku": ln.sku,
                    "name": ln.name,
                    "category": ln.category,
                    "brand": ln.brand,
                    "tags": sorted(ln.tags),
                    "unitPriceFen": str(ln.price),
                    "quantityMilli": str(ln.quantity * rng.randint(1, 3)),
                    "taxRate": ln.tax,
                    "taxCode": "1070223000000000000",
                }
            )
        request = {
            "ruleset": ruleset.name,
            "transactionId": f"{prefix}{k}",
            "lines": lines,
            "time": at.isoformat(),
        }
        if rng.random() < 0.7:
            request["member"] = {"id": f"M{rng.randrange(1000)}", "tier": rng.choice(tiers)}
            if ruleset.settings.redeem_points_per_yuan and rng.random() < 0.2:
                request["redeemPoints"] = str(rng.choice((500, 1000, 5000)))
        if coupons and rng.random() < 0.3:
            request["couponCodes"] = [rng.choice(coupons)]
        if k % 10:
            request["explain"] = True
        stored = json.dumps({"request": request, "coupons": []}, ensure_ascii=False, sort_keys=True)
        reply = _reply(compiled, request) if replies else "{}"
        rows.append(
            {
                "transaction_id": f"{prefix}{k}",
                "request_hash": hashlib.sha256(stored.encode()).hexdigest(),
                "request": stored,
                "ruleset": compiled.name,
                "ruleset_version": compiled.version,
                "ruleset_digest": compiled.digest,
                "result": reply,
                "invoice": "{}",
                "lines": "[]",
                "invoiced": False,
                "payable_fen": 0,
                "points_earned": 0,
                "points_redeemed": 0,
                "member_id": None,
                "sold_at": at,
                "local_date": day,
                "state": "committed",
                "created_at": at,
            }
        )
        if len(rows) == 5000:
            _insert(ledger, rows)
            rows = []
    if rows:
        _insert(ledger, rows)


def _reply(compiled: CompiledRuleset, request: dict) -> str:
    """The reply the sales desk would store for ``request`` (what Commit writes to ``result``)."""
    from server.wire.reply import evaluation_to_proto
    from server.wire.request import request_from_proto

    msg = parse_stored(request)
    evaluation = compiled.evaluate(request_from_proto(msg))
    reply = evaluation_to_proto(
        evaluation, None, digest=compiled.digest, transaction_id=msg.transaction_id, explain=msg.explain
    )
    return result_json(reply)


def _insert(ledger: Ledger, rows: list[dict]) -> None:
    with ledger.sessions.begin() as session:
        session.execute(insert(Sale), rows)
