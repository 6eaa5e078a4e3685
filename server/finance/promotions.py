"""``promo report promotions``: what each rule, coupon and points redemption cost in a period.

For each source of discount (a rule id, ``coupon:<id>``, ``points``) and each tax rate
(a discount lowers the taxable sales of its own line's rate): the discount given on the
period's sales, the part reversed by the period's returns, the net, how many sales it
touched, and the points the rule added (bonuses, and its part of what multipliers
added) net of what returns clawed back.

Sales are read from the sold lines a commit stores (each line keeps what each source
took from it, :class:`~engine.ledger.returns.SoldLine`); a return's reversed discount on
a line is split over that line's sources by largest remainder, and its clawed-back
points over the rules that added them (the rest was the tier's base). The grouping key
is ``(group, campaign, source, kind, rate)``: ``--by day`` groups by local day, ``--by
store`` by store, ``--by campaign`` by campaign, which is the rule id until campaigns
exist (:func:`campaign_of` is the one place that will look one up). One snapshot, read
as a stream: memory grows with the number of groups, not of sales.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.apportion import split_by_remainder
from engine.money import format_fen
from server.finance.export import PROGRESS_FROM
from server.storage import codec
from server.storage.models import Return, Sale
from server.storage.store import Ledger

__all__ = ["BY", "PromotionRow", "campaign_of", "iter_dicts", "promotion_report", "totals"]

BY = ("day", "store", "campaign")


def campaign_of(source: str) -> str:
    """The campaign a discount source belongs to: its own id until programmes/campaigns exist."""
    return source


@dataclass(eq=False)  # identity: a sale counts once per row it touched (a set of rows)
class PromotionRow:
    """One (group, campaign, source, kind, rate): fen given and reversed, sales touched, points."""

    group: str
    campaign: str
    source: str
    kind: str
    tax_rate: str
    discount: int = 0
    reversed: int = 0
    sales: int = 0
    points_added: int = 0
    points_clawed_back: int = 0

    @property
    def net(self) -> int:
        return self.discount - self.reversed

    @property
    def points_net(self) -> int:
        return self.points_added - self.points_clawed_back

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "campaign": self.campaign,
            "source": self.source,
            "kind": self.kind,
            "tax_rate": self.tax_rate,
            "discount": format_fen(self.discount),
            "reversed": format_fen(self.reversed),
            "net": format_fen(self.net),
            "sales": self.sales,
            "points_added": self.points_added,
            "points_clawed_back": self.points_clawed_back,
            "points_net": self.points_net,
        }


def promotion_report(
    ledger: Ledger, first: date, last: date, zone: ZoneInfo, by: str | None = None, progress: bool = True
) -> list[PromotionRow]:
    """The report's rows, sorted by group, campaign, source and rate."""
    from tqdm import tqdm

    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    sales_q = select(Sale.local_date, Sale.request, Sale.lines).where(
        Sale.local_date >= first, Sale.local_date <= last
    )
    returns_q = (
        select(
            Return.created_at,
            Return.lines,
            Return.points_clawed_back,
            Sale.request,
            Sale.lines,
            Sale.points_earned,
        )
        .join(Sale, Sale.transaction_id == Return.transaction_id)
        .where(Return.created_at >= start, Return.created_at < end)
    )
    rows: dict[tuple, PromotionRow] = {}

    def row(group: str, source: str, kind: str, rate: str) -> PromotionRow:
        key = (group, campaign_of(source), source, kind, rate)
        found = rows.get(key)
        if found is None:
            found = rows[key] = PromotionRow(*key)
        return found

    with ledger.snapshots() as session:
        total = session.scalar(select(func.count()).select_from(sales_q.subquery())) + session.scalar(
            select(func.count()).select_from(returns_q.subquery())
        )
        bar = tqdm(
            total=total, file=sys.stderr, unit="rec", desc="promotions",
            disable=not progress or total < PROGRESS_FROM,
        )  # fmt: skip
        for day, request, lines_json in session.execute(sales_q.execution_options(yield_per=1000)):
            request = _store(request) if by == "store" else ""
            touched: set[PromotionRow] = set()
            for line in codec.sold_lines_from_json(lines_json):
                for source, kind, fen in line.discounts:
                    r = row(_group(by, day, request, source), source, kind, str(line.rate))
                    r.discount += fen
                    touched.add(r)
            for rule, points in codec.points_by_rule_from_json(lines_json).items():
                r = row(_group(by, day, request, rule), rule, "rule", "")
                r.points_added += points
                touched.add(r)
            for r in touched:
                r.sales += 1
            bar.update(1)
        for created, took_json, clawed, request, lines_json, earned in session.execute(
            returns_q.execution_options(yield_per=1000)
        ):
            day = created.astimezone(zone).date()
            request = _store(request) if by == "store" else ""
            sold = {s.line_id: s for s in codec.sold_lines_from_json(lines_json)}
            for lr in codec.returns_from_json(took_json):
                line = sold.get(lr.line_id)
                if line is None or not line.discounts or not lr.took.discount:
                    continue
                parts = split_by_remainder(lr.took.discount, [fen for _, _, fen in line.discounts])
                for (source, kind, _), part in zip(line.discounts, parts, strict=True):
                    row(_group(by, day, request, source), source, kind, str(line.rate)).reversed += part
            by_rule = codec.points_by_rule_from_json(lines_json)
            if clawed and by_rule and earned > 0:
                rules = sorted(by_rule)
                weights = [by_rule[r] for r in rules]
                parts = split_by_remainder(clawed, [*weights, max(earned - sum(weights), 0)])
                for rule, part in zip(rules, parts, strict=False):
                    row(_group(by, day, request, rule), rule, "rule", "").points_clawed_back += part
            bar.update(1)
        bar.close()
    return [rows[k] for k in sorted(rows)]


def _store(request_json: str) -> str:
    try:
        return json.loads(request_json).get("request", {}).get("store", "")
    except (TypeError, ValueError, AttributeError):
        return ""


def _group(by: str | None, day: date, store: str, source: str) -> str:
    """The group a row falls in; ``store`` is the sale's store when grouping by store."""
    if by == "day":
        return day.isoformat()
    if by == "store":
        return store
    if by == "campaign":
        return campaign_of(source)
    return ""


def totals(rows: list[PromotionRow]) -> PromotionRow:
    """The report's total row."""
    out = PromotionRow("total", "", "", "", "")
    for r in rows:
        out.discount += r.discount
        out.reversed += r.reversed
        out.points_added += r.points_added
        out.points_clawed_back += r.points_clawed_back
    return out


def iter_dicts(rows: list[PromotionRow]) -> Iterator[dict[str, Any]]:
    """The rows then the total row, as dicts with money in yuan."""
    for r in rows:
        yield r.as_dict()
    total = totals(rows).as_dict()
    total["sales"] = ""
    yield total
