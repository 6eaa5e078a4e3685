"""gRPC benchmark: Evaluate next to the no-op Ping, till sessions, and a ruleset reload under load.

    python benchmarks/bench_grpc.py [--workers N] [--threads T] [--calls N] [--seconds S] [--rounds R]
                                    [--quick] [--no-reload] [--server-root CHECKOUT]

Starts ``promo serve --workers N`` (default 1) as a subprocess on a free loopback
port with a fresh SQLite ledger, enrolls the sample request's member (so Evaluate
reads the member from the ledger, as a till's call by member id does), then drives
it from this process with the sync gRPC client, 1 and 8 calls in flight: one thread
per call in flight, each with its own channel (its own connection, as each till
has), so that with N > 1 the kernel spreads the tills over the workers. Ping decodes
the very same 10-line request and finds its ruleset but does not price it, so the
ratios Evaluate / Ping say what pricing costs on top of the framework's own cost,
measured in one run on one machine (the two alternate in slices, so a busy neighbour
slows both alike). The Evaluate basket is a scan's: no coupon codes, no invoice. Then 8
TillSession streams stay open and scan (a change_line on a 10-line basket, answered with
the line that changed), in slices against Ping at 8 in flight, for scan messages per second
over Ping calls per second; that part drives the server from a grpc.aio client (see
:func:`bench_sessions`). Every cell also reports the server's CPU per call (user + system
time of the server's processes, from /proc), which a busy neighbour does not inflate. Then a
1,000-rule ruleset is rewritten three times while 8 calls stay in flight against it, and
every failed call is counted (it must be 0). ``--server-root`` serves another checkout's
code (e.g. /work/main) with this script, for paired before/after runs.
Numbers only: no pass/fail here.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from benchmarks.generate import generated_request, generated_ruleset  # noqa: E402
from server._pb.promo.v1 import promo_pb2 as pb  # noqa: E402
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc  # noqa: E402
from server.wire.request_json import request_from_json  # noqa: E402

TIMEOUT_S = 10.0  # per call: generous, so a slow reload shows as latency, never as a failure
TAX_CODE = "1030399000000000000"
GENERATED = "generated-1000"


@dataclass(frozen=True, slots=True)
class Cell:
    """One measured cell: latencies in ns of the successful calls, failures, and wall time."""

    name: str
    in_flight: int
    latencies: list[int]
    failures: int
    seconds: float
    versions: frozenset[str] = frozenset()
    cpu_ns: int = 0  # the server's CPU (every worker) while the cell ran

    @property
    def cpu_us(self) -> float:
        """The server's CPU per call answered, in microseconds."""
        return self.cpu_ns / max(1, len(self.latencies)) / 1000

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: int) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, len(ordered) * p // 100)] / 1000


# --------------------------------------------------------------------------- requests


def health_basket(n_lines: int) -> pb.EvaluateRequest:
    """A gold member's basket of ``n_lines`` real lines, cycled from the bundled sample request."""
    msg = request_from_json((ROOT / "rulesets" / "requests" / "health-gold.json").read_text(encoding="utf-8"))
    pool = list(msg.lines)
    del msg.lines[:]
    for k in range(n_lines):
        line = msg.lines.add()
        line.CopyFrom(pool[k % len(pool)])
        line.id = str(k + 1)
    return msg


def generated_basket(n_lines: int) -> pb.EvaluateRequest:
    """The benchmarks' generated 10-line basket for the generated 1,000-rule ruleset, on the wire."""
    request = generated_request(n_lines)
    msg = pb.EvaluateRequest(ruleset=GENERATED, time=request.at.isoformat(), member=pb.Member(tier="gold"))
    for line in request.lines:
        msg.lines.add(
            id=line.id,
            name=line.name,
            sku=line.sku,
            category=line.category,
            unit_price_fen=line.unit_price,
            quantity_milli=line.quantity,
            tax_rate=str(line.tax),
            tax_code=TAX_CODE,
        )
    return msg


# --------------------------------------------------------------------------- the server


