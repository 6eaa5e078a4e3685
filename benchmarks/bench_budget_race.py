"""Budget race, the long version of tests/ledger_service/test_budget_race.py.

    python benchmarks/bench_budget_race.py [--tills 8] [--sales 40] [--uses 200] [--money 2000.00]

Two ``promo serve`` processes on one database; ``--tills`` threads (split over both) each ring up
``--sales`` sales for their own member. Two campaigns race: one with ``budget N uses`` (1.00 off a
sale), one with a money budget (7.00 off a sale). A quarter in, server 0 is killed with SIGKILL and
restarted; tills resend the same Commit to the other server (a sale already committed replays) and
re-quote after a FAILED_PRECONDITION. Afterwards it checks, and prints: every sale committed once,
each counter equals what the stored sales consumed, never above its budget, and every refusal
named the campaign. Figures: sales/s and refusals; ``FAILED`` lines (exit 1) when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from benchmarks.scratch_db import scratch_database  # noqa: E402
from server._pb.promo.v1 import promo_pb2 as pb  # noqa: E402
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc  # noqa: E402
from server.storage import usage  # noqa: E402
from server.storage.db import make_engine, upgrade  # noqa: E402
from server.storage.models import Sale, SaleUsage  # noqa: E402

PROGRAMME = 'ruleset "race" {\n  currency CNY\n}\n\ntier normal "普通会员"\n'
CAMPAIGN = (
    'campaign "{id}" {{\n  {budget}\n  status live\n}}\n\n'
    'rule {rule} "r" {{\n  then basket discount {off}\n}}\n'
)
GONE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(folder: Path, url: str, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "server.cli.main", "serve", "--rulesets", str(folder), "--db", url]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--grace", "1"]
    cmd += ["--no-auth"]  # the ledger's race is measured here; bench_trust.py measures the gate
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
    return proc


def _basket(member: str) -> pb.EvaluateRequest:
    msg = pb.EvaluateRequest(ruleset="race", time="2026-11-05T10:00:00+08:00", explain=True)
    msg.lines.add(id="1", name="*日用品*g", unit_price_fen=5000, quantity_milli=1000, tax_rate="13%")
    msg.member.id = member
    return msg


def race(name: str, url: str, args: argparse.Namespace) -> list[str]:
    uses, money = args.uses, round(args.money * 100)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rulesets" / "race"
        folder.mkdir(parents=True)
        (folder / "programme.rules").write_text(PROGRAMME, encoding="utf-8")
        (folder / "uses.rules").write_text(
            CAMPAIGN.format(id="last-uses", budget=f"budget {uses} uses", rule="one_off", off="1.00")
        )
        (folder / "money.rules").write_text(
            CAMPAIGN.format(
                id="last-money",
                budget=f"budget {money // 100}.{money % 100:02d} per campaign",
                rule="seven_off",
                off="7.00",
            )
        )
        ports = [_port(), _port()]
        procs = [_start(folder.parent, url, p) for p in ports]
        stubs = [pb_grpc.PromotionsStub(grpc.insecure_channel(f"127.0.0.1:{p}")) for p in ports]
        for k in range(args.tills):
            stubs[0].EnrollMember(pb.EnrollMemberRequest(member_id=f"M{k}", tier="normal"), timeout=30)
        committed: list[str] = []
        refusals: list[str] = []
        unexpected: list[str] = []
        down = threading.Event()

        def till(k: int) -> None:
            for i in range(args.sales):
                tid, request, commit = f"T{k}-{i}", _basket(f"M{k}"), None
                for attempt in range(30):
                    stub = stubs[1] if down.is_set() else stubs[(k + attempt) % 2]
                    try:
                        if commit is None:
                            quote = stub.Evaluate(request, timeout=15)
                            commit = pb.CommitRequest(
                                transaction_id=tid,
                                request=request,
                                displayed_payable_fen=quote.payable_fen,
                                ruleset_version=quote.ruleset.version,
                            )
                        stub.Commit(commit, timeout=15)
                        committed.append(tid)
                        break
                    except grpc.RpcError as exc:
                        if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                            refusals.append(exc.details())
                            commit = None
                        elif exc.code() in GONE:
                            time.sleep(0.05)
                        else:
                            unexpected.append(f"{tid}: {exc.code()} {exc.details()}")
                            return
                else:
                    unexpected.append(f"{tid}: no answer")
                if k == 0 and i == args.sales // 4:
                    down.set()
                    os.killpg(procs[0].pid, signal.SIGKILL)
                    procs[0].wait()
                    procs[0] = _start(folder.parent, url, ports[0])  # back, for the tills that retry
                    down.clear()

        started = time.monotonic()
        threads = [threading.Thread(target=till, args=(k,)) for k in range(args.tills)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=15)
    engine = make_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        counters = {k.split("|")[2]: total for k, total in usage.totals(c).items()}  # stripes summed
        taken: dict[str, int] = {}
        for key, amount in c.execute(select(SaleUsage.key, SaleUsage.amount)):
            taken[key.split("|")[2]] = taken.get(key.split("|")[2], 0) + amount
        results = [json.loads(r) for (r,) in c.execute(select(Sale.result))]
    engine.dispose()
    fen = {"one_off": 0, "seven_off": 0}
    used_uses = 0
    for result in results:
        mine = {"one_off": 0, "seven_off": 0}
        for line in result["lines"]:
            for d in line.get("discounts", []):
                if d["source"] in mine:
                    mine[d["source"]] += int(d["fen"])
        used_uses += mine["one_off"] > 0
        fen["seven_off"] += mine["seven_off"]
    total = args.tills * args.sales
    print(
        f"{name:<10} {len(committed)}/{total} sales in {elapsed:.1f} s ({len(committed) / elapsed:.1f}/s), "
        f"{len(refusals)} budget refusals on the way, uses {counters.get('last-uses')}, "
        f"fen {counters.get('last-money')}"
    )
    problems = [f"{name}: {u}" for u in unexpected]
    if len(results) != total or sorted(committed) != sorted(
        f"T{k}-{i}" for k in range(args.tills) for i in range(args.sales)
    ):
        problems.append(f"{name}: {len(results)} sales stored, {total} rung up")
    if counters.get("last-uses", (0, uses))[0] != used_uses or used_uses > uses:
        problems.append(f"{name}: uses counter {counters.get('last-uses')} vs {used_uses} in the sales")
    if counters.get("last-money", (0, money))[0] != fen["seven_off"] or fen["seven_off"] > money:
        problems.append(
            f"{name}: fen counter {counters.get('last-money')} vs {fen['seven_off']} in the sales"
        )
    if taken.get("last-uses", 0) != used_uses or taken.get("last-money", 0) != fen["seven_off"]:
        problems.append(f"{name}: sale_usage {taken} disagrees with the sales")
    if not all("has not enough left" in r and "campaign '" in r for r in refusals):
        problems.append(f"{name}: an unclear refusal")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tills", type=int, default=8)
    parser.add_argument("--sales", type=int, default=40, help="sales per till (default 40)")
    parser.add_argument("--uses", type=int, default=200, help="the uses budget (default 200)")
    parser.add_argument(
        "--money", type=float, default=2000.0, help="the money budget in yuan (default 2000.00)"
    )
    parser.add_argument(
        "--pg", default=os.environ.get("PROMO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args(argv)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            url = f"sqlite:///{Path(tmp) / 'race.db'}"
            upgrade(url)
            problems += race("sqlite", url, args)
        if not args.skip_pg:
            with scratch_database(args.pg, "promo_race") as url:
                upgrade(url)
                problems += race("postgresql", url, args)
    for p in problems:
        print(f"FAILED {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
