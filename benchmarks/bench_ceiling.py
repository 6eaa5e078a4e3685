"""The framework's own ceiling: a no-op message on an open bidi stream against a no-op unary call.

    python benchmarks/bench_ceiling.py [--workers 1 2] [--modes sync aio] [--seconds S] [--rounds R]

No service code at all: a server with one generic unary method and one generic bidi method,
both answering a fixed reply to the 10-line EvaluateRequest bench_grpc.py sends (raw bytes, not
decoded), in ``sync`` gRPC (a thread pool) and in ``aio`` (one event loop per process), with 1 or
2 worker processes sharing the port (SO_REUSEPORT, as ``promo serve --workers``). 8 tills, each on
its own connection, drive it from this process with the sync client; unary and stream slices
alternate, so a busy neighbour slows both alike. Two figures per cell:

- messages per second over unary calls per second, as bench_grpc.py's session target counts them;
- the servers' CPU per message (user + system time of the worker processes, from /proc, over the
  messages they answered): what the framework itself costs, whatever else the machine runs.

If a no-op stream message is not 1.5x cheaper than a no-op unary call here, no session code can
make a scan 1.5x cheaper than Ping. Numbers only: no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import queue
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from benchmarks.bench_grpc import health_basket  # noqa: E402

SERVICE = "ceiling.Noop"
UNARY = f"/{SERVICE}/Ping"
STREAM = f"/{SERVICE}/Session"
REPLY = b"\x0a\x02ok"
TILLS = 8


# --------------------------------------------------------------------------- the servers


def _sync_handlers() -> grpc.GenericRpcHandler:
    def ping(request: bytes, context: grpc.ServicerContext) -> bytes:
        return REPLY

    def session(requests: object, context: grpc.ServicerContext) -> object:
        for _ in requests:  # type: ignore[attr-defined]
            yield REPLY

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Ping": grpc.unary_unary_rpc_method_handler(ping),
            "Session": grpc.stream_stream_rpc_method_handler(session),
        },
    )


def _aio_handlers() -> grpc.GenericRpcHandler:
    async def ping(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return REPLY

    async def session(requests: object, context: grpc.aio.ServicerContext) -> object:
        async for _ in requests:  # type: ignore[attr-defined]
            yield REPLY

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Ping": grpc.unary_unary_rpc_method_handler(ping),
            "Session": grpc.stream_stream_rpc_method_handler(session),
        },
    )


def _serve(mode: str, port: int, threads: int, ready: object) -> None:
    """One worker process: serve until SIGTERM."""
    address = f"127.0.0.1:{port}"
    options = [("grpc.so_reuseport", 1)]
    if mode == "sync":
        # streams hold a thread each for their whole life: TILLS of them, plus the unary calls' pool
        server = grpc.server(ThreadPoolExecutor(max_workers=threads + TILLS), options=options)
        server.add_generic_rpc_handlers((_sync_handlers(),))
        server.add_insecure_port(address)
        server.start()
        ready.set()  # type: ignore[attr-defined]
        server.wait_for_termination()
        return

    async def main() -> None:
        server = grpc.aio.server(options=options)
        server.add_generic_rpc_handlers((_aio_handlers(),))
        server.add_insecure_port(address)
        await server.start()
        ready.set()  # type: ignore[attr-defined]
        await server.wait_for_termination()

    asyncio.run(main())


class Workers:
    """``count`` server processes on one port (forked before any gRPC object exists in them)."""

    def __init__(
        self, mode: str, count: int, threads: int, serve: Callable[..., None] | None = None, *extra: object
    ) -> None:
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        self.port = holder.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        self.processes = []
        for _ in range(count):
            ready = context.Event()
            process = context.Process(
                target=serve or _serve, args=(mode, self.port, threads, ready, *extra), daemon=True
            )
            process.start()
            if not ready.wait(30):
                raise SystemExit(f"{mode} worker did not start")
            self.processes.append(process)
        holder.close()

    def cpu_ns(self) -> int:
        """User + system time of every worker so far, in ns (from /proc: Linux only)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return total * 1_000_000_000 // tick

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(10)


# --------------------------------------------------------------------------- the tills


class Till:
    """One connection; ``ping`` a unary call, ``send`` one message on the till's open stream."""

    def __init__(self, target: str, payload: bytes) -> None:
        self.channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        self.payload = payload
        self._ping = self.channel.unary_unary(UNARY)
        self._out: queue.Queue[bytes | None] = queue.Queue()
        self._replies = self.channel.stream_stream(STREAM)(iter(self._out.get, None), timeout=3600)

    def ping(self) -> object:
        return self._ping(self.payload, timeout=10)

    def send(self) -> object:
        self._out.put(self.payload)
        return next(self._replies)

    def close(self) -> None:
        self._out.put(None)
        self.channel.close()


def drive(tills: list[Till], call: Callable[[Till], object], seconds: float) -> tuple[int, float, list[int]]:
    """Calls answered, wall seconds and per-call latencies (ns) with each till calling back to back."""
    counts = [0] * len(tills)
    latencies: list[list[int]] = [[] for _ in tills]
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(len(tills) + 1)

    def run(k: int) -> None:
        till, clock, out = tills[k], time.perf_counter_ns, latencies[k]
        start.wait()
        while time.monotonic() < stop_at:
            t0 = clock()
            call(till)
            out.append(clock() - t0)
            counts[k] += 1

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(len(tills))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - t0, [x for xs in latencies for x in xs]


