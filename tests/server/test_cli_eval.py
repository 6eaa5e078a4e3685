"""``promo eval`` / ``promo invoice`` and the dispatcher, on a hand-built ruleset (no DSL needed).

The ruleset loader is replaced by one returning a small IR ruleset, so these tests pin the
CLI's behaviour (exit codes, JSON, one-line errors, no tracebacks) independently of the parser.
"""

from __future__ import annotations

import argparse
import io
import json
from fractions import Fraction
from pathlib import Path

import pytest

from engine.compiled import CompiledRuleset
from engine.errors import RuleError
from engine.rules import Compare, Const, Field, PercentOff, Rule, Ruleset, Settings, Tier
from engine.spans import Source, Span
from server.cli import base as cli_base
from server.cli import rules as cli_rules
from server.cli.main import build_parser, main

MINI_TEXT = 'ruleset "mini" {\n}\ntier normal "普通" points x1.0\ntier gold "金卡" points x1.5\n'
MINI = Ruleset(
    name="mini",
    settings=Settings(),
    tiers=(Tier("normal", "普通", Fraction(1), 0), Tier("gold", "金卡", Fraction(3, 2), 1)),
    rules=(
        Rule(
            "a_class",
            "A类 9.5折",
            PercentOff(Fraction(1, 20)),
            condition=Compare("=", Field("item.category"), Const("A", "text")),
        ),
    ),
    source_text=MINI_TEXT,
)
TAX_CODE = "1070223000000000000"


