"""Commit benchmark: commits per second through the gRPC service, on SQLite and on PostgreSQL.

    python benchmarks/bench_commits.py [--seconds S] [--pg URL] [--workers N] [--threads T]
                                       [--skip-sqlite] [--skip-pg]

Each backend gets a fresh database and a ``promo serve --workers N`` subprocess (N=1
for SQLite, which has one writer anyway; default N=2 for PostgreSQL, one per core),
driven from this process by 1 and then 8 concurrent tills (a thread and a channel
each, on its own TCP connection as real tills are, so every worker gets some). A till
commits a two-line basket for one of 50 members (so tills collide on members), half
of the sales present a ledger coupon code of their own, and every tenth commit is
retried at once (it must replay). After each run the ledger is checked: the sum of
every member's entries equals their balance, every earn entry belongs to exactly one
sale, and no coupon was redeemed twice. Numbers only, plus ``FAILED`` lines for a
failed check (exit 1).

Budgets: the same programme is also served as a programme folder whose A-class rule sits in a
campaign with a money budget per day, a uses budget and a per-member daily limit (all too large to
run out), so every commit reads three counters with its pricing read and takes them in its one
write statement (two of them on the campaign's striped rows every till shares). Both servers run on
the one database; after a warm-up of the budgets server, ``--rounds`` pairs at 8 tills alternate
budgets off and on (the order flips each round, as the machine's load drifts), and the line
``budgets on/off`` gives the range of commits/s on each side and of the pairs' ratios (target
>= 0.8). ``--skip-budgets`` leaves them out.

PostgreSQL: ``--pg`` (default $PROMO_TEST_PG or postgresql+psycopg://postgres@127.0.0.1:5432)
names the server; a database ``promo_bench_<random>`` is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from benchmarks.scratch_db import scratch_database  # noqa: E402
from server._pb.promo.v1 import promo_pb2 as pb  # noqa: E402
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc  # noqa: E402
from server.storage.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from server.storage.models import Coupon, PointsEntry, Sale  # noqa: E402
from server.storage.store import Ledger  # noqa: E402

RULES = """
ruleset "bench-ledger" {
  currency CNY
  timezone "Asia/Shanghai"
  points per_yuan 1, rounding floor
  redeem 100 points per_yuan, cap 50%
  points_expire 365 days
}

tier normal  "普通" points x1.0
tier gold    "金卡" points x1.5 upgrade when lifetime_spend >= 1000.00

rule cat_a "A类 9折" {
  when item.category = "A"
  then item discount 9折
}

coupon C10 "10 off" {
  value 10.00
}
"""
# The same programme, with the A-class rule in a budgeted, limited campaign (too large to run out).
BUDGET_PROGRAMME = RULES.split("rule cat_a")[0]
BUDGET_CAMPAIGN = """\
campaign "a-class" {
  owner "bench", label "A类 9折"
  budget 100000000.00 per day
  budget 100000000 uses
  status live
}

rule cat_a "A类 9折" {
  limit 1000000 per member per day
  when item.category = "A"
  then item discount 9折
}

coupon C10 "10 off" {
  value 10.00
}
"""
MEMBERS = 50
TIME = "2026-05-01T10:00:00+08:00"
CALL_TIMEOUT = 30.0


def basket(member: str, coupon: str | None) -> pb.EvaluateRequest:
    msg = pb.EvaluateRequest(ruleset="bench-ledger", time=TIME, coupon_codes=[coupon] if coupon else [])
    msg.member.id = member
    for line_id, category in (("1", "A"), ("2", "")):
        msg.lines.add(
            id=line_id,
            name=f"*日用品*goods {line_id}",
            category=category,
            unit_price_fen=4990,
            quantity_milli=1000,
            tax_rate="13%",
            tax_code="1070223000000000000",
        )
    return msg


@dataclass
class Run:
    commits: int = 0
    retries: int = 0
    failures: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``promo serve`` as a subprocess on a free port."""

    def __init__(self, rulesets: Path, url: str, workers: int, threads: int) -> None:
        self.port = _free_port()
        cmd = [sys.executable, "-m", "server.cli.main", "serve", "--rulesets", str(rulesets), "--db", url]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers), "--grace", "1"]
        cmd += ["--threads", str(threads)]
        cmd += ["--no-auth"]  # the ledger's cost is measured here; bench_trust.py measures the gate
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self.target = f"127.0.0.1:{self.port}"
        with grpc.insecure_channel(self.target) as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
        time.sleep(0.5)  # let every worker finish loading the rulesets

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def prepare(ledger: Ledger, runs: tuple[tuple[str, int], ...], per_till: int) -> None:
    """Enroll the members and issue every till its own coupon codes CP-<run>-<till>-<i> (one bulk insert)."""
    for k in range(MEMBERS):
        ledger.enroll_member(f"M{k}", "normal", programme="bench-ledger")
    now = datetime.now(UTC)
    rows = [
        {
            "code": f"CP-{tag}-{t}-{i}",
            "definition_id": "C10",
            "ruleset": "bench-ledger",
            "state": "issued",
            "created_at": now,
        }
        for tag, tills in runs
        for t in range(tills)
        for i in range(per_till)
    ]
    with ledger.sessions() as s, s.begin():
        s.execute(insert(Coupon), rows)


