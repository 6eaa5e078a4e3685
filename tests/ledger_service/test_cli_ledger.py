"""promo maintain and promo audit export / verify against a ledger filled through the service."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from svc_support import CALL_TIMEOUT, RULES, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb
from server.cli.main import main


@pytest.fixture
def filled(svc: Svc) -> Svc:
    """Two member sales (one with a ledger coupon), a guest sale, and a partial return."""
    svc.enroll("M1")
    svc.ledger.issue_coupon("CODE-1", "C10", "svc-test")
    svc.commit("T1", basket(coupons=("CODE-1",)))
    at_till = basket(qty=1000)
    at_till.store, at_till.till = "S01", "T03"
    svc.commit("T2", at_till)
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

    def test_issues_the_win_back_once_and_says_how_many(
        self, filled: Svc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """M1 last bought on 2026-05-01: on 2026-06-18 (day 48) maintain issues them one C10 code,
        and prints the count per `issue` line; a second run issues none."""
        folder = tmp_path / "issuing"
        folder.mkdir()
        rules = RULES.replace(
            "  points_expire 30 days\n",
            "  points_expire 30 days\n  issue C10 on day 48 without purchase, valid 14 days\n",
        )
        (folder / "svc.rules").write_text(rules, encoding="utf-8")
        args = ["maintain", "--as-of", "2026-06-18", "--db", filled.url, "--rulesets", str(folder)]
        assert main(args) == 0
        assert "  coupons issued: 1\n    C10@day48: 1\n" in capsys.readouterr().out
        assert main(args) == 0
        assert "  coupons issued: 0\n    C10@day48: 0\n" in capsys.readouterr().out
        member = filled.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=CALL_TIMEOUT)
        assert [(c.coupon, c.valid_from, c.issued_by) for c in member.coupons if c.issued_by] == [
            ("C10", "2026-06-18", "C10@day48")
        ]

    def test_a_bad_day_is_a_usage_error(self, rulesets: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--as-of must be a date (exit 2, one line)."""
        assert main(["maintain", "--as-of", "July", "--rulesets", str(rulesets)]) == 2
        assert "--as-of must be a date" in capsys.readouterr().err


