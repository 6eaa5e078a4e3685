"""``promo maintain`` over a big ledger on PostgreSQL: RFM segments, issued coupons, pending release.

    python benchmarks/bench_maintain.py [--members 100000] [--sales 1000000] [--pg URL] [--keep]

Fills a fresh database ``promo_bench14_<random>`` with the health programme's members and a year
of sales, written by PostgreSQL itself (``INSERT ... SELECT FROM generate_series`` with a fixed
seed: no row crosses the wire, and maintain reads rows, not how they came): members' purchase
counts are skewed (some buy weekly, many rarely), 1% of sales are half returned, every sale has
its earn entry, and the last 7 days' earnings are held (`points pending 7 days`). Members' cached
figures (last purchase, order count, lifetime spend, balance, held points) are set from the rows.

Then it times ``Ledger.maintain`` for the day after the last sale, twice, with the health
programme's segments and BACK48 win-back plus a birthday and a tier coupon, and checks:

- a sample of members, recomputed here from their own sale and return rows (Python, one member
  at a time: not the GROUP BY maintain uses), is in the segment maintain stored;
- each sampled member has the win-back coupon exactly when their last purchase was 48 days
  before the day, a birthday coupon exactly on their birthday, a tier coupon exactly at gold or
  above; every issued code is owner-bound and valid from the day;
- the second run changes nothing: no segment, no coupon, no point released.

It prints the fill time, each run's time and its report; the target is under 2 minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

import dsl  # noqa: E402
from benchmarks.scratch_db import scratch_database  # noqa: E402
from engine.ledger.segments import WINDOW_DAYS, segment_of  # noqa: E402
from engine.rules import IssuedCoupon  # noqa: E402
from server.storage.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from server.storage.models import Coupon, Member, Return, Sale  # noqa: E402
from server.storage.store import Ledger  # noqa: E402

PROGRAMME = "ruyi-health"
AS_OF = date(2026, 11, 30)
ZONE = ZoneInfo("Asia/Shanghai")
PENDING_DAYS = 7
SAMPLE = 300

FILL = """
SELECT setseed(0.14);
INSERT INTO members (id, programme, tier, birthday, tags, segment, segment_pinned, join_date,
                     lifetime_spend_fen, order_count, points_balance, points_owed, points_pending,
                     status, version, created_at, updated_at)
SELECT 'M' || lpad(n::text, 6, '0'), 'ruyi-health',
       CASE WHEN r < 0.70 THEN 'normal' WHEN r < 0.90 THEN 'silver'
            WHEN r < 0.98 THEN 'gold' ELSE 'diamond' END,
       DATE '1960-01-01' + (random() * 16000)::int, '[]', '', false, DATE '2024-01-01',
       0, 0, 0, 0, 0, 'active', 1, now(), now()
FROM (SELECT n, random() AS r FROM generate_series(1, :members) AS n) AS m;

-- A member's share of the sales is skewed: index = members x u^2 (low ids buy often).
INSERT INTO sales (transaction_id, request_hash, request, ruleset, ruleset_version, ruleset_digest,
                   result, invoice, lines, invoiced, payable_fen, points_earned, points_redeemed,
                   member_id, sold_at, local_date, state, created_at)
SELECT 'S' || lpad(n::text, 8, '0'), '', '{}', 'ruyi-health', 'v', 'd', '{}', '[]', '[]', true,
       s.payable, s.payable / 100, 0,
       'M' || lpad((1 + floor(:members * s.u * s.u))::int::text, 6, '0'), s.at,
       (s.at AT TIME ZONE 'Asia/Shanghai')::date,
       CASE WHEN n % 100 = 7 THEN 'partly_returned' ELSE 'committed' END, now()
FROM (SELECT n, random() AS u, 1000 + (random() * 99000)::bigint AS payable,
             (TIMESTAMPTZ '2026-12-01 00:00+08' - random() * INTERVAL '400 days') AS at
      FROM generate_series(1, :sales) AS n) AS s;

INSERT INTO returns (return_id, transaction_id, request_hash, lines, points_clawed_back, refund_fen,
                     discount_reversed_fen, red_lines, created_at)
SELECT 'R' || transaction_id, transaction_id, '', '[]', 0, payable_fen / 2, 0, '[]', now()
FROM sales WHERE state = 'partly_returned';

INSERT INTO points_entries (member_id, kind, points, transaction_id, reason, created_at,
                            idempotency_key, pending_until)
SELECT member_id, 'earn', points_earned, transaction_id, 'bench', sold_at, 'earn:' || transaction_id,
       CASE WHEN sold_at >= TIMESTAMPTZ '2026-11-30 00:00+08' - INTERVAL '7 days'
            THEN sold_at + INTERVAL '7 days' END
FROM sales;

UPDATE members SET last_purchase_at = f.last, order_count = f.orders, lifetime_spend_fen = f.spend
FROM (SELECT member_id, max(sold_at) AS last, count(*) AS orders, sum(payable_fen) AS spend
      FROM sales GROUP BY member_id) AS f
WHERE members.id = f.member_id;

UPDATE members SET points_balance = f.total, points_pending = f.held
FROM (SELECT member_id, sum(points) AS total,
             coalesce(sum(points) FILTER (WHERE pending_until IS NOT NULL), 0) AS held
      FROM points_entries GROUP BY member_id) AS f
