"""The real Promotions handlers in grpc.aio (one event loop) against the sync thread-pool server.

    python benchmarks/bench_aio.py [--workers 1 2] [--seconds S] [--rounds R]

``sync`` is the server ``promo serve`` runs (:func:`server.rpc.app.create_server`, a thread pool,
no auth). ``aio`` is an experiment: a grpc.aio server whose coroutines call the very same handler
code (the servicer's Ping and Evaluate, a TillSession's ``apply``) on the event loop, without the
auth interceptor and without the session's per-message gate and log (a few microseconds in the
sync server's favour against). Both serve a fresh SQLite ledger with the sample member, 1 or 2
worker processes on one port; 8 tills, each its own connection, drive them from one asyncio event
loop: Ping, Evaluate (10 lines, member by id, no invoice) and a scan on an open session, in
alternating slices. Printed per cell: calls per second, the servers' CPU per call (from /proc),
p99, and the ratios the serving targets are stated in. Numbers only.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from benchmarks.bench_ceiling import Workers, client_cpu_ns, p99  # noqa: E402
from benchmarks.bench_grpc import health_basket, scan_line  # noqa: E402
from server._pb.promo.v1 import promo_pb2 as pb  # noqa: E402

SERVICE = "/promo.v1.Promotions/"
TILLS = 8


def _serve(mode: str, port: int, threads: int, ready: object, db: str, rulesets: str) -> None:
    """One worker process serving the real handlers, ``sync`` or ``aio``, until terminated."""
    from server.rpc.app import Deps, create_server
    from server.rpc.ledger import LedgerPromotionsServicer
    from server.rpc.logs import configure_logging
    from server.rulesets.registry import RulesetRegistry
    from server.sales.session import SessionBook
    from server.storage.store import Ledger
    from server.trust.gate import Gate

    configure_logging(io.StringIO())  # the log lines are built and rendered, as in production
    registry = RulesetRegistry(Path(rulesets))
    registry.refresh()
    ledger = Ledger.open(db)
    address = f"127.0.0.1:{port}"
    if mode == "sync":
        deps = Deps(registry, ledger=ledger, gate=Gate(None), max_workers=threads)
        server, _ = create_server(address, deps, reuse_port=True)
        server.start()
        ready.set()  # type: ignore[attr-defined]
        server.wait_for_termination()
        return
    servicer = LedgerPromotionsServicer(registry, ledger=ledger)
    book = SessionBook()

    async def ping(request: pb.EvaluateRequest, context: grpc.aio.ServicerContext) -> pb.PingReply:
        return servicer.Ping(request, context)

    async def evaluate(request: pb.EvaluateRequest, context: grpc.aio.ServicerContext) -> pb.EvaluateReply:
        return servicer.Evaluate(request, context)

    async def till_session(
        requests: AsyncIterator[pb.SessionRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SessionReply]:
        session = None
        async for msg in requests:
            if session is None:
                session = book.open(servicer.desk, msg.open)  # type: ignore[arg-type]
                reply = session.start(msg.seq)
                book.keep(session)
            else:
                reply = session.apply(msg)
            yield reply

    handlers = grpc.method_handlers_generic_handler(
        "promo.v1.Promotions",
        {
            "Ping": grpc.unary_unary_rpc_method_handler(
                ping, pb.EvaluateRequest.FromString, pb.PingReply.SerializeToString
            ),
            "Evaluate": grpc.unary_unary_rpc_method_handler(
                evaluate, pb.EvaluateRequest.FromString, pb.EvaluateReply.SerializeToString
            ),
            "TillSession": grpc.stream_stream_rpc_method_handler(
                till_session, pb.SessionRequest.FromString, pb.SessionReply.SerializeToString
            ),
        },
    )

    async def main() -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 1)])
        server.add_generic_rpc_handlers((handlers,))
        server.add_insecure_port(address)
        await server.start()
        ready.set()  # type: ignore[attr-defined]
        await server.wait_for_termination()

    asyncio.run(main())


Send = Callable[[int], Awaitable[object]]


async def _slice(sends: list[Send], seconds: float, latencies: list[int]) -> int:
    stop_at = time.monotonic() + seconds

    async def till(send: Send) -> int:
        clock, count = time.perf_counter_ns, 0
        while time.monotonic() < stop_at:
            t0 = clock()
            await send(count)
            latencies.append(clock() - t0)
            count += 1
        return count

    return sum(await asyncio.gather(*(till(send) for send in sends)))


def measure(
    mode: str, workers: int, threads: int, seconds: float, rounds: int, db: str, rulesets: str
) -> dict:
    server = Workers(mode, workers, threads, _serve, db, rulesets)
    request = health_basket(10)
    del request.coupon_codes[:]
    payload = request.SerializeToString()

    async def run() -> dict:
        options = [("grpc.use_local_subchannel_pool", 1)]
        channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{server.port}", options=options) for _ in range(TILLS)
        ]
        streams = []
        for k, channel in enumerate(channels):
            call = channel.stream_stream(SERVICE + "TillSession")(timeout=3600)
            opening = pb.EvaluateRequest()
            opening.CopyFrom(request)
            opening.transaction_id = f"aio-{mode}-{k}-{time.time_ns()}"
            await call.write(pb.SessionRequest(open=opening).SerializeToString())
            await call.read()
            streams.append(call)
        lines = list(request.lines)

        def unary(method: str) -> list[Send]:
            calls = [channel.unary_unary(SERVICE + method) for channel in channels]
            return [lambda n, c=c: c(payload, timeout=10) for c in calls]

        async def scan(call: object, n: int) -> object:
            await call.write(pb.SessionRequest(seq=n, change_line=scan_line(lines, n)).SerializeToString())  # type: ignore[attr-defined]
            return await call.read()  # type: ignore[attr-defined]

        kinds = {
            "Ping": unary("Ping"),
            "Evaluate": unary("Evaluate"),
            "scan": [lambda n, c=c: scan(c, n) for c in streams],
        }
        totals = {name: [0, 0.0, 0, [], 0] for name in kinds}
        for sends in kinds.values():
            await _slice(sends, 0.5, [])
        for _ in range(rounds):
            for name, sends in kinds.items():
                cpu0, client0, t0 = server.cpu_ns(), client_cpu_ns(), time.perf_counter()
                total = totals[name]
                total[0] += await _slice(sends, seconds / rounds, total[3])
                total[1] += time.perf_counter() - t0
                total[2] += server.cpu_ns() - cpu0
                total[4] += client_cpu_ns() - client0
        for call in streams:
            await call.done_writing()
        for channel in channels:
            await channel.close()
        return totals

    try:
        totals = asyncio.run(run())
    finally:
        server.stop()
    return {
        name: (n / wall, cpu / n / 1000, p99(lat), client / n / 1000)
        for name, (n, wall, cpu, lat, client) in totals.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="server processes (default 1 2)"
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="sync server: promo serve --threads (default 4)"
    )
    parser.add_argument("--seconds", type=float, default=9.0, help="timed seconds per kind of call and cell")
    parser.add_argument("--rounds", type=int, default=3, help="alternations per cell")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="bench-aio-") as raw:
        tmp = Path(raw)
        rulesets = tmp / "rulesets"
        rulesets.mkdir()
        shutil.copytree(ROOT / "rulesets" / "health", rulesets / "health")
        db = f"sqlite:///{tmp / 'ledger.db'}"
        from server.storage.store import Ledger

        member = health_basket(1).member
        Ledger.open(db).enroll_member(member.id, member.tier, programme="ruyi-health")
        print(
            f"  {'mode':<5} {'workers':>7} {'call':<9} {'per s':>7} {'server cpu us':>13} "
            f"{'p99 us':>8} {'client cpu us':>13}"
        )
        for workers in args.workers:
            for mode in ("sync", "aio"):
                r = measure(mode, workers, args.threads, args.seconds, args.rounds, db, str(rulesets))
                for name, (per_s, cpu, tail, client) in r.items():
                    cells = f"{per_s:>7.0f} {cpu:>13.0f} {tail:>8.0f} {client:>13.0f}"
                    print(f"  {mode:<5} {workers:>7} {name:<9} {cells}")
                ping, evaluate, scan = r["Ping"], r["Evaluate"], r["scan"]
                print(
                    f"  {mode:<5} {workers:>7} Evaluate/Ping {evaluate[0] / ping[0]:.2f} "
                    f"(p99 x{evaluate[2] / ping[2]:.2f})"
                    f"   scan/Ping {scan[0] / ping[0]:.2f} per s, {ping[1] / scan[1]:.2f} in server CPU",
                    flush=True,
                )
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
