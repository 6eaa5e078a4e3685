"""Assemble a gRPC server: the Promotions and Admin services, health checking and reflection.

:func:`create_server` only builds and binds; starting, signals and processes are
:mod:`server.rpc.serve`'s job, so a test can bind ``127.0.0.1:0`` and call the real stack
in-process. Nothing here runs at import time.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rpc.ledger import AdminServicer, LedgerPromotionsServicer
from server.rpc.logs import get_logger
from server.rulesets.registry import FileState, RulesetRegistry
from server.sales.desk import MAX_CLOCK_SKEW
from server.sales.pricing import Evaluator, default_evaluate
from server.sales.session import MAX_SESSIONS, SessionBook
from server.storage.store import Ledger
from server.trust.gate import Gate
from server.trust.tokens import StaticCallers

__all__ = ["ADMIN_SERVICE_NAME", "DEFAULT_THREADS", "SERVICE_NAME", "Deps", "create_server"]

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Promotions"].full_name  # "promo.v1.Promotions"
ADMIN_SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Admin"].full_name  # "promo.v1.Admin"
DEFAULT_THREADS = 4
"""Call threads per process (``promo serve --threads``); why so few: :attr:`Deps.max_workers`."""
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True, slots=True)
class Deps:
    """What a server is built from; tests swap ``evaluate`` to inject faults or slowness."""

    registry: RulesetRegistry
    evaluate: Evaluator = default_evaluate
    # Calls that work at once (the gate below); the rest wait. Pricing holds the GIL, so more
    # threads add no speed, only contention: each time a call releases the GIL (a database
    # read) it waits a switch interval (5 ms) per busy thread to get it back. With 16 threads
    # a 1 ms Evaluate had a p99 of 56 ms under 8 tills; with 4 it is under 5 ms. A few are
    # kept so a commit waiting on the database does not stop every other call of the process.
    # With the member cache, 1 against 4 for scans (bench_grpc.py, Evaluate/Ping at 8 tills, load
    # 6-9 on 2 cores) was within the noise: 0.67-0.93 against 0.74-0.92; for commits 1 loses
    # (bench_commits.py, PostgreSQL, 2 workers, 8 tills: 150-181 commits/s against 384-431).
    # Scale out with `promo serve --workers`, one process per core.
    max_workers: int = DEFAULT_THREADS
    # Till sessions (Promotions.TillSession) open at once. A sync gRPC stream holds a pool thread
    # for its whole life, waiting for the till's next scan, so the pool has max_workers +
    # max_sessions threads; a gate (a semaphore of max_workers) still lets only max_workers
    # calls or session messages work at once, the others sleep on it (no GIL convoy).
    max_sessions: int = MAX_SESSIONS
    health: health.HealthServicer = field(
        default_factory=lambda: health.HealthServicer(experimental_non_blocking=True)
    )
    # The members/sales ledger; None serves pricing only (the ledger RPCs answer UNIMPLEMENTED).
    ledger: Ledger | None = None
    # Who may call: by default nobody but health checks (a server must be told its callers,
    # or be given Gate(None), which is `promo serve --no-auth`).
    gate: Gate = field(default_factory=lambda: Gate(StaticCallers({})))
    # TLS; None listens in plain text (serve.py allows that on loopback only, or with --insecure).
    credentials: grpc.ServerCredentials | None = None
    # How far ahead of this server's clock a committed sale may be dated.
    max_clock_skew: timedelta = MAX_CLOCK_SKEW


def create_server(address: str, deps: Deps, *, reuse_port: bool = False) -> tuple[grpc.Server, int]:
    """A bound, not yet started server and the port it got (``address`` may end in ``:0``).

    ``reuse_port`` lets several worker processes bind one port; otherwise it is off, so a
    port already in use is an error instead of two servers silently sharing it.
    """
    server = grpc.server(
        ThreadPoolExecutor(max_workers=deps.max_workers + deps.max_sessions, thread_name_prefix="rpc"),
        options=[("grpc.so_reuseport", int(reuse_port))],
        interceptors=[deps.gate],
    )
    call_slots = threading.BoundedSemaphore(deps.max_workers)  # --threads calls work at once
    promotions = LedgerPromotionsServicer(
        deps.registry,
        deps.evaluate,
        deps.ledger,
        deps.max_clock_skew,
        gate=call_slots,
        sessions=SessionBook(deps.max_sessions),
    )
    pb_grpc.add_PromotionsServicer_to_server(promotions, server)
    pb_grpc.add_AdminServicer_to_server(AdminServicer(deps.registry, deps.ledger, call_slots), server)
    health_pb2_grpc.add_HealthServicer_to_server(deps.health, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            ADMIN_SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    _track(deps.registry, deps.health)
    if deps.credentials is not None:
        port = server.add_secure_port(address, deps.credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:  # older grpc returns 0 instead of raising
        raise RuntimeError(f"cannot listen on {address}")
    return server, port


def _track(registry: RulesetRegistry, checker: health.HealthServicer) -> None:
    """Health follows the registry: SERVING while at least one ruleset serves; every event is logged."""
    log = get_logger()

    def set_health() -> None:
        status = _SERVING if registry.ready else _NOT_SERVING
        for service in ("", SERVICE_NAME):
            checker.set(service, status)

    def on_event(event: str, state: FileState) -> None:
        _log_event(log, event, state)
        set_health()

    set_health()
    registry.subscribe(on_event)


def _log_event(log: Any, event: str, state: FileState) -> None:
    compiled = state.compiled
    fields = {
        "path": state.path,
        "ruleset": state.name or "",
        "version": compiled.version if compiled is not None else "",
    }
    if event in ("ruleset_refused", "ruleset_watch_failed"):
        log.warning(event, error=state.last_error, **fields)
    else:
        log.info(event, **fields)
