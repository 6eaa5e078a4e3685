"""What authentication and TLS cost: Evaluate throughput with the gate and TLS on vs off, in one run.

    python benchmarks/bench_trust.py [--calls N] [--rounds R] [--in-flight K]

Starts three `promo serve` processes on loopback over one SQLite ledger holding one till
token: ``off`` (``--no-auth``, plain text), ``auth`` (the token checked by the gate, plain
text) and ``auth+tls`` (the token over TLS with a throwaway CA made here). The tills call a
10-line guest Evaluate (no ledger read, so only the framework, the gate and TLS differ), the
three servers alternating in slices so a busy neighbour slows them alike; calls per second
and the ratios to ``off`` are printed. The client runs on the same cores and its token
interceptor costs client time too, so the gate's own cost is also timed in-process (a bare
handler vs the same handler behind the gate). Numbers only: no pass/fail here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "trust"))  # the throwaway CA of the TLS tests

import grpc  # noqa: E402
from certs import Ca  # noqa: E402

from benchmarks.bench_grpc import health_basket  # noqa: E402
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc  # noqa: E402
from server.trust.client import open_channel  # noqa: E402
from server.trust.tls import client_credentials  # noqa: E402


class Server:
    def __init__(self, name: str, tmp: Path, db: str, *flags: str) -> None:
        self.name = name
        self.log_path = tmp / f"{name}.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        command = [sys.executable, "-m", "server.cli.main", "serve", "--rulesets", str(tmp / "rulesets")]
        command += ["--db", db, "--host", "127.0.0.1", "--port", "0", *flags]
        env = {**os.environ, "PROMO_DEV_TOKEN_DIR": str(tmp / "dev")}
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._log, env=env
        )
        self.port = self._wait()

    def _wait(self, limit: float = 60.0) -> int:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name}: promo serve exited; see {self.log_path}")
            for line in self.log_path.read_text(encoding="utf-8").splitlines():
                if '"serving"' in line:
                    return int(json.loads(line)["port"])
            time.sleep(0.1)
        raise SystemExit(f"{self.name}: promo serve did not start; see {self.log_path}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        self._log.close()


def run_slice(channels: list[grpc.Channel], calls: int) -> float:
    """Seconds for ``calls`` Evaluates spread over the channels, one blocking thread per channel."""
    request = health_basket(10)
    request.ClearField("member")
    stubs = [pb_grpc.PromotionsStub(c) for c in channels]
    per = calls // len(stubs)

    def till(stub: pb_grpc.PromotionsStub) -> None:
        for _ in range(per):
            stub.Evaluate(request, timeout=10)

    threads = [threading.Thread(target=till, args=(s,)) for s in stubs]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per slice")
    parser.add_argument("--rounds", type=int, default=5, help="slices per configuration")
    parser.add_argument("--in-flight", type=int, default=4, help="tills calling at once")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="bench-trust-") as raw:
        tmp = Path(raw)
        (tmp / "rulesets").mkdir()
        shutil.copytree(ROOT / "rulesets" / "health", tmp / "rulesets" / "health")
        db = f"sqlite:///{tmp / 'ledger.db'}"
        create = ["token", "create", "--role", "till", "--name", "bench", "--db", db]
        created = subprocess.run(
            [sys.executable, "-m", "server.cli.main", *create],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        token = created.stdout.splitlines()[0]
        ca = Ca(tmp)
        cert, key = ca.issue("localhost", server=True)
        servers = [
            Server("off", tmp, db, "--no-auth"),
            Server("auth", tmp, db),
            Server("auth+tls", tmp, db, "--tls-cert", str(cert), "--tls-key", str(key)),
        ]
        try:
            channels = {
                "off": [open_channel(f"127.0.0.1:{servers[0].port}") for _ in range(args.in_flight)],
                "auth": [open_channel(f"127.0.0.1:{servers[1].port}", token) for _ in range(args.in_flight)],
                "auth+tls": [
                    open_channel(f"localhost:{servers[2].port}", token, client_credentials(ca.path))
                    for _ in range(args.in_flight)
                ],
            }
            for chans in channels.values():  # warm up: connections, handshakes, caches
                run_slice(chans, 200)
            totals = dict.fromkeys(channels, 0.0)
            for _ in range(args.rounds):
                for name, chans in channels.items():
                    totals[name] += run_slice(chans, args.calls)
            calls = args.calls // args.in_flight * args.in_flight * args.rounds
            print(
                f"Evaluate, 10-line guest basket, {args.in_flight} in flight, {calls} calls per configuration"
            )
            base = calls / totals["off"]
            for name, seconds in totals.items():
                rate = calls / seconds
                print(f"  {name:9s} {rate:8.0f} calls/s   x{base / rate:.3f} of off's time per call")
            print(f"  the gate alone (auth / off): x{totals['auth'] / totals['off']:.3f}")
            print(f"  TLS on top (auth+tls / auth): x{totals['auth+tls'] / totals['auth']:.3f}")
            bare, gated = gate_cost_us()
            per_call = 1e6 * totals["off"] / calls  # the server's time per Evaluate, saturated
            print(
                f"  the gate in-process: {gated - bare:.1f} us per call on top of a bare handler, "
                f"{100 * (gated - bare) / per_call:.1f}% of off's {per_call:.0f} us per Evaluate"
            )
        finally:
            for chans in channels.values() if "channels" in locals() else ():
                for c in chans:
                    c.close()
            for s in servers:
                s.stop()
    print(f"load average {os.getloadavg()[0]:.2f} at end")


def gate_cost_us(calls: int = 20000) -> tuple[float, float]:
    """Microseconds per call of a bare handler, and of the same handler behind the gate (in-process,
    with a stand-in context: the gate's own work, without the network's noise)."""
    from server.trust.gate import Gate
    from server.trust.tokens import Caller, StaticCallers

    token = "bench-token"
    gate = Gate(StaticCallers({token: Caller("bench", "till")}))

    class Context:
        def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
            return (("authorization", f"Bearer {token}"), ("x-request-id", "r"))

        def auth_context(self) -> dict[str, list[bytes]]:
            return {}

    def behaviour(request: object, context: object) -> object:
        return request

    class Details:
        method = "/promo.v1.Promotions/Evaluate"

    handler = grpc.unary_unary_rpc_method_handler(behaviour, lambda b: b, lambda b: b)
    gated = gate.intercept_service(lambda _d: handler, Details()).unary_unary
    context = Context()
    out = []
    for call in (behaviour, gated, behaviour, gated):
        start = time.perf_counter_ns()
        for _ in range(calls):
            call(b"", context)
        out.append((time.perf_counter_ns() - start) / calls / 1000)
    return min(out[0], out[2]), min(out[1], out[3])


if __name__ == "__main__":
    main()