def drive(target: str, tills: int, seconds: float, tag: str) -> tuple[Run, float]:
    """``tills`` threads committing until ``seconds`` pass; the totals and the elapsed time."""
    probe = pb_grpc.PromotionsStub(grpc.insecure_channel(target))
    quote_plain = probe.Evaluate(basket("M0", None), timeout=CALL_TIMEOUT)
    quote_coupon = probe.Evaluate(basket("M0", f"CP-{tag}-0-0"), timeout=CALL_TIMEOUT)
    runs = [Run() for _ in range(tills)]
    stop = time.monotonic() + seconds

    def till(k: int) -> None:
        # Each till its own TCP connection, as separate tills are: gRPC would otherwise share one
        # subchannel between the channels, and the kernel would hand every call to one worker.
        with grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            commit_until(pb_grpc.PromotionsStub(channel), runs[k], k, stop)

    def commit_until(stub: pb_grpc.PromotionsStub, run: Run, k: int, stop: float) -> None:
        i = 0
        while time.monotonic() < stop:
            coupon = f"CP-{tag}-{k}-{i // 2}" if i % 2 == 0 else None
            quote = quote_coupon if coupon else quote_plain
            req = pb.CommitRequest(
                transaction_id=f"{tag}-{k}-{i}",
                request=basket(f"M{(k * 7 + i) % MEMBERS}", coupon),
                displayed_payable_fen=quote.payable_fen,
                ruleset_version=quote.ruleset.version,
            )
            try:
                stub.Commit(req, timeout=CALL_TIMEOUT)
                run.commits += 1
                if i % 10 == 0:
                    run.retries += 1
                    if not stub.Commit(req, timeout=CALL_TIMEOUT).replayed:
                        run.failures += 1
            except grpc.RpcError as exc:
                run.failures += 1
                print(f"  commit failed: {exc.code()} {exc.details()}", file=sys.stderr)
            i += 1

    threads = [threading.Thread(target=till, args=(k,)) for k in range(tills)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    total = Run(sum(r.commits for r in runs), sum(r.retries for r in runs), sum(r.failures for r in runs))
    return total, elapsed


def check(ledger: Ledger, expected_sales: int) -> list[str]:
    """Zero lost or doubled entries: balances equal entry sums, one earn per sale, coupons spent once."""
    problems = [f"balance mismatch: {m}" for m in ledger.verify_balances()]
    with ledger.sessions() as s:
        sales = s.scalar(select(func.count()).select_from(Sale))
        earns = s.scalar(select(func.count()).where(PointsEntry.kind == "earn"))
        earned = s.scalar(select(func.coalesce(func.sum(Sale.points_earned), 0)))
        posted = s.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(PointsEntry.kind == "earn")
        )
        redeemed = s.scalar(select(func.count()).where(Coupon.state == "redeemed"))
        spent_by = s.scalar(select(func.count(func.distinct(Coupon.redeemed_by_sale))))
    if sales != expected_sales:
        problems.append(f"{sales} sales stored, {expected_sales} commits succeeded")
    if earns != sales or earned != posted:
        problems.append(f"{earns} earn entries ({posted} points) for {sales} sales ({earned} points)")
    if redeemed != spent_by:
        problems.append(f"{redeemed} coupons redeemed by {spent_by} sales")
    return problems


