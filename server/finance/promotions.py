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
store`` by store, ``--by campaign`` by the campaign file each source came from in the
version that priced the sale (:mod:`server.finance.campaigns`; ``(programme)`` for the
programme file's own rules and for points). One snapshot, read as a stream of the few
columns the report needs: memory grows with the number of groups, not of sales.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select

from engine.apportion import split_by_remainder
from engine.money import format_fen
from server.finance import stored
from server.finance.campaigns import CampaignBook
from server.finance.export import PROGRESS_FROM
from server.finance.stream import stream
from server.storage.models import Return, Sale
from server.storage.store import Ledger

__all__ = ["BY", "PromotionRow", "iter_dicts", "promotion_report", "totals"]

BY = ("day", "store", "campaign")


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
    rows: dict[tuple, PromotionRow] = {}  # (group, digest, source, kind, rate): campaigns are looked up last

    def row(group: str, digest: str, source: str, kind: str, rate: str) -> PromotionRow:
        key = (group, digest, source, kind, rate)
        found = rows.get(key)
        if found is None:
            found = rows[key] = PromotionRow(group, digest, source, kind, rate)
        return found

    with ledger.snapshots() as session:
        store = Sale.request if by == "store" else literal("")
        sales_q = select(Sale.local_date, store, Sale.ruleset_digest, Sale.lines).where(
            Sale.local_date >= first, Sale.local_date <= last
        )
        returns_q = (
            select(
                Return.created_at, store, Sale.ruleset_digest, Return.lines, Return.points_clawed_back,
                Sale.lines, Sale.points_earned,
            )
            .join(Sale, Sale.transaction_id == Return.transaction_id)
            .where(Return.created_at >= start, Return.created_at < end)
        )  # fmt: skip
        total = session.scalar(select(func.count()).select_from(sales_q.subquery())) + session.scalar(
            select(func.count()).select_from(returns_q.subquery())
        )
        bar = tqdm(
            total=total, file=sys.stderr, unit="rec", desc="promotions",
            disable=not progress or total < PROGRESS_FROM,
        )  # fmt: skip
        for day, request, digest, lines_json in stream(session, sales_q):
            group = day.isoformat() if by == "day" else stored.store_till(request)[0] if request else ""
            lines, by_rule = stored.sold_lines(lines_json)
            touched: set[PromotionRow] = set()
            for line in lines:
                rate = line.tax_rate
                for source, kind, fen in line.discounts:
                    r = row(group, digest, source, kind, rate)
                    r.discount += fen
                    touched.add(r)
            for rule, points in by_rule.items():
                r = row(group, digest, rule, "rule", "")
                r.points_added += points
                touched.add(r)
            for r in touched:
                r.sales += 1
            bar.update(1)
        for created, request, digest, took_json, clawed, lines_json, earned in stream(session, returns_q):
            day = created.astimezone(zone).date()
            group = day.isoformat() if by == "day" else stored.store_till(request)[0] if request else ""
            lines, by_rule = stored.sold_lines(lines_json)
            sold = {line.line_id: line for line in lines}
            for took in stored.returned_lines(took_json):
                line = sold.get(took.line_id)
                if line is None or not line.discounts or not took.discount:
                    continue
                parts = split_by_remainder(took.discount, [fen for _, _, fen in line.discounts])
                for (source, kind, _), part in zip(line.discounts, parts, strict=True):
                    row(group, digest, source, kind, line.tax_rate).reversed += part
            if clawed and by_rule and earned > 0:
                rules = sorted(by_rule)
                weights = [by_rule[r] for r in rules]
                parts = split_by_remainder(clawed, [*weights, max(earned - sum(weights), 0)])
                for rule, part in zip(rules, parts, strict=False):
                    row(group, digest, rule, "rule", "").points_clawed_back += part
            bar.update(1)
        bar.close()
        return _by_campaign(rows.values(), CampaignBook(session), by == "campaign")


def _by_campaign(found: Iterable[PromotionRow], book: CampaignBook, grouped: bool) -> list[PromotionRow]:
    """The rows with each source's campaign (in the version that priced the sale) in place of the
    version; rows that differ only in version are added up. Sorted."""
    out: dict[tuple, PromotionRow] = {}
    for r in found:
        campaign = book.campaign(r.campaign, r.source)
        key = (campaign if grouped else r.group, campaign, r.source, r.kind, r.tax_rate)
        merged = out.get(key)
        if merged is None:
            out[key] = PromotionRow(
                *key, r.discount, r.reversed, r.sales, r.points_added, r.points_clawed_back
            )
        else:
            merged.discount += r.discount
            merged.reversed += r.reversed
            merged.sales += r.sales
            merged.points_added += r.points_added
            merged.points_clawed_back += r.points_clawed_back
    return [out[k] for k in sorted(out)]


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
