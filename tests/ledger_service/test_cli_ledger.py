"""promo maintain and promo audit export / verify against a ledger filled through the service."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from svc_support import CALL_TIMEOUT, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb
from server.cli.main import main


@pytest.fixture
def filled(svc: Svc) -> Svc:
    """Two member sales (one with a ledger coupon), a guest sale, and a partial return."""
    svc.enroll("M1")
    svc.ledger.issue_coupon("CODE-1", "C10", "svc-test")
    svc.commit("T1", basket(coupons=("CODE-1",)))
    svc.commit("T2", basket(qty=1000))
    svc.commit("T3", basket(member=None))
    req = pb.ReturnRequest(
        transaction_id="T1", return_id="R1", lines=[pb.ReturnLine(line_id="1", quantity_milli=1000)]
    )
    svc.stub.Return(req, timeout=CALL_TIMEOUT)
    return svc


class TestMaintain:
    def test_twice_for_one_day_changes_nothing_the_second_time(
        self, filled: Svc, rulesets: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Points past their 30 days expire on the first run; the second run for that day finds nothing."""
        args = ["maintain", "--as-of", "2026-07-01", "--db", filled.url, "--rulesets", str(rulesets)]
        assert main(args) == 0
        first = capsys.readouterr().out
        assert main(args) == 0
        second = capsys.readouterr().out
        assert "points expired: 0 " not in first and "points expired: 0 (members: 0)" in second
        member = filled.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=CALL_TIMEOUT)
        assert member.points_balance == 0 and filled.ledger.verify_balances() == []

    def test_a_bad_day_is_a_usage_error(self, rulesets: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--as-of must be a date (exit 2, one line)."""
        assert main(["maintain", "--as-of", "July", "--rulesets", str(rulesets)]) == 2
        assert "--as-of must be a date" in capsys.readouterr().err


class TestAuditExport:
    def test_json_has_every_sale_and_return(self, filled: Svc, tmp_path: Path) -> None:
        """The JSON export lists the 3 sales and the return, with invoice lines and per-rate totals."""
        out = tmp_path / "audit.json"
        args = ["audit", "export", "--from", "2026-05-01", "--to", "2026-12-31", "--format", "json"]
        assert main([*args, "--db", filled.url, "--output", str(out)]) == 0
        records = json.loads(out.read_text(encoding="utf-8"))
        assert sorted((r["record"], r["transaction_id"]) for r in records) == [
            ("return", "T1"),
            ("sale", "T1"),
            ("sale", "T2"),
            ("sale", "T3"),
        ]
        ret = next(r for r in records if r["record"] == "return")
        assert (
            ret["rate_totals"][0]["taxRate"] == "13%"
            and int(ret["rate_totals"][0]["grossFen"]) == -ret["refund_fen"]
        )
        sale = next(r for r in records if r["transaction_id"] == "T2" and r["record"] == "sale")
        assert sum(int(t["grossFen"]) for t in sale["rate_totals"]) == sale["payable_fen"]

    def test_csv_rows_and_an_empty_range(self, filled: Svc, capsys: pytest.CaptureFixture[str]) -> None:
        """CSV has a row per invoice line and per rate total; a range with no sales has only the header."""
        assert (
            main(
                [
                    "audit",
                    "export",
                    "--from",
                    "2026-05-01",
                    "--to",
                    "2026-05-01",
                    "--format",
                    "csv",
                    "--db",
                    filled.url,
                ]
            )
            == 0
        )
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert {r["record"] for r in rows} == {"sale", "sale_rate_total"}
        assert sum(int(r["gross_fen"]) for r in rows if r["record"] == "sale") == sum(
            int(r["gross_fen"]) for r in rows if r["record"] == "sale_rate_total"
        )
        assert (
            main(
                [
                    "audit",
                    "export",
                    "--from",
                    "2020-01-01",
                    "--to",
                    "2020-01-02",
                    "--format",
                    "csv",
                    "--db",
                    filled.url,
                ]
            )
            == 0
        )
        assert capsys.readouterr().out.strip().splitlines()[1:] == []

    def test_to_before_from_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--to before --from is a usage error naming both."""
        assert main(["audit", "export", "--from", "2026-05-02", "--to", "2026-05-01"]) == 2
        assert "before --from" in capsys.readouterr().err


class TestAuditVerify:
    def test_every_stored_sale_reproduces(
        self, filled: Svc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """verify --all re-prices the 3 sales from the stored ruleset source alone: no differences."""
        empty = tmp_path / "empty"
        empty.mkdir()  # the rulesets folder no longer has the version: the database's copy is used
        assert main(["audit", "verify", "--all", "--db", filled.url, "--rulesets", str(empty)]) == 0
        assert "verified 3 sales: 0 differences" in capsys.readouterr().err

    def test_a_tampered_result_is_reported(
        self, filled: Svc, rulesets: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Changing a stored payable is reported as a difference of that sale and field (exit 1)."""
        with filled.ledger.engine.begin() as c:
            stored = json.loads(
                c.execute(text("SELECT result FROM sales WHERE transaction_id = 'T2'")).scalar_one()
            )
            stored["payableFen"] = "1"
            c.execute(
                text("UPDATE sales SET result = :r WHERE transaction_id = 'T2'"), {"r": json.dumps(stored)}
            )
        args = ["audit", "verify", "--transaction", "T2", "--db", filled.url, "--rulesets", str(rulesets)]
        assert main(args) == 1
        out = capsys.readouterr().out
        assert out.startswith("T2: result.payableFen: stored '1', re-priced '19000'")

    def test_needs_one_selector(self, capsys: pytest.CaptureFixture[str]) -> None:
        """verify needs exactly one of --transaction and --all."""
        assert main(["audit", "verify"]) == 2
        assert "exactly one of" in capsys.readouterr().err
