"""Migration 0017 on a ledger with budget usage: each counter becomes its stripe 0 with the whole cap
as its allotment, so what was used stays used and what was left stays usable."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, insert, select

from server.storage import usage
from server.storage.db import make_engine, upgrade


def test_upgrade_makes_each_counter_its_stripe_0(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0014")
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as c:
        c.execute(
            insert(meta.tables["usage_counters"]),
            [
                {"key": "p|fen|flash|2026-11-05", "programme": "p", "used": 2400, "cap": 2500},
                {"key": "p|uses|flash|all", "programme": "p", "used": 3, "cap": 4},
            ],
        )
    engine.dispose()
    assert upgrade(url) != "0014"
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    counters = meta.tables["usage_counters"]
    with engine.connect() as c:
        rows = c.execute(select(counters.c.key, counters.c.stripe, counters.c.used, counters.c.allot)).all()
        assert sorted(rows) == [("p|fen|flash|2026-11-05", 0, 2400, 2500), ("p|uses|flash|all", 0, 3, 4)]
        assert usage.totals(c) == {"p|fen|flash|2026-11-05": (2400, 2500), "p|uses|flash|all": (3, 4)}
        assert "stripe" in meta.tables["sale_usage"].c
    engine.dispose()
