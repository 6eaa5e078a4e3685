"""``promo report points``: the points liability as of a day, and a period's movement that ties out.

A loyalty programme's auditor first asks what the points members hold are worth. As of
the end of a local day: the points outstanding (members' positive balances), what
members owe (clawbacks past their balance), their value at the programme's redemption
rate, pending points (held by `points pending N days`; known for a day not in the past
only, from the members table: a release does not keep when it happened), and what expires in the next 30, 60
and 90 days (lots consumed first-in-first-out, :mod:`engine.ledger.expiry`). Then the
period's movement by kind, which must tie out: opening + movements = closing, each side
summed on its own from the append-only points entries. The report checks it (and, for
a day not in the past, that the closing equals the members' balances) and says which
figure disagrees; the CLI fails loudly then.

One snapshot; entries are streamed member by member (memory: one member's entries).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.ledger.expiry import Lot, points_to_expire
from engine.money import format_fen, round_half_up
from server.finance.export import PROGRESS_FROM
from server.finance.stream import stream
from server.storage.models import Member, PointsEntry
from server.storage.store import Ledger

__all__ = ["HORIZONS", "MOVEMENTS", "PointsReport", "points_report"]

HORIZONS = (30, 60, 90)
MOVEMENTS = (  # (report name, entry kind)
    ("earned", "earn"),
    ("redeemed", "redeem"),
    ("redeemed_for_coupons", "coupon_purchase"),
    ("expired", "expire"),
    ("clawed_back", "return_clawback"),
    ("adjusted", "adjust"),
    ("referral", "referral"),  # referrers' points from referred members' sales (engine.ledger.referral)
    ("referral_clawed_back", "referral_return"),
)


@dataclass
class PointsReport:
    as_of: date
    period_from: date
    outstanding: int = 0  # points members hold (positive balances)
    owed: int = 0  # points members owe (clawbacks beyond their balance)
    pending: int = 0
    expiring: dict[int, int] = field(default_factory=dict)  # days -> points
    opening: int = 0
    movements: dict[str, int] = field(default_factory=dict)
    closing: int = 0
    members_now: int | None = None  # sum of balance - owed on the members table, when as_of is today or later
    value_fen: int | None = None
    problems: list[str] = field(default_factory=list)

    def as_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("as_of", self.as_of.isoformat()),
            ("period_from", self.period_from.isoformat()),
            ("outstanding_points", str(self.outstanding)),
            ("owed_points", str(self.owed)),
            ("outstanding_value", "" if self.value_fen is None else format_fen(self.value_fen)),
            ("pending_points", str(self.pending)),
            *((f"expiring_{d}_days", str(self.expiring[d])) for d in HORIZONS),
            ("opening", str(self.opening)),
            *((name, str(self.movements[name])) for name, _ in MOVEMENTS),
            ("closing", str(self.closing)),
            ("ties_out", "yes" if not self.problems else "NO"),
        ]
        return rows


def points_report(
    ledger: Ledger,
    as_of: date,
    zone: ZoneInfo,
    points_per_yuan: int | None,
    period_from: date | None = None,
    progress: bool = True,
) -> PointsReport:
    """The report as of the end of ``as_of`` (local day in ``zone``); the period starts at ``period_from``
    (default: the first of as_of's month)."""
    from tqdm import tqdm

    period_from = period_from or as_of.replace(day=1)
    start = datetime.combine(period_from, time(0), zone)
    end = datetime.combine(as_of + timedelta(days=1), time(0), zone)
    report = PointsReport(as_of, period_from)
    before_end = PointsEntry.created_at < end
    with ledger.snapshots() as session:
        report.opening = session.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(PointsEntry.created_at < start)
        )
        moved = dict(
            session.execute(
                select(PointsEntry.kind, func.sum(PointsEntry.points))
                .where(PointsEntry.created_at >= start, before_end)
                .group_by(PointsEntry.kind)
            ).all()
        )
        report.movements = {name: int(moved.get(kind, 0) or 0) if kind else 0 for name, kind in MOVEMENTS}
        report.closing = session.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(before_end)
        )
        if end >= datetime.now(zone):  # nothing after the day yet: the members table must agree
            report.members_now = session.scalar(
                select(func.coalesce(func.sum(Member.points_balance - Member.points_owed), 0))
            )
            report.pending = session.scalar(select(func.coalesce(func.sum(Member.points_pending), 0)))
        members = session.scalar(select(func.count(func.distinct(PointsEntry.member_id))).where(before_end))
        bar = tqdm(
            total=members, file=sys.stderr, unit="member", desc="points",
            disable=not progress or members < PROGRESS_FROM,
        )  # fmt: skip
        query = (
            select(PointsEntry.member_id, PointsEntry.points, PointsEntry.expires_at, PointsEntry.kind)
            .where(before_end)
            .order_by(PointsEntry.member_id, PointsEntry.id)
        )
        expiring = dict.fromkeys(HORIZONS, 0)
        total_by_members = 0
        for _, entries in groupby(stream(session, query), key=lambda e: e[0]):
            lots, debits, held = [], 0, 0
            for _, pts, expires, kind in entries:
                held += pts
                if pts > 0:
                    lots.append(Lot(pts, expires if kind == "earn" else None))
                else:
                    debits -= pts
            total_by_members += held
            if held > 0:
                report.outstanding += held
                for days in HORIZONS:
                    expiring[days] += min(held, points_to_expire(lots, debits, end + timedelta(days=days)))
            else:
                report.owed -= held
            bar.update(1)
        bar.close()
        report.expiring = expiring
    if points_per_yuan:
        report.value_fen = round_half_up(report.outstanding * 100, points_per_yuan)
    _tie_out(report, total_by_members)
    return report


def _tie_out(report: PointsReport, total_by_members: int) -> None:
    moved = sum(report.movements.values())
    if report.opening + moved != report.closing:
        report.problems.append(
            f"opening {report.opening} + movements {moved} = {report.opening + moved}, "
            f"but the entries up to {report.as_of} sum to {report.closing}"
        )
    if total_by_members != report.closing or report.outstanding - report.owed != report.closing:
        report.problems.append(
            f"members' balances from the entries ({report.outstanding} held - {report.owed} owed) "
            f"are not the closing {report.closing}"
        )
    if report.members_now is not None and report.members_now != report.closing:
        report.problems.append(
            f"the members table holds {report.members_now} points net, the entries {report.closing}"
        )
