"""Finance benchmark: audit export and both reports over many stored sales on PostgreSQL.

    python benchmarks/bench_finance.py [--sales N] [--pg URL] [--keep] [--xlsx]
    python benchmarks/bench_finance.py --reuse DB [--only TEXT] [--against DIR]

Fills a fresh database ``promo_bench_fin_<random>`` in two equal halves of ``N / 2``
sales (plus a return for one sale in twenty, and their points entries), and after each
half runs, each in its own process: the ceiling (streaming the export's rows and doing
nothing with them), ``audit export`` as CSV and JSON (and xlsx with ``--xlsx``), ``report
promotions --by day`` and ``--by campaign`` and ``report points``, printing the wall time,
the CPU seconds and the peak RSS of that process. The second half doubles the sales: time
should double and peak memory stay flat (every command streams). Figures are noisy on a
shared machine: the CPU seconds, the ratios between the two sizes, and with ``--against
DIR`` (an older source tree, e.g. ``git archive main | tar -x -C DIR``) the paired ratios
new/old are the point. ``--keep`` leaves the database for ``--reuse``.

The sales are 256 baskets priced once through the real path (engine, invoice, split) and
stored as the desk stores them (the wire request with its lines, the whole reply, the
invoices, the sold lines), then written with COPY: a million sales in about 8 minutes on
a loaded machine; generating them through Commit would take hours, and the reports read
rows, not how they came.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google.protobuf import json_format  # noqa: E402
from sqlalchemy import bindparam, insert, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

import dsl  # noqa: E402
from benchmarks.scratch_db import scratch_database  # noqa: E402
from engine.compiled import compile_ruleset  # noqa: E402
from engine.invoice.build import build_invoice  # noqa: E402
from engine.invoice.split import split_invoice  # noqa: E402
from engine.ledger.returns import plan_return, points_by_rule, sold_lines  # noqa: E402
from engine.model import Line, Member, Request, TaxRate  # noqa: E402
from server.sales.stored import compact_json  # noqa: E402
from server.storage import codec  # noqa: E402
from server.storage.db import make_engine, upgrade  # noqa: E402
from server.storage.models import Member as MemberRow  # noqa: E402
from server.wire.reply import evaluation_to_proto  # noqa: E402

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
TEMPLATES = 256  # distinct baskets: amounts vary as a shop's do, not as a handful of templates'


def templates(count: int = TEMPLATES) -> list[dict]:
    """Baskets priced through the real path, stored as the desk stores them (the wire request with
    its lines, the whole reply, the invoices, the sold lines) and a return of each."""
    compiled = compile_ruleset(dsl.load(RULES, "bench.rules"))
    rng = random.Random(7)
    out = []
    for k in range(count):
        lines = tuple(
            Line(
                id=str(i),
                name=f"*日用品*商品 {rng.randrange(10_000)}",
                unit_price=rng.randrange(100, 50_000),
                quantity=rng.choice((1000, 1000, 2000, 3000, 1250)),
                tax=TaxRate.parse(rng.choice(("13%", "9%"))),
                category=rng.choice(("A", "")),
                tax_code="1070223000000000000",
                sku=f"SKU{rng.randrange(100_000):06d}",
            )
            for i in range(rng.randint(2, 8))
        )
        request = Request(
            lines=lines,
            at=datetime(2026, 11, 1, 2, tzinfo=UTC),
            member=Member("normal", id="M00001"),
            redeem_points=200 if k % 2 else 0,
            store=f"S{k % 3}",
        )
        ev = compiled.evaluate(request)
        invoices = split_invoice(build_invoice(request, ev))
        sold = sold_lines(request, ev, invoices)
        plan = plan_return(sold, {}, {sold[0].line_id: sold[0].quantity})
        reply = evaluation_to_proto(ev, invoices, digest=compiled.digest, transaction_id="S00000000")
        wire = {
            "ruleset": "bench-finance",
            "transactionId": "S00000000",
            "store": request.store,
            "till": f"T{k % 16}",
            "time": request.at.isoformat(),
            "member": {"id": "M00001", "tier": "normal"},
            "lines": [
                {
                    "id": x.id, "sku": x.sku, "name": x.name, "category": x.category,
                    "unitPriceFen": str(x.unit_price), "quantityMilli": str(x.quantity),
                    "taxRate": str(x.tax), "taxCode": x.tax_code,
                }
                for x in lines
            ],
            **({"redeemPoints": str(request.redeem_points)} if request.redeem_points else {}),
        }  # fmt: skip
        result = json_format.MessageToDict(reply)
        out.append(
            {
                "request": json.dumps({"request": wire, "coupons": []}, ensure_ascii=False, sort_keys=True),
                "result": compact_json(result),
                "invoice": compact_json(result["invoices"]),
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


_SALE_COLUMNS = (
    "transaction_id", "request_hash", "request", "ruleset", "ruleset_version", "ruleset_digest", "result",
    "invoice", "lines", "invoiced", "payable_fen", "points_earned", "points_redeemed", "member_id",
    "sold_at", "local_date", "state", "created_at",
)  # fmt: skip
_RETURN_COLUMNS = (
    "return_id", "transaction_id", "request_hash", "lines", "points_clawed_back", "refund_fen",
    "discount_reversed_fen", "red_lines", "created_at",
)  # fmt: skip
_ENTRY_COLUMNS = (
    "member_id", "kind", "points", "transaction_id", "return_id", "reason", "created_at", "idempotency_key",
    "expires_at",
)  # fmt: skip


def fill(engine, start: int, count: int, shapes: list[dict], balances: dict[str, int], total: int) -> None:
    """Insert sales ``start .. start + count`` of ``total`` (a month of days, in time order as a
    ledger grows), their entries and some returns, with PostgreSQL's COPY (a million rows in
    minutes, not hours)."""
    per_day = max(total // 30, 1)
    now = datetime.now(UTC)
    zero = "0" * 64
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY sales ({', '.join(_SALE_COLUMNS)}) FROM STDIN") as copy:
            for n in range(start, start + count):
                t = shapes[n % len(shapes)]
                tid, member = f"S{n:08d}", f"M{n % MEMBERS:05d}"
                day = CST_DAY0 + timedelta(days=min(n // per_day, 29))
                sold_at = datetime(day.year, day.month, day.day, 1, tzinfo=UTC) + timedelta(
                    seconds=n % per_day // 3
                )
                request = t["request"].replace("S00000000", tid)
                result = t["result"].replace("S00000000", tid)
                copy.write_row(
                    (
                        tid, zero, request, "bench-finance", "0" * 12, zero, result,
                        t["invoice"], t["lines"], True, t["payable"], t["earned"], t["redeemed"], member,
                        sold_at, day, "committed", now,
                    )
                )  # fmt: skip
        with cur.copy(f"COPY returns ({', '.join(_RETURN_COLUMNS)}) FROM STDIN") as copy:
            for n in range(start, start + count, 20):
                t, plan = shapes[n % len(shapes)], shapes[n % len(shapes)]["return"]
                copy.write_row(
                    (
                        f"R{n:08d}", f"S{n:08d}", zero, t["return_lines"], plan.points, plan.refund,
                        plan.discount, t["red"], now,
                    )
                )  # fmt: skip
        with cur.copy(f"COPY points_entries ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN") as copy:
            for n in range(start, start + count):
                t = shapes[n % len(shapes)]
                tid, member = f"S{n:08d}", f"M{n % MEMBERS:05d}"
                for kind, pts in (("earn", t["earned"]), ("redeem", -t["redeemed"])):
                    if pts:
                        expires = now + timedelta(days=40) if kind == "earn" else None
                        copy.write_row((member, kind, pts, tid, None, "bench", now, f"{tid}:{kind}", expires))
                        balances[member] = balances.get(member, 0) + pts
                if n % 20 == 0 and t["return"].points:
                    rid, pts = f"R{n:08d}", -t["return"].points
                    copy.write_row(
                        (member, "return_clawback", pts, tid, rid, "bench", now, f"{rid}:clawback", None)
                    )
                    balances[member] = balances.get(member, 0) + pts
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:  # the members table agrees with the entries
        conn.execute(
            MemberRow.__table__.update()
            .where(MemberRow.id == bindparam("m"))
            .values(points_balance=bindparam("held"), points_owed=bindparam("owed")),
            [{"m": m, "held": max(h, 0), "owed": max(-h, 0)} for m, h in balances.items()],
        )
        conn.execute(text("ANALYZE"))


def measure(args: list[str], source: Path | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one ``promo`` run; with
    ``source``, the ``promo`` of that source tree (an older checkout, for paired runs).

    CPU seconds say what the command costs whatever else the machine runs (the database's own
    work is not in them: the ceiling row shows it). stderr goes to a file: a pipe nobody reads
    fills with progress-bar updates and stops the command."""
    env = None
    if source is not None and args[0].endswith("promo"):
        args = [sys.executable, "-m", "server.cli.main", *args[1:]]
        env = {**os.environ, "PYTHONPATH": str(source)}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=source)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"FAILED: {' '.join(args)}\n{err.read().decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def stream_only(url: str) -> None:
    """The ceiling: stream the columns the export reads, in its order, and do nothing with them."""
    from datetime import date

    from server.finance.export import queries
    from server.finance.stream import stream
    from server.storage.db import make_sessionmaker
    from server.storage.store import Ledger

    ledger = Ledger(make_sessionmaker(make_engine(url, poolclass=NullPool)))
    with ledger.snapshots() as session:
        sales_q, *_ = queries(session, date(2026, 11, 1), date(2099, 12, 31), UTC)
        for _ in stream(session, sales_q):
            pass


