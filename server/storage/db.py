"""Engines, sessions and schema upgrades for the ledger database.

SQLite is configured for a busy server process: WAL (readers never block the
writer), a busy timeout instead of an instant "database is locked", foreign keys on,
and every transaction started with ``BEGIN IMMEDIATE`` so two writers queue at the
start instead of deadlocking when both try to upgrade a read lock. PostgreSQL goes
through psycopg 3 at READ COMMITTED; the store's conditional UPDATEs make that
enough (a lost update is impossible when the WHERE clause re-checks the row).
A read that needs no transaction goes through :func:`reader`: no BEGIN/COMMIT round
trips on PostgreSQL, no write lock on SQLite. A long read that must see one moment
(an audit export) goes through :func:`snapshot`, which blocks no till either.

The schema is owned by Alembic. The migrations ship inside this package and are
found from it, never from the working directory, so ``promo db upgrade`` and
``promo serve`` work from anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from server.storage.errors import DatabaseUnavailable

__all__ = [
    "MIGRATIONS",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "make_sessionmaker",
    "normalise_url",
    "reader",
    "snapshot",
    "upgrade",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK = 0x70726F6D6F  # "promo": the PostgreSQL advisory lock serialising concurrent upgrades
_BEGIN = "promo_sqlite_begin"  # execution option: the statement a SQLite transaction begins with ("": none)


def normalise_url(url: str) -> str:
    """Send a bare ``postgresql://`` URL through psycopg 3, the driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url`` with the pragmas and pool this service needs; ``options`` go to create_engine."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, **options)
        _configure_sqlite(engine)
        return engine
    if "poolclass" not in options:
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 10)
    _cache_long_statements()
    return create_engine(url, **options)


def _cache_long_statements() -> None:
    """Let psycopg cache the conversion of our longest statements too.

    psycopg parses a statement's ``%(name)s`` placeholders on every execution unless the
    statement is at most 4096 characters with at most 50 parameters (its guard against ORMs'
    one-off multi-row INSERTs). A budgeted Commit's one write statement is about 4,600
    characters and 60 parameters, and parsing it cost about 0.5 ms of CPU per commit (measured
    with cProfile, budgets on vs off). Our statements come in a few fixed shapes, so a
    higher bound cannot flood psycopg's 128-entry cache. The bounds are module attributes
    of psycopg's private ``_queries``; without them (another psycopg) nothing changes.
    """
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return
    if hasattr(_queries, "MAX_CACHED_STATEMENT_LENGTH"):
        _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 16_384)
    if hasattr(_queries, "MAX_CACHED_STATEMENT_PARAMS"):
        _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 128)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        begin = connection.get_execution_options().get(_BEGIN, "BEGIN IMMEDIATE")
        if begin:
            connection.exec_driver_sql(begin)


def reader(engine: Engine) -> Engine:
    """``engine`` for reads outside a transaction: each statement sees what is committed when it runs.

    PostgreSQL connections are in autocommit (no BEGIN/COMMIT round trips); SQLite ones
    skip ``BEGIN IMMEDIATE``, so a read never waits for the write lock (WAL readers don't).
    The pool is shared with ``engine``.
    """
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_BEGIN: ""})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def snapshot(engine: Engine) -> Engine:
    """``engine`` for long reads that must see one moment without holding up a till (audit export, verify).

    SQLite begins DEFERRED: in WAL mode the first read fixes the snapshot and takes no lock a
    writer waits for, where ``BEGIN IMMEDIATE`` would hold the write lock for the whole export.
    PostgreSQL runs REPEATABLE READ, READ ONLY: the count and the rows come from one snapshot.
    The pool is shared with ``engine``.
    """
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_BEGIN: "BEGIN DEFERRED"})
    return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A stateless session factory: one session per unit of work, nothing kept between them.

    ``expire_on_commit=False`` because results are copied into frozen values before
    the session closes, and nothing should lazy-load afterwards.
    """
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


# --------------------------------------------------------------------------- migrations


def _alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseUnavailable(_first_line(exc)) from exc


def upgrade(url: str | Engine, revision: str = "head") -> str:
    """Apply every migration up to ``revision`` and return the revision the database is at."""
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several `promo serve` workers may meet the same empty database at once.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            command.upgrade(_alembic_config(connection), revision)
        return current_revision(engine) or ""
    except OperationalError as exc:
        raise DatabaseUnavailable(_first_line(exc)) from exc
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def ensure_schema(engine: Engine) -> bool:
    """Upgrade when the database is empty or behind this code; True when migrations ran.

    ``promo serve`` calls this at start so a fresh database just works. A database
    *ahead* of the code (a newer release migrated it) is left alone.
    """
    current = current_revision(engine)
    if current == head_revision():
        return False
    if current is not None and not _is_ancestor(current):
        return False
    upgrade(engine)
    return True


def _is_ancestor(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_alembic_config())
    return any(script.revision == revision for script in scripts.walk_revisions())


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