def client_cpu_ns() -> int:
    """This process's CPU time so far (every till thread), in ns."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


def drive_aio(target: str, payload: bytes, kind: str, seconds: float) -> tuple[int, float, list[int]]:
    """As :func:`drive`, from one asyncio event loop: each till a task on its own channel."""

    async def main() -> tuple[int, float, list[int]]:
        options = [("grpc.use_local_subchannel_pool", 1)]
        channels = [grpc.aio.insecure_channel(target, options=options) for _ in range(TILLS)]
        latencies: list[int] = []

        async def till(channel: grpc.aio.Channel, stop_at: float) -> int:
            clock, count = time.perf_counter_ns, 0
            if kind == "unary":
                ping = channel.unary_unary(UNARY)
                while time.monotonic() < stop_at:
                    t0 = clock()
                    await ping(payload, timeout=10)
                    latencies.append(clock() - t0)
                    count += 1
                return count
            call = channel.stream_stream(STREAM)(timeout=3600)
            while time.monotonic() < stop_at:
                t0 = clock()
                await call.write(payload)
                await call.read()
                latencies.append(clock() - t0)
                count += 1
            await call.done_writing()
            return count

        await asyncio.gather(*(till(c, time.monotonic() + 0.3) for c in channels))  # warm up
        latencies.clear()
        t0 = time.perf_counter()
        counts = await asyncio.gather(*(till(c, time.monotonic() + seconds) for c in channels))
        wall = time.perf_counter() - t0
        for channel in channels:
            await channel.close()
        return sum(counts), wall, latencies

    return asyncio.run(main())


def p99(latencies: list[int]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)] / 1000 if ordered else float("nan")


def measure(
    mode: str, workers: int, threads: int, seconds: float, rounds: int, client: str
) -> dict[str, float]:
    payload = health_basket(10).SerializeToString()
    server = Workers(mode, workers, threads)
    target = f"127.0.0.1:{server.port}"
    tills = [Till(target, payload) for _ in range(TILLS)] if client == "sync" else []
    calls = {"unary": Till.ping, "stream": Till.send}
    # answered, seconds, server cpu ns, latencies, client cpu ns
    totals = {name: [0, 0.0, 0, [], 0] for name in calls}
    try:
        for call in calls.values():  # warm up: connections, threads, the first stream messages
            if tills:
                drive(tills, call, 0.5)
        for _ in range(rounds):
            for name, call in calls.items():
                cpu0, client0 = server.cpu_ns(), client_cpu_ns()
                if tills:
                    answered, wall, latencies = drive(tills, call, seconds / rounds)
                else:
                    answered, wall, latencies = drive_aio(target, payload, name, seconds / rounds)
                total = totals[name]
                total[0] += answered
                total[1] += wall
                total[2] += server.cpu_ns() - cpu0
                total[3] += latencies
                total[4] += client_cpu_ns() - client0
    finally:
        for till in tills:
            till.close()
        server.stop()
    out: dict[str, float] = {}
    for name, (answered, wall, cpu, latencies, client) in totals.items():
        out[f"{name}_per_s"] = answered / wall
        out[f"{name}_client_us"] = client / answered / 1000
        out[f"{name}_cpu_us"] = cpu / answered / 1000
        out[f"{name}_p99_us"] = p99(latencies)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="server processes (default 1 2)"
    )
    parser.add_argument("--modes", nargs="+", default=["sync", "aio"], choices=["sync", "aio"])
    parser.add_argument("--client", default="sync", choices=["sync", "aio"], help="the tills' gRPC client")
    parser.add_argument(
        "--threads", type=int, default=4, help="sync pool threads for unary calls (default 4)"
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="timed seconds per kind of call and cell")
    parser.add_argument("--rounds", type=int, default=3, help="unary/stream alternations per cell")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    print(
        f"{TILLS} tills ({args.client} client), each its own connection; "
        "unary no-op vs one no-op message on an open stream"
    )
    header = (
        f"  {'mode':<5} {'workers':>7} {'unary/s':>8} {'msg/s':>8} {'msg/unary':>9} "
        f"{'unary cpu us':>12} {'msg cpu us':>10} {'cpu ratio':>9} {'unary p99':>9} {'msg p99':>8} "
        f"{'client us/unary':>15} {'client us/msg':>13}"
    )
    print(header)
    for workers in args.workers:
        for mode in args.modes:
            r = measure(mode, workers, args.threads, args.seconds, args.rounds, args.client)
            print(
                f"  {mode:<5} {workers:>7} {r['unary_per_s']:>8.0f} {r['stream_per_s']:>8.0f} "
                f"{r['stream_per_s'] / r['unary_per_s']:>9.2f} {r['unary_cpu_us']:>12.0f} "
                f"{r['stream_cpu_us']:>10.0f} {r['unary_cpu_us'] / r['stream_cpu_us']:>9.2f} "
                f"{r['unary_p99_us']:>9.0f} {r['stream_p99_us']:>8.0f} "
                f"{r['unary_client_us']:>15.0f} {r['stream_client_us']:>13.0f}",
                flush=True,
            )
    print("  msg/unary: stream messages per second over unary calls per second (the session target is 1.5)")
    print("  cpu ratio: server CPU per unary call over server CPU per stream message")
    print("  client us: this driving process's CPU per call or message (it shares the 2 cores)")
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
