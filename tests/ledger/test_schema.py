"""Migrations: an empty database upgrades to head, twice is harmless, and a dead server is a named error."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from server.cli.main import main
from server.storage.db import (
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    normalise_url,
    upgrade,
)
from server.storage.errors import DatabaseUnavailable
from server.storage.models import Base
from server.storage.store import Ledger

TABLES = {
    "members",
    "segment_moves",
    "usage_counters",
    "sale_usage",
    "published_versions",
    "points_entries",
    "coupons",
    "sales",
    "returns",
    "adjustments",
    "ruleset_sources",
    "member_audit",
    "callers",
    "alembic_version",
}


class TestMigrations:
    def test_empty_sqlite_upgrades_to_head(self, tmp_path):
        """An empty SQLite file gets every table and the head revision."""
        url = f"sqlite:///{tmp_path / 'new.db'}"
        assert upgrade(url) == head_revision()
        engine = make_engine(url)
        assert set(inspect(engine).get_table_names()) == TABLES
        engine.dispose()

    def test_migrated_schema_matches_the_models(self, db):
        """The migrated database has exactly the models' tables and columns (no drift)."""
        names = inspect(db.engine).get_table_names()
        for table in Base.metadata.sorted_tables:
            assert table.name in names
            have = {c["name"] for c in inspect(db.engine).get_columns(table.name)}
            assert have == set(table.columns.keys())

    def test_ensure_schema_only_runs_when_behind(self, tmp_path):
        """ensure_schema migrates an empty database once and then does nothing."""
        engine = make_engine(f"sqlite:///{tmp_path / 'e.db'}")
        assert ensure_schema(engine) is True
        assert ensure_schema(engine) is False
        assert current_revision(engine) == head_revision()
        engine.dispose()

    def test_ledger_open_migrates(self, tmp_path):
        """Ledger.open on a fresh file is ready to enroll members at once."""
        ledger = Ledger.open(f"sqlite:///{tmp_path / 'o.db'}")
        ledger.enroll_member("M1", "normal")
        assert ledger.get_member("M1").tier == "normal"
        ledger.engine.dispose()

    def test_sqlite_pragmas(self, tmp_path):
        """SQLite connections run in WAL mode with foreign keys on and a busy timeout."""
        engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
        with engine.connect() as c:
            assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert c.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        engine.dispose()

    def test_database_check_constraint_holds(self, ledger, db):
        """The database itself refuses a negative spendable balance, whatever the code does."""
        ledger.enroll_member("M1", "normal")
        with pytest.raises(IntegrityError, match=r"(?i)check"), db.engine.begin() as c:
            c.execute(text("UPDATE members SET points_balance = -1 WHERE id = 'M1'"))

    def test_postgres_url_uses_psycopg(self):
        """A bare postgresql:// URL is sent through psycopg 3."""
        assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")


class TestUnavailable:
    def test_unreachable_server_is_database_unavailable(self):
        """A server that refuses connections raises DatabaseUnavailable, not a driver error."""
        engine = make_engine("postgresql://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
        with pytest.raises(DatabaseUnavailable, match=r"unavailable"):
            current_revision(engine)
        with pytest.raises(DatabaseUnavailable):
            Ledger.open("postgresql://postgres@127.0.0.1:1/none", migrate=False).get_member("M1")


class TestCli:
    def test_db_upgrade(self, tmp_path, capsys):
        """promo db upgrade migrates an empty database, and says so; a second run is a no-op."""
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        assert main(["db", "upgrade", "--db", url]) == 0
        assert main(["db", "upgrade", "--db", url]) == 0
        out = capsys.readouterr().out
        head = head_revision()  # the newest migration, whichever branch added it
        assert f"from empty to revision {head}" in out and f"already at revision {head}" in out

    def test_db_upgrade_unreachable(self, capsys):
        """An unreachable database is a one-line failure (exit 1), not a traceback."""
        assert main(["db", "upgrade", "--db", "postgresql://postgres@127.0.0.1:1/none"]) == 1
        assert "unavailable" in capsys.readouterr().err


class TestOrderCountMigration:
    def test_0012_counts_each_members_sales_not_fully_returned(self, tmp_path):
        """A database at 0002 with M1's three sales (one returned in full) and M2's none: after
        0012, M1 has 2 orders and M2 0."""
        url = f"sqlite:///{tmp_path / 'old.db'}"
        assert upgrade(url, "0002") == "0002"
        engine = make_engine(url)
        now = "2026-05-01 02:00:00"
        with engine.begin() as c:
            for member in ("M1", "M2"):
                c.execute(
                    text(
                        "INSERT INTO members (id, tier, tags, segment, created_at, updated_at)"
                        " VALUES (:id, 'normal', '[]', '', :now, :now)"
                    ),
                    {"id": member, "now": now},
                )
            for tid, state in (("T1", "committed"), ("T2", "partly_returned"), ("T3", "returned")):
                c.execute(
                    text(
                        "INSERT INTO sales (transaction_id, request_hash, request, ruleset, ruleset_version,"
                        " ruleset_digest, result, invoice, lines, invoiced, payable_fen, points_earned,"
                        " points_redeemed, member_id, sold_at, local_date, state, created_at) VALUES"
                        " (:tid, 'h', '{}', 'r', 'v', 'd', '{}', '{}', '[]', 0, 100, 1, 0, 'M1', :now,"
                        " '2026-05-01', :state, :now)"
                    ),
                    {"tid": tid, "state": state, "now": now},
                )
        engine.dispose()
        assert upgrade(url) == head_revision()
        engine = make_engine(url)
        with engine.connect() as c:
            counts = dict(c.execute(text("SELECT id, order_count FROM members ORDER BY id")).all())
        engine.dispose()
        assert counts == {"M1": 2, "M2": 0}
