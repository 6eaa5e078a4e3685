"""Finance benchmark: audit export and both reports over many stored sales on PostgreSQL.

    python benchmarks/bench_finance.py [--sales N] [--pg URL] [--keep]

Fills a fresh database ``promo_bench_fin_<random>`` in two equal halves of ``N / 2``
sales (plus a return for one sale in twenty, and their points entries), and after each
half runs, each in its own ``promo`` process, ``audit export --format csv``, ``report
promotions --by day`` and ``report points``, printing the wall time and the peak RSS of
that process. The second half doubles the sales: time should double and peak memory
stay flat (every command streams). Figures are noisy on a shared machine; the ratios
between the two sizes, taken in one run, are the point.

The sales are made from a few baskets priced once through the real path (engine,
invoice, split, the desk's JSON), then written with bulk inserts: generating a million
sales through Commit would take hours, and the reports read rows, not how they came.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google.protobuf import json_format  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

import dsl  # noqa: E402
from engine.compiled import compile_ruleset  # noqa: E402
from engine.invoice.build import build_invoice  # noqa: E402
from engine.invoice.split import split_invoice  # noqa: E402
from engine.ledger.returns import plan_return, points_by_rule, sold_lines  # noqa: E402
from engine.model import Line, Member, Request, TaxRate  # noqa: E402
from server.storage import codec  # noqa: E402
from server.storage.db import make_engine, upgrade  # noqa: E402
from server.storage.models import Member as MemberRow  # noqa: E402
from server.storage.models import PointsEntry, Return, Sale  # noqa: E402
from server.wire.reply import invoice_to_proto  # noqa: E402

RULES = """
ruleset "bench-finance" {
  currency CNY
  timezone "Asia/Shanghai"
  points per_yuan 1, rounding floor
  redeem 100 points per_yuan, cap 50%
}

tier normal "普通" points x1.0

rule cat_a "A类 9折" {
  when item.category = "A"
  then item discount 9折
}
"""
CST_DAY0 = date(2026, 11, 1)
MEMBERS = 2000
CHUNK = 2000


def templates() -> list[dict]:
    """A few baskets priced through the real path: everything a sale row stores, and a return."""
    compiled = compile_ruleset(dsl.load(RULES, "bench.rules"))
    rng = random.Random(7)
    out = []
    for k in range(8):
        lines = tuple(
            Line(
                id=str(i),
                name=f"*日用品*goods {i}",
                unit_price=rng.choice((350, 1990, 12345)),
                quantity=rng.choice((1000, 2000)),
                tax=TaxRate.parse(rng.choice(("13%", "9%"))),
                category=rng.choice(("A", "")),
                tax_code="1070223000000000000",
            )
            for i in range(rng.randint(2, 8))
        )
        request = Request(
            lines=lines,
            at=datetime(2026, 11, 1, 2, tzinfo=UTC),
            member=Member("normal"),
            redeem_points=200 if k % 2 else 0,
            store=f"S{k % 3}",
        )
        ev = compiled.evaluate(request)
        invoices = split_invoice(build_invoice(request, ev))
        sold = sold_lines(request, ev, invoices)
        plan = plan_return(sold, {}, {sold[0].line_id: sold[0].quantity})
        wire = {"request": {"store": request.store, "till": f"T{k}"}, "coupons": []}
        out.append(
            {
                "request": json.dumps(wire),
                "invoice": json.dumps(
                    [json_format.MessageToDict(invoice_to_proto(i, n)) for n, i in enumerate(invoices, 1)]
                ),
                "lines": codec.sold_lines_to_json(sold, points_by_rule(ev.points)),
                "payable": ev.payable,
                "earned": ev.points.earned,
                "redeemed": ev.redemption.points,
                "return": plan,
                "return_lines": codec.returns_to_json(plan.lines),
                "red": codec.red_invoices_to_json(plan.red_invoices),
            }
        )
    return out


def fill(engine, start: int, count: int, shapes: list[dict], balances: dict[str, int]) -> None:
    """Insert sales ``start .. start + count`` (a month of days), their entries and some returns."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for base in range(start, start + count, CHUNK):
            sales, entries, rets = [], [], []
            for n in range(base, min(base + CHUNK, start + count)):
                t = shapes[n % len(shapes)]
                tid, member = f"S{n:08d}", f"M{n % MEMBERS:05d}"
                day = CST_DAY0 + timedelta(days=n % 30)
                sold_at = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
                sales.append(
                    dict(
                        transaction_id=tid,
                        request_hash="0" * 64,
                        request=t["request"],
                        ruleset="bench-finance",
                        ruleset_version="0" * 12,
                        ruleset_digest="0" * 64,
                        result="{}",
                        invoice=t["invoice"],
                        lines=t["lines"],
                        invoiced=True,
                        payable_fen=t["payable"],
                        points_earned=t["earned"],
                        points_redeemed=t["redeemed"],
                        member_id=member,
                        sold_at=sold_at,
                        local_date=day,
                        state="committed",
                        created_at=now,
                    )
                )
                for kind, pts in (("earn", t["earned"]), ("redeem", -t["redeemed"])):
                    if pts:
                        entries.append(
                            dict(
                                member_id=member,
                                kind=kind,
                                points=pts,
                                transaction_id=tid,
                                reason="bench",
                                created_at=now,
                                idempotency_key=f"{tid}:{kind}",
                                expires_at=now + timedelta(days=40) if kind == "earn" else None,
                            )
                        )
                        balances[member] = balances.get(member, 0) + pts
                if n % 20 == 0:
                    plan = t["return"]
                    rets.append(
                        dict(
                            return_id=f"R{n:08d}",
                            transaction_id=tid,
                            request_hash="0" * 64,
                            lines=t["return_lines"],
                            points_clawed_back=plan.points,
                            refund_fen=plan.refund,
                            discount_reversed_fen=plan.discount,
                            red_lines=t["red"],
                            created_at=now,
                        )
                    )
                    if plan.points:
                        entries.append(
                            dict(
                                member_id=member,
                                kind="return_clawback",
                                points=-plan.points,
                                return_id=f"R{n:08d}",
                                transaction_id=tid,
                                reason="bench",
                                created_at=now,
                                idempotency_key=f"R{n:08d}:clawback",
                            )
                        )
                        balances[member] = balances.get(member, 0) - plan.points
            conn.execute(insert(Sale), sales)
            if rets:
                conn.execute(insert(Return), rets)
            keys = ("return_id", "expires_at", "transaction_id")  # one shape for the executemany
            conn.execute(insert(PointsEntry), [{**dict.fromkeys(keys), **e} for e in entries])
        for member, held in balances.items():  # the members table agrees with the entries
            conn.execute(
                MemberRow.__table__.update()
                .where(MemberRow.id == member)
                .values(points_balance=max(held, 0), points_owed=max(-held, 0))
            )