class Server:
    """``promo serve`` in a subprocess, its JSON log in a file, stopped with SIGTERM."""

    def __init__(
        self, rulesets: Path, db: Path, log_path: Path, workers: int, threads: int, root: Path = ROOT
    ) -> None:
        self.log_path = log_path
        self.workers = workers
        self._log = log_path.open("w", encoding="utf-8")
        command = [sys.executable, "-m", "server.cli.main", "serve", "--rulesets", str(rulesets)]
        command += [
            "--db",
            f"sqlite:///{db}",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--no-auth",  # pricing's cost is measured here; bench_trust.py measures the gate and TLS
        ]
        self.process = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=self._log)
        self.port = self._wait_for_port()
        self.target = f"127.0.0.1:{self.port}"

    def _wait_for_port(self, limit: float = 60.0) -> int:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"promo serve exited with {self.process.returncode}; see {self.log_path}")
            serving = [
                json.loads(line)
                for line in self.log_path.read_text(encoding="utf-8").splitlines()
                if '"serving"' in line
            ]
            if len(serving) >= self.workers:  # every worker is up, on the one port
                return int(serving[0]["port"])
            time.sleep(0.1)
        raise SystemExit(f"promo serve did not start within {limit:.0f} s; see {self.log_path}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self._log.close()


# --------------------------------------------------------------------------- load


class Tills:
    """One channel and stub per till, each its own TCP connection (a private subchannel pool)."""

    def __init__(self, target: str, count: int) -> None:
        options = [("grpc.use_local_subchannel_pool", 1)]
        self.channels = [grpc.insecure_channel(target, options=options) for _ in range(count)]
        self.stubs = [pb_grpc.PromotionsStub(c) for c in self.channels]

    def close(self) -> None:
        for channel in self.channels:
            channel.close()


Call = Callable[[pb_grpc.PromotionsStub], object]


def drive(
    tills: Tills, call: Call, name: str, in_flight: int, calls: int, seconds: float, warmup: int = 100
) -> Cell:
    """``calls`` calls (or as many as fit in ``seconds``) from ``in_flight`` tills, each blocking."""
    for k in range(warmup):
        call(tills.stubs[k % in_flight])
    per_thread = [[] for _ in range(in_flight)]
    failures = [0] * in_flight
    versions: list[set[str]] = [set() for _ in range(in_flight)]
    quota = -(-calls // in_flight)
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(in_flight + 1)

    def worker(k: int) -> None:
        stub = tills.stubs[k]
        start.wait()
        clock = time.perf_counter_ns
        for _ in range(quota):
            t0 = clock()
            try:
                reply = call(stub)
            except grpc.RpcError:
                failures[k] += 1
            else:
                per_thread[k].append(clock() - t0)
                version = getattr(getattr(reply, "ruleset", None), "version", "")
                if version:
                    versions[k].add(version)
            if time.monotonic() > stop_at:
                break

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(in_flight)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return Cell(
        name,
        in_flight,
        [x for xs in per_thread for x in xs],
        sum(failures),
        elapsed,
        frozenset().union(*versions),
    )


def enroll(stub: pb_grpc.PromotionsStub, member: pb.Member, programme: str) -> None:
    """Put the sample request's member in the ledger, so Evaluate prices it as a till's member call does."""
    stub.EnrollMember(
        pb.EnrollMemberRequest(
            member_id=member.id,
            tier=member.tier,
            birthday=member.birthday,
            join_date=member.join_date,
            tags=list(member.tags),
            segment=member.segment,
            programme=programme,
        ),
        timeout=TIMEOUT_S,
    )


def bench_framework(tills: Tills, server_pid: int, calls: int, seconds: float, rounds: int) -> list[Cell]:
    """Ping and Evaluate alternate in ``rounds`` slices per cell, so a busy neighbour slows both alike."""
    request = health_basket(10)
    del request.coupon_codes[:]  # a scan: coupons come at payment (each code presented is a ledger read)
    enroll(tills.stubs[0], request.member, request.ruleset)
    ping: Call = lambda stub: stub.Ping(request, timeout=TIMEOUT_S)  # noqa: E731
    evaluate: Call = lambda stub: stub.Evaluate(request, timeout=TIMEOUT_S)  # noqa: E731
    cells = []
    for in_flight in (1, 8):
        slices: dict[str, list[Cell]] = {"Ping": [], "Evaluate": []}
        for _ in range(rounds):
            for name, call in (("Ping", ping), ("Evaluate", evaluate)):
                cpu0 = server_cpu_ns(server_pid)
                cell = drive(tills, call, name, in_flight, calls // rounds, seconds / rounds)
                cpu = server_cpu_ns(server_pid) - cpu0
                slices[name].append(dataclasses.replace(cell, cpu_ns=cpu))
        cells += [_merge(parts) for parts in slices.values()]
    return cells


def server_cpu_ns(pid: int) -> int:
    """User + system CPU of ``promo serve`` (pid) and its worker processes so far, in ns (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])
    return total * 1_000_000_000 // tick


@dataclass(slots=True)
class Slices:
    """One kind of call over several slices: latencies (ns), wall seconds and the server's CPU (ns)."""

    name: str
    latencies: list[int]
    seconds: float = 0.0
    cpu_ns: int = 0

    @property
    def cell(self) -> Cell:
        return Cell(self.name, 8, self.latencies, 0, self.seconds)

    @property
    def cpu_us(self) -> float:
        return self.cpu_ns / max(1, len(self.latencies)) / 1000


def scan_line(lines: list[pb.Line], k: int) -> pb.Line:
    """Scan k of a 10-line basket: line k's quantity goes 1 -> 2 -> 1...; only that line comes back."""
    line = pb.Line()
    line.CopyFrom(lines[k % len(lines)])
    line.quantity_milli = 1000 * (1 + (k // len(lines)) % 2 + 1) if k % 2 else 1000
    return line


def bench_sessions(target: str, server_pid: int, calls: int, seconds: float, rounds: int) -> list[Slices]:
    """8 open sessions scanning (change_line on a 10-line basket) against 8 tills calling Ping, in slices;
    and 8 sessions of an empty basket answering a quote (nothing to price): what a stream message costs
    the framework and the session's plumbing, the ceiling for scans.

    Driven from one asyncio event loop (grpc.aio), 8 tasks each on its own connection: the sync client
    spends more CPU on a stream message than on a unary call (a thread feeds the request iterator), and
    on this 2-core machine the client's CPU is taken from the server's (benchmarks/bench_ceiling.py
    measures both clients against the framework alone)."""
    request = health_basket(10)
    del request.coupon_codes[:]
    payload_lines = list(request.lines)

    async def run() -> list[Slices]:
        options = [("grpc.use_local_subchannel_pool", 1)]
        channels = [grpc.aio.insecure_channel(target, options=options) for _ in range(8)]
        stubs = [pb_grpc.PromotionsStub(c) for c in channels]
        streams, empty = [], []
        for k, stub in enumerate(stubs):
            opening = pb.EvaluateRequest()
            opening.CopyFrom(request)
            opening.transaction_id = f"bench-session-{k}-{time.time_ns()}"
            streams.append(await _open(stub, opening))
            opening.transaction_id += "-empty"
            del opening.lines[:]
            empty.append(await _open(stub, opening))

        async def ping(k: int, n: int) -> None:
            await stubs[k].Ping(request, timeout=TIMEOUT_S)

        async def scan(k: int, n: int) -> None:
            await _send(streams[k], pb.SessionRequest(seq=n, change_line=scan_line(payload_lines, n)))

        async def idle(k: int, n: int) -> None:
            await _send(empty[k], pb.SessionRequest(seq=n, quote=pb.SessionQuote()))

        kinds = {"Ping": ping, "scan": scan, "idle": idle}
        out = {name: Slices(name, []) for name in kinds}
        for send in kinds.values():  # warm up
            await _slice(send, 20, 60.0, [])
        for _ in range(rounds):
            for name, send in kinds.items():
                cpu0, t0 = server_cpu_ns(server_pid), time.perf_counter()
                await _slice(send, -(-calls // rounds // 8), seconds / rounds, out[name].latencies)
                out[name].seconds += time.perf_counter() - t0
                out[name].cpu_ns += server_cpu_ns(server_pid) - cpu0
        for call in streams + empty:
            await call.done_writing()
        for channel in channels:
            await channel.close()
        return list(out.values())

    return asyncio.run(run())


async def _open(stub: pb_grpc.PromotionsStub, opening: pb.EvaluateRequest) -> object:
    call = stub.TillSession(timeout=600)
    await _send(call, pb.SessionRequest(open=opening))
    return call


async def _send(call: object, msg: pb.SessionRequest) -> pb.SessionReply:
    await call.write(msg)  # type: ignore[attr-defined]
    reply = await call.read()  # type: ignore[attr-defined]
    if reply.HasField("error"):
        raise SystemExit(f"session refused {msg.WhichOneof('action')}: {reply.error.details}")
    return reply


async def _slice(
    send: Callable[[int, int], object], quota: int, seconds: float, latencies: list[int]
) -> None:
    """Each of the 8 tills sends ``quota`` messages back to back (or for ``seconds``)."""
    stop_at = time.monotonic() + seconds

    async def till(k: int) -> None:
        clock = time.perf_counter_ns
        for n in range(quota):
            t0 = clock()
            await send(k, n)  # type: ignore[misc]
            latencies.append(clock() - t0)
            if time.monotonic() > stop_at:
                break

    await asyncio.gather(*(till(k) for k in range(8)))


def report_sessions(parts: list[Slices]) -> None:
    ping, scan, idle = parts
    print(
        f"  {'':<10} {'in flight':>9} {'calls':>7} {'p50 us':>9} {'p99 us':>9} {'per s':>9} "
        f"{'server cpu us':>13}"
    )
    for part in parts:
        c = part.cell
        print(
            f"  {c.name:<10} {c.in_flight:>9} {len(c.latencies):>7} "
            f"{c.percentile(50):>9.0f} {c.percentile(99):>9.0f} {c.throughput:>9.0f} {part.cpu_us:>13.0f}"
        )
    print(
        f"  scan messages/s over Ping calls/s: {scan.cell.throughput / ping.cell.throughput:.2f}"
        f"   server CPU per Ping over per scan: {ping.cpu_us / scan.cpu_us:.2f}   (target >= 1.5)"
    )
    print(
        "  the ceiling, messages with nothing to price (idle) over Ping: "
        f"{idle.cell.throughput / ping.cell.throughput:.2f} per s, "
        f"{ping.cpu_us / idle.cpu_us:.2f} in server CPU"
    )


def _merge(parts: list[Cell]) -> Cell:
    first = parts[0]
    return Cell(
        first.name,
        first.in_flight,
        [x for p in parts for x in p.latencies],
        sum(p.failures for p in parts),
        sum(p.seconds for p in parts),
        cpu_ns=sum(p.cpu_ns for p in parts),
    )


def bench_reload(tills: Tills, rules_file: Path, seconds: float) -> tuple[Cell, int]:
    """8 calls in flight on the 1,000-rule ruleset while its file is rewritten 3 times."""
    request = generated_basket(10)
    texts = [generated_ruleset(1000, variant=v) for v in (1, 2, 0)]
    rewrites = 0
    done = threading.Event()

    def rewrite() -> None:
        nonlocal rewrites
        for text in texts:
            if done.wait(seconds / 4):
                return
            rules_file.write_text(text, encoding="utf-8")  # in place: the watcher may see it half written
            rewrites += 1

    writer = threading.Thread(target=rewrite, daemon=True)
    writer.start()
    cell = drive(
        tills,
        lambda stub: stub.Evaluate(request, timeout=TIMEOUT_S),
        "Evaluate during reload",
        8,
        10**9,
        seconds,
    )
    done.set()
    writer.join()
    return cell, rewrites


# --------------------------------------------------------------------------- report


def report(cells: list[Cell]) -> None:
    print(
        f"  {'rpc':<10} {'in flight':>9} {'calls':>7} {'failed':>6} "
        f"{'p50 us':>9} {'p99 us':>9} {'calls/s':>9} {'server cpu us':>13}"
    )
    for c in cells:
        print(
            f"  {c.name:<10} {c.in_flight:>9} {len(c.latencies):>7} {c.failures:>6} "
            f"{c.percentile(50):>9.0f} {c.percentile(99):>9.0f} {c.throughput:>9.0f} {c.cpu_us:>13.0f}"
        )
    by = {(c.name, c.in_flight): c for c in cells}
    for n in (1, 8):
        ping, evaluate = by[("Ping", n)], by[("Evaluate", n)]
        print(
            f"  {n} in flight: throughput Evaluate/Ping {evaluate.throughput / ping.throughput:.2f}"
            f"   p99 Evaluate/Ping {evaluate.percentile(99) / ping.percentile(99):.2f}"
            f"   p50 Evaluate/Ping {evaluate.percentile(50) / ping.percentile(50):.2f}"
            f"   server CPU Ping/Evaluate {ping.cpu_us / evaluate.cpu_us:.2f}"
        )
    print("  targets: throughput Evaluate/Ping at 8 in flight >= 0.8; p99 Evaluate/Ping <= 1.5")


def report_reload(log_path: Path, workers: int, seconds: float, cell: Cell, rewrites: int) -> None:
    # each worker loads the two files at start, then reloads on its own
    loaded = count_log_events(log_path, "ruleset_loaded") - 2 * workers
    refused = count_log_events(log_path, "ruleset_refused")
    print(f"reload of a 1,000-rule ruleset under load (8 in flight, {seconds:.0f} s)")
    print(
        f"  {rewrites} rewrites -> {loaded} reloads over {workers} worker(s) "
        f"({refused} half-written reads refused, the old version kept serving)"
        f"; versions answered: {len(cell.versions)}"
    )
    print(
        f"  {len(cell.latencies) + cell.failures} calls, {cell.failures} failed; "
        f"p50 {cell.percentile(50):.0f} us, p99 {cell.percentile(99):.0f} us, "
        f"max {max(cell.latencies, default=0) / 1000:.0f} us"
    )


def count_log_events(log_path: Path, event: str) -> int:
    return sum(1 for line in log_path.read_text(encoding="utf-8").splitlines() if f'"{event}"' in line)


def report_handler_time(log_path: Path) -> None:
    """The server's own time per call (the handler, as its log line says), by method and ruleset."""
    times: dict[tuple[str, str], list[int]] = {}
    for line in log_path.read_text(encoding="utf-8").splitlines():
        if '"rpc"' in line:
            entry = json.loads(line)
            times.setdefault((entry["method"], entry["ruleset"]), []).append(entry["latency_us"])
    print("server's own time per call (handler only, from the log; all cells and warm-ups)")
    for (method, ruleset), values in sorted(times.items()):
        values.sort()
        p50, p99 = values[len(values) // 2], values[min(len(values) - 1, len(values) * 99 // 100)]
        print(f"  {method:<10} {ruleset:<16} {len(values):>7} calls   p50 {p50:>6} us   p99 {p99:>6} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="promo serve --workers (default 1)")
    parser.add_argument("--threads", type=int, default=4, help="promo serve --threads (default 4)")
    parser.add_argument("--no-reload", action="store_true", help="skip the reload-under-load part")
    parser.add_argument("--calls", type=int, default=3000, help="timed calls per cell")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit per cell")
    parser.add_argument("--rounds", type=int, default=3, help="Ping/Evaluate alternations per cell")
    parser.add_argument("--quick", action="store_true", help="300 calls per cell, a short reload")
    parser.add_argument(
        "--server-root",
        type=Path,
        default=ROOT,
        help="serve from this checkout (another branch's, for a paired A/B run); default this one",
    )
    args = parser.parse_args()
    calls = 300 if args.quick else args.calls
    reload_seconds = 4.0 if args.quick else 12.0
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="bench-grpc-") as raw:
        tmp = Path(raw)
        rulesets = tmp / "rulesets"
        rulesets.mkdir()
        shutil.copytree(ROOT / "rulesets" / "health", rulesets / "health")
        rules_file = rulesets / "generated-1000.rules"
        rules_file.write_text(generated_ruleset(1000), encoding="utf-8")
        workers = max(1, args.workers)
        server = Server(
            rulesets, tmp / "ledger.db", tmp / "server.log", workers, args.threads, args.server_root
        )
        tills = Tills(server.target, 8)
        try:
            print(f"server code: {args.server_root}")
            print(
                f"Evaluate vs Ping, 10-line basket, ruleset ruyi-health, {workers} worker(s) of "
                f"{args.threads} thread(s), "
                f"one connection per till ({calls} calls per cell)"
            )
            report(bench_framework(tills, server.process.pid, calls, args.seconds, max(1, args.rounds)))
            print(
                "till sessions: 8 open TillSession streams, each scan a change_line on a 10-line basket "
                "(grpc.aio client)"
            )
            report_sessions(
                bench_sessions(server.target, server.process.pid, calls, args.seconds, max(1, args.rounds))
            )
            reload = None if args.no_reload else bench_reload(tills, rules_file, reload_seconds)
        finally:
            tills.close()
            code = server.stop()
        if reload is not None:
            report_reload(server.log_path, workers, reload_seconds, *reload)
        report_handler_time(server.log_path)
        print(f"server exit code after SIGTERM: {code}")
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