WHERE members.id = f.member_id;
ANALYZE;
"""


def settings_and_tiers():  # type: ignore[no-untyped-def]
    """The health programme's policy with its BACK48 win-back, plus a birthday and a tier coupon."""
    ruleset = dsl.load_path(ROOT / "rulesets" / "health")
    issued = (
        *ruleset.settings.issued,
        IssuedCoupon("HY20", "birthday", 7),
        IssuedCoupon("VIP50", "tier", 30, tier="gold"),
    )
    return replace(ruleset.settings, issued=issued, points_pending_days=PENDING_DAYS), ruleset.tiers


def expected_segment(session, member_id: str, segments) -> str:  # type: ignore[no-untyped-def]
    """The member's segment recomputed from their own rows, one sale at a time."""
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=ZONE) + timedelta(days=1)
    start = end - timedelta(days=WINDOW_DAYS)
    last = None
    count = paid = 0
    for sold_at, state, payable, refund in session.execute(
        select(Sale.sold_at, Sale.state, Sale.payable_fen, Return.refund_fen)
        .outerjoin(Return, Return.transaction_id == Sale.transaction_id)
        .where(Sale.member_id == member_id)
    ):
        if last is None or sold_at > last:
            last = sold_at
        if start <= sold_at < end and state != "returned":
            count += 1
            paid += payable - (refund or 0)
    recency = (AS_OF - last.astimezone(ZONE).date()).days if last is not None else None
    return segment_of(segments, recency, count, paid)


def check_sample(ledger: Ledger, settings, tiers) -> int:  # type: ignore[no-untyped-def]
    """Every sampled member's segment and coupons as worked out here; the number of problems."""
    problems = 0
    rng = random.Random(14)
    gold_and_up = {t.id for t in tiers[[t.id for t in tiers].index("gold") :]}
    with ledger.sessions() as session:
        ids = session.scalars(select(Member.id).order_by(Member.id)).all()
        # the sample: random members, plus members the win-back concerns (so it is really checked)
        idle_day = AS_OF - timedelta(days=48)
        day_start = datetime(idle_day.year, idle_day.month, idle_day.day, tzinfo=ZONE)
        idle = session.scalars(
            select(Member.id)
            .where(
                Member.last_purchase_at >= day_start, Member.last_purchase_at < day_start + timedelta(days=1)
            )
            .limit(20)
        ).all()
        sample = sorted(set(rng.sample(ids, SAMPLE)) | set(idle))
        for member_id in sample:
            m = session.get(Member, member_id)
            want = expected_segment(session, member_id, settings.segments)
            if m.segment != want:
                problems += 1
                print(f"  MISMATCH {member_id}: segment {m.segment!r}, worked out {want!r}")
            owned = {
                c.issued_by: c
                for c in session.scalars(
                    select(Coupon).where(Coupon.owner_id == member_id, Coupon.issued_by.is_not(None))
                )
            }
            last_day = m.last_purchase_at.astimezone(ZONE).date() if m.last_purchase_at else None
            expect = {
                "BACK48@day48": last_day == idle_day,
                "HY20@birthday": (m.birthday.month, m.birthday.day) == (AS_OF.month, AS_OF.day),
                "VIP50@tier:gold": m.tier in gold_and_up,
            }
            for key, wanted in expect.items():
                coupon = owned.get(key)
                if (coupon is not None) != wanted or (coupon is not None and coupon.valid_from != AS_OF):
                    problems += 1
                    print(f"  MISMATCH {member_id}: {key} issued {coupon is not None}, worked out {wanted}")
        print(f"hand-checked {len(sample)} members ({len(idle)} at day 48): {problems} problems")
    return problems


def show(label: str, seconds: float, report) -> None:  # type: ignore[no-untyped-def]
    issued = ", ".join(f"{k} {n}" for k, n in report.coupons_issued)
    print(
        f"{label}: {seconds:6.1f} s  segments changed {report.segments_changed}, "
        f"points released {report.points_released} (members {report.members_released}), issued: {issued}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument(
        "--pg", default=os.environ.get("PROMO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()
    with scratch_database(args.pg, "promo_bench14", keep=args.keep) as url:
        upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for statement in FILL.split(";"):
                if statement.strip():
                    conn.execute(text(statement), {"members": args.members, "sales": args.sales})
        print(
            f"filled {args.members} members and {args.sales} sales in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        ledger = Ledger(make_sessionmaker(engine))
        settings, tiers = settings_and_tiers()
        times = []
        reports = []
        for label in ("first run", "second run"):
            t0 = time.perf_counter()
            report = ledger.maintain(AS_OF, settings, tiers, PROGRAMME)
            times.append(time.perf_counter() - t0)
            reports.append(report)
            show(label, times[-1], report)
        problems = check_sample(ledger, settings, tiers)
        again = reports[1]
        unchanged = (
            again.segments_changed == 0
            and again.points_released == 0
            and all(n == 0 for _, n in again.coupons_issued)
        )
        print(f"second run changed nothing: {'yes' if unchanged else 'NO'}")
        print(f"maintain: first run {times[0]:.1f} s (target < 120 s), second {times[1]:.1f} s")
        if args.keep:
            print(f"kept: {url}")
        engine.dispose()
        return 0 if unchanged and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
