"""Run the service: one process, or N worker processes sharing one port.

Pricing is CPU-bound and Python runs one thread at a time, so capacity comes from
processes: ``workers`` processes each bind the same port with SO_REUSEPORT and the
kernel spreads connections among them. They are forked before any gRPC server exists
(gRPC's examples/python/multiprocessing), and each loads and watches the ruleset
folder itself. SIGTERM or SIGINT stops accepting calls, lets the calls in flight
finish (up to ``grace`` seconds), and exits 0; the parent forwards the signal to its
workers and waits for them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import wait
from pathlib import Path

from server.rpc.app import DEFAULT_THREADS, Deps, create_server
from server.rpc.logs import get_logger
from server.rulesets.published import PublishedRegistry
from server.rulesets.registry import RulesetRegistry
from server.storage.errors import DatabaseUnavailable
from server.storage.store import Ledger
from server.trust.devtoken import issue_dev_token
from server.trust.gate import Gate
from server.trust.masking import mask_url
from server.trust.tls import TlsFiles, is_loopback, server_credentials
from server.trust.tokens import LedgerCallers

__all__ = ["CannotListen", "ServeOptions", "open_ledger", "serve"]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class CannotListen(Exception):
    """The address cannot be bound (in use, not ours, not an address): nothing was started."""


@dataclass(frozen=True, slots=True)
class ServeOptions:
    rulesets: Path
    db: str
    host: str = "[::]"
    port: int = 50051
    workers: int = 1
    threads: int = DEFAULT_THREADS  # call threads per worker process (Deps.max_workers)
    grace: float = 10.0  # seconds the calls in flight get to finish on shutdown
    poll: float = 1.0  # seconds between two looks at the ruleset folder (or the published versions)
    from_db: bool = False  # serve what `promo publish` stored in the ledger, not the folder
    tls: TlsFiles | None = None
    insecure: bool = False  # plain text on a non-loopback address, knowingly
    no_auth: bool = False  # development only: loopback, nobody is asked who they are
    max_clock_skew_s: float = 300.0  # how far ahead of our clock a committed sale may be dated


def check_exposure(options: ServeOptions) -> str | None:
    """Why these options must not serve (None: they may); a warning is logged for --insecure."""
    loopback = is_loopback(options.host)
    if options.no_auth and not loopback:
        return f"--no-auth serves anyone: it is refused on {options.host} (use a loopback address)"
    if options.tls is None and not loopback and not options.insecure:
        return (
            f"plain text on {options.host} would expose the store's traffic: give --tls-cert and "
            "--tls-key, bind 127.0.0.1, or pass --insecure on a network you trust"
        )
    return None


def serve(options: ServeOptions) -> int:
    """Serve until SIGTERM/SIGINT; the exit code (0 after a clean drain)."""
    refused = check_exposure(options)
    if refused is not None:
        raise CannotListen(refused)
    if options.tls is None and not is_loopback(options.host):
        get_logger().warning("plaintext_on_network", host=options.host, hint="--insecure was given")
    if options.workers <= 1:
        return _run_worker(options, options.port, reuse_port=False)
    return _run_workers(options)  # it migrates once, before the workers fork and open their own


def _gate(options: ServeOptions, ledger: Ledger) -> Gate:
    """Callers from the ledger's callers table, or nobody asked (``--no-auth``)."""
    if options.no_auth:
        get_logger().warning("no_auth", hint="every caller may call everything; development only")
        return Gate(None)
    return Gate(LedgerCallers(ledger.engine))


def _dev_token(options: ServeOptions, ledger: Ledger, port: int) -> None:
    """On loopback in plain text with no callers configured: a till token for `promo client`."""
    if options.no_auth or options.tls is not None or not is_loopback(options.host):
        return
    path = issue_dev_token(ledger.engine, port)
    if path is not None:
        get_logger().info("dev_token", file=str(path), role="till", hint="promo client reads it on loopback")


# --------------------------------------------------------------------------- one process