class TestAuditExport:
    def test_json_has_every_sale_and_return(self, filled: Svc, tmp_path: Path) -> None:
        """The JSON export lists the 3 sales and the return in yuan, then the period's totals per rate."""
        out = tmp_path / "audit.json"
        args = ["audit", "export", "--from", "2026-05-01", "--to", "2026-12-31", "--format", "json"]
        assert main([*args, "--db", filled.url, "--output", str(out)]) == 0
        data = json.loads(out.read_text(encoding="utf-8"))
        records = data["records"]
        assert sorted((r["record"], r["transaction_id"]) for r in records) == [
            ("return", "T1"),
            ("sale", "T1"),
            ("sale", "T2"),
            ("sale", "T3"),
        ]
        assert len({frozenset(r) for r in records}) == 1  # every field on every record
        assert all(re.fullmatch(r"[a-z_]+", key) for r in records for key in r)  # one key style
        ret = next(r for r in records if r["record"] == "return")
        red = [line for inv in ret["invoices"] for line in inv["lines"]]
        assert {line["kind"] for line in red} == {"正常行"} and ret["payable"].startswith("-")
        assert sum(Decimal(line["gross"]) for line in red) == Decimal(ret["payable"])
        sale = next(r for r in records if r["transaction_id"] == "T2" and r["record"] == "sale")
        lines = [line for inv in sale["invoices"] for line in inv["lines"]]
        assert {line["kind"] for line in lines} >= {"被折扣行", "折扣行"}
        assert sum(Decimal(line["gross"]) for line in lines) == Decimal(sale["payable"])
        assert (sale["store"], sale["till"]) == ("S01", "T03")
        assert sale["member"] == "M*" and sale["invoices"][0]["number"] == 1
        guest = next(r for r in records if r["transaction_id"] == "T3")
        assert guest["member"] == ""
        net = {t["tax_rate"]: t for t in data["period_totals"] if t["record"] == "period_total"}
        every_line = [line for r in records for inv in r["invoices"] for line in inv["lines"]]
        assert Decimal(net["13%"]["gross"]) == sum(Decimal(line["gross"]) for line in every_line)
        assert Decimal(net["13%"]["gross"]) == sum(Decimal(r["payable"]) for r in records)

    def test_csv_rows_and_an_empty_range(self, filled: Svc, capsys: pytest.CaptureFixture[str]) -> None:
        """CSV: a row per invoice line in yuan, then sales / returns / net per rate; empty range: header."""
        args = ["audit", "export", "--from", "2026-05-01", "--to", "2026-05-01", "--format", "csv"]
        assert main([*args, "--db", filled.url]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert {r["record"] for r in rows} == {
            "sale",
            "period_total_sales",
            "period_total_returns",
            "period_total",
        }
        lines = [r for r in rows if r["record"] == "sale"]
        assert all(re.fullmatch(r"-?\d+\.\d\d", r["amount"]) for r in lines)
        assert {r["kind"] for r in lines} <= {"正常行", "折扣行", "被折扣行"}
        assert all(r["invoice_no"] == "1" for r in lines)
        (sales_total,) = [r for r in rows if r["record"] == "period_total_sales"]
        assert Decimal(sales_total["gross"]) == sum(Decimal(r["gross"]) for r in lines)
        args = ["audit", "export", "--from", "2020-01-01", "--to", "2020-01-02", "--format", "csv"]
        assert main([*args, "--db", filled.url]) == 0
        assert capsys.readouterr().out.strip().splitlines()[1:] == []

    def test_xlsx_has_a_sheet_per_report_and_formula_totals(self, filled: Svc, tmp_path: Path) -> None:
        """The workbook: Lines, Records, Rate totals; the totals are SUMIFS formulas over Lines."""
        from openpyxl import load_workbook

        out = tmp_path / "audit.xlsx"
        args = ["audit", "export", "--from", "2026-05-01", "--to", "2026-12-31", "--format", "xlsx"]
        assert main([*args, "--db", filled.url, "--output", str(out)]) == 0
        book = load_workbook(out)
        assert book.sheetnames == ["Lines", "Records", "Rate totals"]
        lines = list(book["Lines"].iter_rows(values_only=True))
        assert lines[0][:3] == ("record", "transaction_id", "return_id") and len(lines) > 4
        totals = list(book["Rate totals"].iter_rows(values_only=True))
        assert totals[1][:2] == ("13%", "period_total_sales") and totals[1][4].startswith("=SUMIFS(Lines!")
        assert totals[3][4] == "=E2+E3" and totals[-1][1] == "period_total_all_rates"
        gross = lines[0].index("gross")
        # what the formula computes, by hand: the 13% sales lines' gross
        want = sum(Decimal(str(r[gross])) for r in lines[1:] if r[0] == "sale" and r[15] == "13%")
        records = list(book["Records"].iter_rows(values_only=True))
        assert len(records) == 5
        assert want == sum(Decimal(str(r[8])) for r in records[1:] if r[0] == "sale")  # every line is 13%

    def test_xlsx_refuses_a_period_longer_than_a_sheet(
        self, filled: Svc, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """More lines than a sheet holds (here: 3 rows): one line saying so, exit 1, no half file."""
        from server.finance import workbook

        monkeypatch.setattr(workbook, "MAX_ROWS", 3)
        out = tmp_path / "audit.xlsx"
        args = ["audit", "export", "--from", "2026-05-01", "--to", "2026-12-31", "--format", "xlsx"]
        assert main([*args, "--db", filled.url, "--output", str(out)]) == 1
        assert "more than 2 invoice lines" in capsys.readouterr().err and not out.exists()

    def test_xlsx_needs_an_output_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A workbook is binary: without --output it is a usage error."""
        args = ["audit", "export", "--from", "2026-05-01", "--to", "2026-05-02", "--format", "xlsx"]
        assert main(args) == 2
        assert "needs --output" in capsys.readouterr().err

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


class TestReportPromotions:
    def test_every_format_and_grouping(self, filled: Svc, capsys: pytest.CaptureFixture[str]) -> None:
        """The rows per rule / coupon and rate, then a total row whose net is the rows' net."""
        base = ["report", "promotions", "--from", "2026-05-01", "--to", "2099-12-31", "--db", filled.url]
        assert main([*base, "--format", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        *body, total = rows
        assert total["group"] == "total" and {r["source"] for r in body} >= {"cat_a", "coupon:C10"}
        assert Decimal(total["net"]) == sum(Decimal(r["net"]) for r in body)
        assert Decimal(total["reversed"]) > 0  # the partial return of T1
        for by in ("day", "store", "campaign"):
            assert main([*base, "--format", "json", "--by", by]) == 0
            assert json.loads(capsys.readouterr().out)[-1] == total
        assert main([*base, "--format", "csv"]) == 0
        assert capsys.readouterr().out.startswith("group,campaign,source,kind,tax_rate,discount")
        assert main(base) == 0
        assert "coupon:C10" in capsys.readouterr().out

    def test_dates_are_required(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --from / --to it is a usage error (exit 2)."""
        assert main(["report", "promotions", "--from", "2026-05-01"]) == 2
        assert "needs --from DATE and --to DATE" in capsys.readouterr().err


class TestReportPoints:
    def test_ties_out_and_fails_loudly_when_not(
        self, filled: Svc, rulesets: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The liability figures and ties_out=yes; a balance no entry explains: exit 1, DOES NOT TIE OUT."""
        from datetime import datetime
        from zoneinfo import ZoneInfo

        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        args = ["report", "points", "--as-of", today, "--db", filled.url, "--format", "json"]
        assert main([*args, "--ruleset", str(rulesets / "svc.rules")]) == 0
        figures = {r["figure"]: r["value"] for r in json.loads(capsys.readouterr().out)}
        assert figures["ties_out"] == "yes" and figures["pending_points"] == "0"
        assert int(figures["outstanding_points"]) > 0 and figures["outstanding_value"] != ""
        moved = sum(int(figures[k]) for k in ("earned", "redeemed", "clawed_back", "adjusted", "expired"))
        assert int(figures["opening"]) + moved == int(figures["closing"])
        with filled.ledger.sessions() as s, s.begin():
            s.execute(text("UPDATE members SET points_balance = points_balance + 5 WHERE id = 'M1'"))
        assert main(args) == 1
        assert "DOES NOT TIE OUT" in capsys.readouterr().err

    def test_as_of_is_required(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["report", "points"]) == 2
        assert "needs --as-of" in capsys.readouterr().err