def bench(
    name: str,
    url: str,
    rulesets: Path,
    workers: int,
    seconds: float,
    threads: int,
    budgets: Path | None = None,
    rounds: int = 3,
) -> list[str]:
    """1 till and 8 tills budgets off; with ``budgets``, ``rounds`` alternating pairs at 8 tills
    of budgets off and on (two servers on the one database, both up, driven one at a time)."""
    ledger = Ledger(make_sessionmaker(make_engine(url, poolclass=NullPool)))
    per_till = int(seconds * 1000) + 50  # more coupon codes than a till can use (it takes every other one)
    servers = {"off": Server(rulesets, url, workers, threads)}
    failures: list[str] = []
    try:
        if budgets is not None:
            servers["on"] = Server(budgets, url, workers, threads)
        runs: list[tuple[str, str, int]] = [("a", "off", 1), ("b", "off", 8)]
        for r in range(rounds if budgets is not None else 0):
            pair = [("off", f"off{r}"), ("on", f"on{r}")]
            runs += [(tag, side, 8) for side, tag in (pair if r % 2 else pair[::-1])]
        if budgets is not None:  # the budgets server warms up as the other did in the runs before
            runs.insert(2, ("warm", "on", 8))
        prepare(ledger, tuple((tag, tills) for tag, _, tills in runs), per_till)
        total_sales = 0
        rates: dict[str, float] = {}
        for tag, side, tills in runs:
            run, elapsed = drive(servers[side].target, tills, seconds, tag)
            rates[tag] = rate = run.commits / elapsed
            total_sales += run.commits
            warm = " (warm-up)" if tag == "warm" else ""
            print(
                f"{name:<10} workers={workers} threads={threads} tills={tills} budgets {side:<3}{warm}: "
                f"{rate:7.1f} commits/s ({run.commits} commits + {run.retries} replayed retries in "
                f"{elapsed:.1f} s, {run.failures} failed)"
            )
            if run.failures:
                failures.append(f"{name} {tag} tills={tills}: {run.failures} failed commits")
        ratios = [rates[f"on{r}"] / rates[f"off{r}"] for r in range(rounds) if f"on{r}" in rates]
        if ratios:
            on = [rates[f"on{r}"] for r in range(rounds)]
            off = [rates[f"off{r}"] for r in range(rounds)]
            print(
                f"{name:<10} budgets on/off at 8 tills, {rounds} alternating pairs: on {min(on):.1f}-"
                f"{max(on):.1f}, off {min(off):.1f}-{max(off):.1f} commits/s; ratio "
                f"{min(ratios):.2f}-{max(ratios):.2f} (median {sorted(ratios)[len(ratios) // 2]:.2f}; "
                "target >= 0.8)"
            )
        problems = check(ledger, total_sales)
        print(f"{name:<10} check: " + ("no lost or doubled entries" if not problems else "; ".join(problems)))
        failures += problems
    finally:
        for server in servers.values():
            server.stop()
        ledger.engine.dispose()
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per run (default 5)")
    parser.add_argument(
        "--pg", default=os.environ.get("PROMO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="promo serve workers on PostgreSQL (default 2)"
    )
    parser.add_argument("--threads", type=int, default=4, help="promo serve --threads (default 4)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-budgets", action="store_true", help="no budgets-on runs")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating budgets off/on pairs at 8 tills (default 3)"
    )
    args = parser.parse_args(argv)
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        rulesets = Path(tmp) / "rulesets"
        rulesets.mkdir()
        (rulesets / "bench.rules").write_text(RULES, encoding="utf-8")
        budgets = None
        if not args.skip_budgets:
            budgets = Path(tmp) / "budgets"
            (budgets / "bench").mkdir(parents=True)
            (budgets / "bench" / "programme.rules").write_text(BUDGET_PROGRAMME, encoding="utf-8")
            (budgets / "bench" / "a-class.rules").write_text(BUDGET_CAMPAIGN, encoding="utf-8")
        if not args.skip_sqlite:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            failures += bench("sqlite", url, rulesets, 1, args.seconds, args.threads, budgets, args.rounds)
        if not args.skip_pg:
            with scratch_database(args.pg, "promo_bench") as url:
                upgrade(url)
                failures += bench(
                    "postgresql",
                    url,
                    rulesets,
                    args.workers,
                    args.seconds,
                    args.threads,
                    budgets,
                    args.rounds,
                )
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
