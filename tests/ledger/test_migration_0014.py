"""Migration 0014 on a ledger with data: the points_entries rebuild (SQLite) keeps entries and the
adjustments and coupons that point at them, and the new kinds are accepted afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, func, insert, select

from server.storage.db import make_engine, upgrade

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def test_upgrade_keeps_entries_and_their_references(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0015")
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as c:
        c.execute(
            insert(t["members"]).values(
                id="M1", tier="normal", tags=[], segment="", created_at=NOW, updated_at=NOW, programme="p"
            )
        )
        c.execute(
            insert(t["points_entries"]).values(
                id=1,
                member_id="M1",
                kind="adjust",
                points=5,
                reason="r",
                created_at=NOW,
                idempotency_key="k1",
            )
        )
        c.execute(
            insert(t["adjustments"]).values(
                entry_id=1, member_id="M1", points=5, operator="op", reason="r", created_at=NOW
            )
        )
    engine.dispose()
    assert upgrade(url, "0014") == "0014"
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as c:
        c.execute(
            insert(t["points_entries"]).values(
                member_id="M1", kind="referral", points=3, reason="r", created_at=NOW, idempotency_key="k2"
            )
        )
        assert c.scalar(select(func.count()).select_from(t["adjustments"])) == 1
        assert c.scalar(select(func.sum(t["points_entries"].c.points))) == 8
        assert c.scalar(select(t["members"].c.points_pending)) == 0
    engine.dispose()
