"""Members belong to one programme: migration 0013 places an older ledger's members, `promo db
upgrade` explains the ones it cannot place, `promo db place` places them, and `maintain` acts on
one programme's members only. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from ledger_helpers import enroll
from sqlalchemy import MetaData, insert, select

from engine.rules import Settings
from server.cli.main import main
from server.storage.db import make_engine, upgrade
from server.storage.programmes import unplaced_members
from server.storage.store import Ledger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pg_support import throwaway_pg

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a ledger at revision 0002 (before programmes)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        upgrade(url, "0002")
        yield url
    else:
        with throwaway_pg("promo_place", "0002") as url:
            yield url


def _fill(url: str, members: dict[str, list[str]], coupons: dict[str, str] | None = None) -> None:
    """Members with sales under the given programmes (and coupons they own), written as 0002 stored them."""
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as c:
        for member_id, programmes in members.items():
            c.execute(
                insert(t["members"]).values(
                    id=member_id, tier="normal", tags=[], segment="", created_at=NOW, updated_at=NOW
                )
            )
            for n, programme in enumerate(programmes):
                c.execute(
                    insert(t["sales"]).values(
                        transaction_id=f"{member_id}-{n}",
                        request_hash="h",
                        request="{}",
                        ruleset=programme,
                        ruleset_version="v",
                        ruleset_digest="d",
                        result="{}",
                        invoice="{}",
                        lines=json.dumps([]),
                        invoiced=True,
                        payable_fen=100,
                        points_earned=0,
                        points_redeemed=0,
                        member_id=member_id,
                        sold_at=NOW,
                        local_date=NOW.date(),
                        state="committed",
                        created_at=NOW,
                    )
                )
        for code, owner in (coupons or {}).items():
            c.execute(
                insert(t["coupons"]).values(
                    code=code,
                    definition_id="PT5",
                    ruleset="p-coupon",
                    owner_id=owner,
                    state="issued",
                    created_at=NOW,
                )
            )
    engine.dispose()


def _programmes(url: str) -> dict[str, str | None]:
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as c:
        rows = c.execute(select(meta.tables["members"].c.id, meta.tables["members"].c.programme)).all()
    engine.dispose()
    return dict(rows)  # type: ignore[arg-type]


class TestMigration:
    def test_members_of_an_unambiguous_programme_keep_it(self, old_ledger: str, capsys) -> None:
        """One programme per member: placed; two, or none in a two-programme ledger: unplaced and listed."""
        _fill(old_ledger, {"E": []})
        _fill(old_ledger, {"A": ["p1", "p1"], "B": ["p1", "p2"], "C": [], "D": ["p2"]}, {"X1": "E"})
        assert main(["db", "upgrade", "--db", old_ledger]) == 0
        assert _programmes(old_ledger) == {"A": "p1", "B": None, "C": None, "D": "p2", "E": "p-coupon"}
        out = capsys.readouterr().out
        assert "2 member(s) belong to no programme yet" in out
        assert "  B: p1, p2" in out and "  C: no sale or coupon names a programme" in out
        assert f"promo db place --db {old_ledger} --programme NAME --member ID ..." in out

        assert main(["db", "place", "--db", old_ledger, "--programme", "p2", "--member", "B"]) == 0
        assert main(["db", "place", "--db", old_ledger, "--programme", "p1", "--all-unplaced"]) == 0
        assert (
            main(["db", "place", "--db", old_ledger, "--programme", "p9", "--member", "A"]) == 0
        )  # never moves A
        assert _programmes(old_ledger) == {"A": "p1", "B": "p2", "C": "p1", "D": "p2", "E": "p-coupon"}
        assert "placed 0 member(s)" in capsys.readouterr().out
        main(["db", "upgrade", "--db", old_ledger])
        assert "belong to no programme" not in capsys.readouterr().out

    def test_a_ledger_of_one_programme_places_everyone(self, old_ledger: str) -> None:
        _fill(old_ledger, {"A": ["p1"], "NEVER_BOUGHT": []})
        upgrade(old_ledger)
        assert _programmes(old_ledger) == {"A": "p1", "NEVER_BOUGHT": "p1"}

    def test_place_needs_a_programme_and_members(self, old_ledger: str) -> None:
        assert main(["db", "place", "--db", old_ledger, "--member", "A"]) == 2
        assert main(["db", "place", "--db", old_ledger, "--programme", "p1"]) == 2


class TestMaintainOneProgramme:
    def test_maintain_leaves_another_programmes_members_alone(self, ledger: Ledger, compiled) -> None:
        """The dongfang policy terminates its own inactive member, never the health chain's."""
        enroll(ledger, "MINE", join_date=date(2024, 1, 1), programme="dongfang")
        enroll(ledger, "THEIRS", join_date=date(2024, 1, 1), programme="ruyi")
        settings = Settings(inactivity_days=365, inactivity_action="terminate")
        report = ledger.maintain(date(2026, 1, 1), settings, compiled.ruleset.tiers, "dongfang")
        assert report.terminated == ("MINE",)
        assert ledger.get_member("THEIRS").status == "active"
        assert unplaced_members(ledger.sessions) == []
