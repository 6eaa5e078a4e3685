"""gRPC benchmark: Evaluate next to the no-op Ping, and a ruleset reload under load.

    python benchmarks/bench_grpc.py [--workers N] [--threads T] [--calls N] [--seconds S] [--rounds R]
                                    [--quick] [--no-reload]

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
over Ping calls per second. Then a 1,000-rule ruleset is rewritten three times while 8 calls
stay in flight against it, and every failed call is counted (it must be 0).
Numbers only: no pass/fail here.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
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
from server.wire.request import request_from_json  # noqa: E402

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

    def __init__(self, rulesets: Path, db: Path, log_path: Path, workers: int, threads: int) -> None:
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
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._log)
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


def enroll(stub: pb_grpc.PromotionsStub, member: pb.Member) -> None:
    """Put the sample request's member in the ledger, so Evaluate prices it as a till's member call does."""
    stub.EnrollMember(
        pb.EnrollMemberRequest(
            member_id=member.id,
            tier=member.tier,
            birthday=member.birthday,
            join_date=member.join_date,
            tags=list(member.tags),
            segment=member.segment,
        ),
        timeout=TIMEOUT_S,
    )


def bench_framework(tills: Tills, calls: int, seconds: float, rounds: int) -> list[Cell]:
    """Ping and Evaluate alternate in ``rounds`` slices per cell, so a busy neighbour slows both alike."""
    request = health_basket(10)
    del request.coupon_codes[:]  # a scan: coupons come at payment (each code presented is a ledger read)
    enroll(tills.stubs[0], request.member)
    ping: Call = lambda stub: stub.Ping(request, timeout=TIMEOUT_S)  # noqa: E731
    evaluate: Call = lambda stub: stub.Evaluate(request, timeout=TIMEOUT_S)  # noqa: E731
    cells = []
    for in_flight in (1, 8):
        slices: dict[str, list[Cell]] = {"Ping": [], "Evaluate": []}
        for _ in range(rounds):
            for name, call in (("Ping", ping), ("Evaluate", evaluate)):
                slices[name].append(drive(tills, call, name, in_flight, calls // rounds, seconds / rounds))
        cells += [_merge(parts) for parts in slices.values()]
    return cells


class Session:
    """One till's open TillSession stream: send a message, wait for its reply (the stream stays open)."""

    def __init__(self, stub: pb_grpc.PromotionsStub, opening: pb.EvaluateRequest) -> None:
        self._out: queue.Queue[pb.SessionRequest | None] = queue.Queue()
        self._replies = stub.TillSession(iter(self._out.get, None), timeout=600)
        self.lines = list(opening.lines)
        self.send(pb.SessionRequest(open=opening))

    def send(self, msg: pb.SessionRequest) -> pb.SessionReply:
        self._out.put(msg)
        reply = next(self._replies)
        if reply.HasField("error"):
            raise SystemExit(f"session refused {msg.WhichOneof('action')}: {reply.error.details}")
        return reply

    def idle(self, k: int) -> pb.SessionReply:
        """A message with nothing to price (a quote of an empty basket): the stream's own cost."""
        return self.send(pb.SessionRequest(seq=k, quote=pb.SessionQuote()))

    def scan(self, k: int) -> pb.SessionReply:
        """A scan on a 10-line basket: line k's quantity goes 1 -> 2 -> 1...; only that line comes back."""
        line = pb.Line()
        line.CopyFrom(self.lines[k % len(self.lines)])
        line.quantity_milli = 1000 * (1 + (k // len(self.lines)) % 2 + 1) if k % 2 else 1000
        return self.send(pb.SessionRequest(change_line=line))

    def close(self) -> None:
        self._out.put(None)


def drive_sessions(sessions: list[Session], calls: int, seconds: float, name: str = "scan") -> Cell:
    """``calls`` scan messages (or as many as fit in ``seconds``) over the open sessions, one thread each."""
    quota = -(-calls // len(sessions))
    per_thread: list[list[int]] = [[] for _ in sessions]
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(len(sessions) + 1)

    def worker(k: int) -> None:
        session, clock = sessions[k], time.perf_counter_ns
        start.wait()
        send = session.scan if name == "scan" else session.idle
        for n in range(quota):
            t0 = clock()
            send(n)
            per_thread[k].append(clock() - t0)
            if time.monotonic() > stop_at:
                break

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(len(sessions))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return Cell(name, len(sessions), [x for xs in per_thread for x in xs], 0, time.perf_counter() - t0)


def bench_sessions(tills: Tills, calls: int, seconds: float, rounds: int) -> list[Cell]:
    """8 open sessions scanning (change_line on a 10-line basket) against 8 tills calling Ping, in slices;
    and 8 sessions of an empty basket answering a quote (nothing to price): what a stream message costs
    the framework and the session's plumbing, the ceiling for scans."""
    request = health_basket(10)
    del request.coupon_codes[:]
    ping: Call = lambda stub: stub.Ping(request, timeout=TIMEOUT_S)  # noqa: E731
    sessions, empty = [], []
    for k, stub in enumerate(tills.stubs):
        opening = pb.EvaluateRequest()
        opening.CopyFrom(request)
        opening.transaction_id = f"bench-session-{k}-{time.time_ns()}"
        sessions.append(Session(stub, opening))
        opening.transaction_id += "-empty"
        del opening.lines[:]
        empty.append(Session(stub, opening))
    try:
        for session in sessions:  # warm up
            for n in range(20):
                session.scan(n)
        slices: dict[str, list[Cell]] = {"Ping": [], "scan": [], "idle": []}
        for _ in range(rounds):
            slices["Ping"].append(drive(tills, ping, "Ping", 8, calls // rounds, seconds / rounds))
            slices["scan"].append(drive_sessions(sessions, calls // rounds, seconds / rounds))
            slices["idle"].append(drive_sessions(empty, calls // rounds, seconds / rounds, "idle"))
    finally:
        for session in sessions + empty:
            session.close()
    return [_merge(parts) for parts in slices.values()]


def report_sessions(cells: list[Cell]) -> None:
    ping, scan, idle = cells
    print(f"  {'':<10} {'in flight':>9} {'calls':>7} {'p50 us':>9} {'p99 us':>9} {'per s':>9}")
    for c in cells:
        print(
            f"  {c.name:<10} {c.in_flight:>9} {len(c.latencies):>7} "
            f"{c.percentile(50):>9.0f} {c.percentile(99):>9.0f} {c.throughput:>9.0f}"
        )
    print(f"  scan messages/s over Ping calls/s: {scan.throughput / ping.throughput:.2f}   (target >= 1.5)")
    ceiling = idle.throughput / ping.throughput
    print(f"  the ceiling: messages with nothing to price (idle) over Ping: {ceiling:.2f}")


def _merge(parts: list[Cell]) -> Cell:
    first = parts[0]
    return Cell(
        first.name,
        first.in_flight,
        [x for p in parts for x in p.latencies],
        sum(p.failures for p in parts),
        sum(p.seconds for p in parts),
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
        f"{'p50 us':>9} {'p99 us':>9} {'calls/s':>9}"
    )
    for c in cells:
        print(
            f"  {c.name:<10} {c.in_flight:>9} {len(c.latencies):>7} {c.failures:>6} "
            f"{c.percentile(50):>9.0f} {c.percentile(99):>9.0f} {c.throughput:>9.0f}"
        )
    by = {(c.name, c.in_flight): c for c in cells}
    for n in (1, 8):
        ping, evaluate = by[("Ping", n)], by[("Evaluate", n)]
        print(
            f"  {n} in flight: throughput Evaluate/Ping {evaluate.throughput / ping.throughput:.2f}"
            f"   p99 Evaluate/Ping {evaluate.percentile(99) / ping.percentile(99):.2f}"
            f"   p50 Evaluate/Ping {evaluate.percentile(50) / ping.percentile(50):.2f}"
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
        server = Server(rulesets, tmp / "ledger.db", tmp / "server.log", workers, args.threads)
        tills = Tills(server.target, 8)
        try:
            print(
                f"Evaluate vs Ping, 10-line basket, ruleset ruyi-health, {workers} worker(s) of "
                f"{args.threads} thread(s), "
                f"one connection per till ({calls} calls per cell)"
            )
            report(bench_framework(tills, calls, args.seconds, max(1, args.rounds)))
            print("till sessions: 8 open TillSession streams, each scan a change_line on a 10-line basket")
            report_sessions(bench_sessions(tills, calls, args.seconds, max(1, args.rounds)))
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