def _request(**changes: object) -> dict[str, object]:
    line: dict[str, object] = {
        "id": "1",
        "name": "洗发水",
        "category": "A",
        "unitPriceFen": 10000,
        "quantityMilli": 1000,
        "taxRate": "13%",
        "taxCode": TAX_CODE,
    }
    line.update(changes.pop("line", {}))  # type: ignore[arg-type]
    body: dict[str, object] = {
        "ruleset": "mini",
        "transactionId": "T-1",
        "time": "2026-11-15T10:00:00+08:00",
        "member": {"tier": "gold"},
        "lines": [line],
    }
    body.update(changes)
    return body


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ruleset file whose loading yields MINI, whatever the DSL does."""
    path = tmp_path / "mini.rules"
    path.write_text(MINI_TEXT, encoding="utf-8")
    fake = lambda name, text: (MINI, [])  # noqa: E731
    monkeypatch.setattr(cli_base, "load_and_check", fake)
    monkeypatch.setattr(cli_rules, "load_and_check", fake)
    return path


@pytest.fixture
def write(tmp_path: Path):
    """Write a request dict as JSON and return its path."""

    def write_request(body: dict[str, object], name: str = "request.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        return str(path)

    return write_request


class TestEval:
    def test_prints_the_reply_as_json(self, mini: Path, write, capsys: pytest.CaptureFixture[str]) -> None:
        """A good request prints the reply with its payable and ruleset version, and exits 0."""
        code = main(["eval", "--ruleset", str(mini), "--request", write(_request())])
        out, err = capsys.readouterr()
        assert code == 0, err
        reply = json.loads(out)
        assert reply["payableFen"] == "9500"
        assert reply["discountFen"] == "500"
        assert reply["points"] == {"earned": "142"}
        assert reply["ruleset"]["name"] == "mini"
        assert len(reply["ruleset"]["digest"]) == 64
        assert reply["ruleset"]["version"] == reply["ruleset"]["digest"][:12]
        assert reply["transactionId"] == "T-1"
        assert err == ""

    def test_without_explain_there_are_no_discount_lists(
        self, mini: Path, write, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without --explain the lines carry totals only and the points carry only what was earned."""
        main(["eval", "--ruleset", str(mini), "--request", write(_request())])
        reply = json.loads(capsys.readouterr().out)
        assert "discounts" not in reply["lines"][0]
        assert reply["lines"][0]["discountFen"] == "500"

    def test_explain_includes_everything(self, mini: Path, write, capsys: pytest.CaptureFixture[str]) -> None:
        """--explain adds each line's discounts by rule and the points breakdown."""
        main(["eval", "--ruleset", str(mini), "--request", write(_request()), "--explain"])
        reply = json.loads(capsys.readouterr().out)
        assert reply["lines"][0]["discounts"] == [{"source": "a_class", "kind": "rule", "fen": "500"}]
        assert reply["points"]["tierRate"] == "3/2"
        assert reply["points"]["eligibleFen"] == "9500"

    def test_the_request_may_ask_for_the_explanation(
        self, mini: Path, write, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """ "explain": true in the request explains without the flag."""
        main(["eval", "--ruleset", str(mini), "--request", write(_request(explain=True))])
        assert "discounts" in json.loads(capsys.readouterr().out)["lines"][0]

    def test_the_reply_carries_the_invoice(
        self, mini: Path, write, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The reply's invoice has the goods line and its discount line, totalling the payable."""
        main(["eval", "--ruleset", str(mini), "--request", write(_request())])
        invoice = json.loads(capsys.readouterr().out)["invoice"]
        assert [line["kind"] for line in invoice["lines"]] == [2, 1]
        assert invoice["totals"]["grossFen"] == "9500"

    def test_a_line_without_tax_code_prices_but_cannot_be_invoiced(
        self, mini: Path, write, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Pricing needs no tax code: the reply is priced and its invoice says which field is missing."""
        code = main(["eval", "--ruleset", str(mini), "--request", write(_request(line={"taxCode": ""}))])
        reply = json.loads(capsys.readouterr().out)
        assert code == 0
        assert reply["payableFen"] == "9500"
        assert reply["invoice"]["refusedReason"].startswith("lines[0].tax_code: ")
        assert reply["invoice"]["lines"] == []

    def test_dash_reads_the_request_from_stdin(
        self, mini: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--request - reads the JSON from standard input."""
        monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(_request())))
        assert main(["eval", "--ruleset", str(mini), "--request", "-"]) == 0
        assert json.loads(capsys.readouterr().out)["payableFen"] == "9500"

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (
                _request(line={"unitPriceFen": -100}),
                "lines[0].unit_price_fen: must not be negative (got -100)",
            ),
            (_request(line={"quantityMilli": 0}), "lines[0].quantity_milli: must be positive"),
            (_request(time="2026-11-15T10:00:00"), "time: '2026-11-15T10:00:00' has no UTC offset"),
            (_request(member={"tier": "glod"}), "member.tier: unknown tier 'glod'"),
            (_request(ruleset="other"), "ruleset: the request asks for ruleset 'other'"),
            (_request(redeemPoints=10, member=None), "redeem_points: "),
            (_request(line={"unitPriceFen": "abc"}), "lines[0].unit_price_fen: must be a whole number"),
        ],
    )
    def test_a_bad_request_is_one_line_naming_the_field(
        self, mini: Path, write, capsys: pytest.CaptureFixture[str], body: dict[str, object], expected: str
    ) -> None:
        """Bad input exits 1 with one line on stderr that names the field; nothing on stdout."""
        if body.get("member", "") is None:
            del body["member"]
        code = main(["eval", "--ruleset", str(mini), "--request", write(body)])
        out, err = capsys.readouterr()
        assert code == 1
        assert out == ""
        assert expected in err
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err

    def test_invalid_json_is_a_bad_request(
        self, mini: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A file that is not JSON exits 1 with the line and column of the fault."""
        path = tmp_path / "broken.json"
        path.write_text('{"lines": [', encoding="utf-8")
        assert main(["eval", "--ruleset", str(mini), "--request", str(path)]) == 1
        assert "is not valid JSON" in capsys.readouterr().err

    def test_a_missing_request_file_is_a_usage_error(
        self, mini: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An unreadable --request path exits 2 and says which file."""
        assert main(["eval", "--ruleset", str(mini), "--request", "/nonexistent/r.json"]) == 2
        assert "/nonexistent/r.json" in capsys.readouterr().err

    def test_a_bad_ruleset_prints_the_rendered_errors(
        self, tmp_path: Path, write, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A ruleset with errors exits 1 and prints each error exactly as RuleError renders it."""
        text = "rule r {\n  when member.tier >= glod\n}\n"
        path = tmp_path / "bad.rules"
        path.write_text(text, encoding="utf-8")
        error = RuleError(
            "unknown tier 'glod'", Span(Source(str(path), text), 2, 23, 2, 27), "did you mean 'gold'?"
        )
        monkeypatch.setattr(cli_base, "load_and_check", lambda name, text: (None, [error]))
        assert main(["eval", "--ruleset", str(path), "--request", write(_request())]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert err.strip() == str(error)
        assert f"{path}:2:23: unknown tier 'glod'" in err and "^^^^" in err

    def test_an_unexpected_exception_is_internal_error_70(
        self, mini: Path, write, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bug prints "internal error: ..." and exits 70, never a traceback."""

        def boom(self: CompiledRuleset, request: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(CompiledRuleset, "evaluate", boom)
        monkeypatch.delenv("PROMO_DEBUG", raising=False)
        assert main(["eval", "--ruleset", str(mini), "--request", write(_request())]) == 70
        err = capsys.readouterr().err
        assert "internal error: RuntimeError: boom" in err
        assert "Traceback" not in err

    def test_promo_debug_shows_the_traceback(
        self, mini: Path, write, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """PROMO_DEBUG=1 lets the exception through for a developer."""

        def boom(self: CompiledRuleset, request: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(CompiledRuleset, "evaluate", boom)
        monkeypatch.setenv("PROMO_DEBUG", "1")
        with pytest.raises(RuntimeError, match="boom"):
            main(["eval", "--ruleset", str(mini), "--request", write(_request())])


class TestInvoiceCommand:
    def test_table(self, mini: Path, write, capsys: pytest.CaptureFixture[str]) -> None:
        """--format table prints aligned lines with the total of 95.00."""
        assert (
            main(["invoice", "--ruleset", str(mini), "--request", write(_request()), "--format", "table"])
            == 0
        )
        out = capsys.readouterr().out
        assert "洗发水" in out and "合计" in out and "95.00" in out

    def test_table_is_the_default(self, mini: Path, write, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --format the table is printed."""
        assert main(["invoice", "--ruleset", str(mini), "--request", write(_request())]) == 0
        assert "合计" in capsys.readouterr().out

    def test_json(self, mini: Path, write, capsys: pytest.CaptureFixture[str]) -> None:
        """--format json prints the invoice as JSON with exact money strings."""
        assert (
            main(["invoice", "--ruleset", str(mini), "--request", write(_request()), "--format", "json"]) == 0
        )
        data = json.loads(capsys.readouterr().out)
        assert data["totals"]["gross"] == "95.00"
        assert [line["kind"] for line in data["lines"]] == [2, 1]

    def test_csv(self, mini: Path, write, capsys: pytest.CaptureFixture[str]) -> None:
        """--format csv prints a header row and one row per line plus totals."""
        assert (
            main(["invoice", "--ruleset", str(mini), "--request", write(_request()), "--format", "csv"]) == 0
        )
        rows = capsys.readouterr().out.strip().splitlines()
        assert rows[0].startswith("no,kind,name")
        assert len(rows) >= 3 and any("95.00" in row for row in rows)

    def test_missing_tax_code_is_a_bad_request(
        self, mini: Path, write, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An invoice needs tax codes: exit 1 naming lines[0].tax_code."""
        code = main(
            ["invoice", "--ruleset", str(mini), "--request", write(_request(line={"taxCode": "123"}))]
        )
        assert code == 1
        assert "lines[0].tax_code" in capsys.readouterr().err

    @pytest.mark.parametrize("fmt", ["table", "json", "csv"])
    def test_a_sale_too_big_for_one_invoice_prints_each(
        self, mini: Path, write, capsys: pytest.CaptureFixture[str], fmt: str
    ) -> None:
        """289 lines at 0.99 (13%) break INV-21 on one invoice: every format shows the two invoices."""
        body = _request()
        line = dict(body["lines"][0], category="", unitPriceFen=99)  # type: ignore[index]
        body["lines"] = [dict(line, id=f"L{k}") for k in range(289)]
        assert main(["invoice", "--ruleset", str(mini), "--request", write(body), "--format", fmt]) == 0
        out = capsys.readouterr().out
        if fmt == "json":
            data = json.loads(out)
            assert [d["number"] for d in data] == [1, 2] and [len(d["lines"]) for d in data] == [288, 1]
            assert sum(Fraction(d["totals"]["gross"]) for d in data) == Fraction(28611, 100)
        elif fmt == "csv":
            rows = out.strip().splitlines()
            assert rows[0].startswith("invoice,no,kind")
            assert {row.split(",")[0] for row in rows[1:]} == {"1", "2"}
        else:
            assert "发票 1/2" in out and "发票 2/2" in out and out.count("价税合计") == 2

    def test_an_unknown_format_is_a_usage_error(
        self, mini: Path, write, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--format xml exits 2 with argparse's message."""
        assert (
            main(["invoice", "--ruleset", str(mini), "--request", write(_request()), "--format", "xml"]) == 2
        )
        assert "invalid choice" in capsys.readouterr().err


class TestDispatcher:
    def test_no_command_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """promo with no subcommand exits 2 and prints usage."""
        assert main([]) == 2
        assert "usage: promo" in capsys.readouterr().err

    def test_help_exits_0_and_lists_the_commands(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--help lists every subcommand and exits 0."""
        assert main(["--help"]) == 0
        out = capsys.readouterr().out
        for name in ("check", "fmt", "eval", "invoice"):
            assert name in out

    def test_adding_a_command_is_one_function(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A function registered with @command becomes a subcommand with its arguments."""

        @cli_base.command("hello", "say hello", cli_base.arg("--name", default="world"))
        def hello(args: argparse.Namespace) -> int:
            print(f"hello {args.name}")
            return 3

        try:
            assert main(["hello", "--name", "till"]) == 3
            assert capsys.readouterr().out == "hello till\n"
            assert "hello" in build_parser().format_help()
        finally:
            del cli_base.COMMANDS["hello"]

    def test_registering_a_name_twice_is_refused(self) -> None:
        """Two commands with one name would shadow each other, so the second is refused."""
        build_parser()
        with pytest.raises(ValueError, match="registered twice"):
            cli_base.command("eval", "again")(lambda args: 0)