def _run_worker(options: ServeOptions, port: int, *, reuse_port: bool, parent: int | None = None) -> int:
    """Serve in this process until a stop signal (or, for a worker, until its ``parent`` is gone)."""
    log = get_logger()
    ledger = open_ledger(options.db)
    registry = PublishedRegistry(ledger) if options.from_db else RulesetRegistry(options.rulesets)
    credentials = server_credentials(options.tls) if options.tls is not None else None
    deps = Deps(
        registry,
        ledger=ledger,
        gate=_gate(options, ledger),
        credentials=credentials,
        max_clock_skew=timedelta(seconds=options.max_clock_skew_s),
        max_workers=options.threads,
    )
    address = _address(options.host, port)
    try:
        server, bound = create_server(address, deps, reuse_port=reuse_port)
    except RuntimeError as exc:  # grpc's way of saying the bind failed
        raise CannotListen(f"cannot listen on {address}: {exc}") from None
    if parent is None:  # the parent of several workers issued it already
        _dev_token(options, ledger, bound)
    stop = _stop_event()
    registry.refresh()
    if not registry.ready:
        log.warning("no_ruleset_serving", rulesets=str(options.rulesets), health="NOT_SERVING")
    _settle_heap()
    server.start()
    registry.watch(options.poll)
    where = {"host": options.host, "port": bound, "rulesets": str(options.rulesets)}
    log.info(
        "serving", **where, db=mask_url(options.db), tls=options.tls is not None, auth=not options.no_auth
    )
    while not stop.wait(1.0):
        if parent is not None and os.getppid() != parent:  # the parent was killed outright
            log.error("parent_gone", parent=parent)
            break
    log.info("stopping", grace_s=options.grace)
    deps.health.enter_graceful_shutdown()  # load balancers stop sending before the port closes
    server.stop(options.grace).wait()
    registry.close()
    ledger.engine.dispose()
    log.info("stopped")
    return 0


def _settle_heap() -> None:
    """Move everything loaded so far out of the garbage collector's sight before serving.

    The modules, protobuf descriptors, SQLAlchemy metadata and compiled rulesets live as
    long as the process; with them in the oldest generation, every full collection walks
    some 80,000 objects (about 20 ms here) while all calls in flight wait, which is most
    of the p99. Frozen, a full collection only sees what requests allocate (CPython's
    ``gc.freeze``, meant for exactly this).
    """
    gc.collect()
    gc.freeze()


def open_ledger(url: str) -> Ledger:
    """The ledger on ``url``, its schema brought to this release's (an empty or older database is upgraded).

    Each process opens its own engine (after the fork): a connection pool must never cross a fork.
    """
    try:
        return Ledger.open(url)
    except DatabaseUnavailable as exc:
        raise CannotListen(f"cannot open the ledger database: {mask_url(str(exc))}") from None


def _stop_event() -> threading.Event:
    """An event set by the first SIGTERM or SIGINT (handlers must be installed in the main thread)."""
    stop = threading.Event()
    for signum in _STOP_SIGNALS:
        signal.signal(signum, lambda _signum, _frame: stop.set())
    return stop


def _address(host: str, port: int) -> str:
    return f"{host}:{port}"


# --------------------------------------------------------------------------- several processes


def _run_workers(options: ServeOptions) -> int:
    log = get_logger()
    with _reserved_port(options.host, options.port) as port:
        ledger = open_ledger(options.db)
        _dev_token(options, ledger, port)
        ledger.engine.dispose()
        context = multiprocessing.get_context("fork")
        workers = [
            context.Process(target=_worker_main, args=(options, port, os.getpid()), name=f"promo-worker-{k}")
            for k in range(options.workers)
        ]
        for worker in workers:
            worker.start()
        stopping = threading.Event()

        def forward(signum: int, _frame: object) -> None:
            stopping.set()
            for worker in workers:
                if worker.pid is not None and worker.exitcode is None:
                    os.kill(worker.pid, signum)

        for signum in _STOP_SIGNALS:
            signal.signal(signum, forward)
        log.info("workers_started", workers=[w.pid for w in workers], port=port)
        running, died = list(workers), False
        while running:
            wait([w.sentinel for w in running], timeout=1.0)
            for worker in [w for w in running if w.exitcode is not None]:
                running.remove(worker)
                if not stopping.is_set():  # a worker died on its own: stop the rest, report failure
                    log.error("worker_died", pid=worker.pid, exitcode=worker.exitcode)
                    died = True
                    forward(signal.SIGTERM, None)
    codes = [w.exitcode for w in workers]
    log.info("workers_stopped", exitcodes=codes)
    return 1 if died or any(code != 0 for code in codes) else 0


def _worker_main(options: ServeOptions, port: int, parent: int) -> None:
    raise SystemExit(_run_worker(options, port, reuse_port=True, parent=parent))


@contextmanager
def _reserved_port(host: str, port: int) -> Iterator[int]:
    """Hold ``port`` (or a free one, for 0) with SO_REUSEPORT so every worker binds the same number."""
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((bare or "0.0.0.0", port))
        except OSError as exc:
            raise CannotListen(f"cannot listen on {_address(host, port)}: {exc.strerror or exc}") from None
        yield sock.getsockname()[1]
    finally:
        sock.close()