def commands(promo: str, url: str, rules: Path, with_xlsx: bool) -> dict[str, list[str]]:
    today = datetime.now(UTC).date().isoformat()
    period = ["--db", url, "--from", "2026-11-01", "--to", today]
    runs = {
        "ceiling: stream the rows": [sys.executable, __file__, "--stream-only", url],
        "audit export csv": [promo, "audit", "export", *period, "--format", "csv", "--output", os.devnull],
        "audit export json": [promo, "audit", "export", *period, "--format", "json", "--output", os.devnull],
        "report promotions --by day": [
            promo, "report", "promotions", *period, "--by", "day", "--format", "csv",
        ],
        "report promotions --by campaign": [
            promo, "report", "promotions", *period, "--by", "campaign", "--format", "csv",
        ],
        "report points": [
            promo, "report", "points", "--db", url, "--as-of", today, "--from", "2026-01-01",
            "--ruleset", str(rules),
        ],
    }  # fmt: skip
    if with_xlsx:
        xlsx = str(rules.with_suffix(".xlsx"))
        runs["audit export xlsx"] = [promo, "audit", "export", *period, "--format", "xlsx", "--output", xlsx]
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sales", type=int, default=100_000, help="sales in total (two halves)")
    parser.add_argument(
        "--pg", default=os.environ.get("PROMO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", metavar="DB", help="measure a database a --keep run left (no filling)")
    parser.add_argument(
        "--only", metavar="TEXT[,TEXT]", help="run only the commands whose label contains one of these"
    )
    parser.add_argument("--xlsx", action="store_true", help="also the workbook (Excel holds 1,048,576 rows)")
    parser.add_argument(
        "--against", metavar="DIR", type=Path, help="also run each command from this source tree, alternating"
    )
    parser.add_argument("--stream-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_only:
        stream_only(args.stream_only)
        return 0
    with scratch_database(args.pg, "promo_bench_fin", keep=args.keep, reuse=args.reuse) as url:
        return run(args, url)


def run(args: argparse.Namespace, url: str) -> int:
    """Fill (unless reused) and measure the database at ``url``."""
    name = url.rsplit("/", 1)[1]
    promo = str(Path(sys.executable).with_name("promo"))
    rules = Path(tempfile.gettempdir()) / f"{name}.rules"  # one per run: runs side by side don't clash
    rules.write_text(RULES, encoding="utf-8")
    try:
        engine = make_engine(url, poolclass=NullPool)
        half = args.sales // 2
        sizes = (half, 2 * half)
        if args.reuse:
            with engine.connect() as conn:
                sizes = (conn.scalar(text("SELECT count(*) FROM sales")),)
        else:
            upgrade(url)
            with engine.begin() as conn:
                conn.execute(insert(MemberRow), [dict(id=f"M{m:05d}", tier="normal") for m in range(MEMBERS)])
        shapes = templates()
        balances: dict[str, int] = {}
        results = {}
        runs = commands(promo, url, rules, args.xlsx)
        runs = {k: v for k, v in runs.items() if not args.only or any(t in k for t in args.only.split(","))}
        for size in sizes:
            if not args.reuse:
                t0 = time.perf_counter()
                fill(engine, size - half, half, shapes, balances, 2 * half)
                print(
                    f"filled {size} sales in total ({time.perf_counter() - t0:.1f} s for this half)",
                    flush=True,
                )
            for label, cmd in runs.items():
                seconds, cpu, rss = measure(cmd)
                results[(label, size)] = (seconds, rss)
                print(
                    f"  {label:32s} {size:>9d} sales: {seconds:7.1f} s  cpu {cpu:7.1f} s  "
                    f"peak RSS {rss / 1024:6.1f} MiB",
                    flush=True,
                )
                if args.against and not label.startswith("ceiling"):
                    was, was_cpu, was_rss = measure(cmd, args.against)
                    print(
                        f"  {'  ' + label + ' (against)':32s} {size:>9d} sales: {was:7.1f} s  "
                        f"cpu {was_cpu:7.1f} s  "
                        f"peak RSS {was_rss / 1024:6.1f} MiB   new/against: time x{seconds / was:.2f} "
                        f"cpu x{cpu / was_cpu:.2f}",
                        flush=True,
                    )
        if len(sizes) == 2:
            print("ratios (second size / first): time should be ~2, memory ~1")
            for label in runs:
                (t1, m1), (t2, m2) = results[(label, half)], results[(label, 2 * half)]
                print(f"  {label:32s} time x{t2 / t1:.2f}  peak RSS x{m2 / m1:.2f}")
        engine.dispose()
    finally:
        rules.unlink(missing_ok=True)
        rules.with_suffix(".xlsx").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