def measure(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one ``promo`` run."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"FAILED: {' '.join(args)}\n{err}")
    return elapsed, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sales", type=int, default=100_000, help="sales in total (two halves)")
    parser.add_argument(
        "--pg", default=os.environ.get("PROMO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    name = f"promo_bench_fin_{secrets.token_hex(4)}"
    admin = make_engine(f"{args.pg}/postgres", poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{args.pg}/{name}"
    promo = str(Path(sys.executable).with_name("promo"))
    rules = ROOT / "benchmarks" / "_bench_finance.rules"
    rules.write_text(RULES, encoding="utf-8")
    try:
        upgrade(url)
        engine = make_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(insert(MemberRow), [dict(id=f"M{m:05d}", tier="normal") for m in range(MEMBERS)])
        shapes = templates()
        balances: dict[str, int] = {}
        half = args.sales // 2
        results = {}
        for size in (half, 2 * half):
            t0 = time.perf_counter()
            fill(engine, size - half, half, shapes, balances)
            print(
                f"filled {size} sales in total ({time.perf_counter() - t0:.1f} s for this half)", flush=True
            )
            today = datetime.now(UTC).date().isoformat()
            runs = {
                "audit export csv": [
                    promo,
                    "audit",
                    "export",
                    "--db",
                    url,
                    "--from",
                    "2026-11-01",
                    "--to",
                    today,
                    "--format",
                    "csv",
                    "--output",
                    os.devnull,
                ],
                "report promotions --by day": [
                    promo,
                    "report",
                    "promotions",
                    "--db",
                    url,
                    "--from",
                    "2026-11-01",
                    "--to",
                    today,
                    "--by",
                    "day",
                    "--format",
                    "csv",
                ],
                "report points": [
                    promo,
                    "report",
                    "points",
                    "--db",
                    url,
                    "--as-of",
                    today,
                    "--from",
                    "2026-01-01",
                    "--ruleset",
                    str(rules),
                ],
            }
            for label, cmd in runs.items():
                seconds, rss = measure(cmd)
                results[(label, size)] = (seconds, rss)
                print(
                    f"  {label:28s} {size:>9d} sales: {seconds:7.1f} s  peak RSS {rss / 1024:6.1f} MiB",
                    flush=True,
                )
        print("ratios (second size / first): time should be ~2, memory ~1")
        for label in runs:
            (t1, m1), (t2, m2) = results[(label, half)], results[(label, 2 * half)]
            print(f"  {label:28s} time x{t2 / t1:.2f}  peak RSS x{m2 / m1:.2f}")
        engine.dispose()
    finally:
        rules.unlink(missing_ok=True)
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
