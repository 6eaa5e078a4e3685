"""The happy path of every Promotions RPC, through the generated stub on a real socket."""

from __future__ import annotations

from collections.abc import Callable

from service_support import CALL_TIMEOUT, HEALTH_RULES, Running

import dsl
from engine.compiled import compile_ruleset
from server._pb.promo.v1 import promo_pb2 as pb
from server.wire.request import request_from_proto

T = CALL_TIMEOUT


class TestEvaluate:
    def test_prices_the_basket_as_the_engine_does(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """The reply carries the engine's amounts and points and the ruleset's name, version and digest."""
        compiled = compile_ruleset(dsl.load_path(HEALTH_RULES))
        expected = compiled.evaluate(request_from_proto(gold_request))
        reply = running.stub.Evaluate(gold_request, timeout=T)
        assert reply.payable_fen == expected.payable
        assert reply.discount_fen == expected.discount
        assert reply.points.earned == expected.points.earned
        assert [c.accepted for c in reply.coupons] == [c.accepted for c in expected.coupons]
        assert (reply.ruleset.name, reply.ruleset.version) == ("ruyi-health", compiled.version)
        assert reply.ruleset.digest == compiled.digest
        assert reply.transaction_id == gold_request.transaction_id

    def test_the_invoice_reconciles_with_the_payable(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """The final quote's invoice has goods and discount lines; its 价税合计 is what the customer pays."""
        gold_request.final_quote = True
        reply = running.stub.Evaluate(gold_request, timeout=T)
        assert reply.invoice.refused_reason == ""
        assert {line.kind for line in reply.invoice.lines} >= {1, 2}
        assert reply.invoice.totals.gross_fen == reply.payable_fen

    def test_a_scan_carries_no_invoice_and_the_same_prices_as_the_final_quote(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """Without final_quote the invoice is not built (unset); every other field is the final quote's."""
        scan = running.stub.Evaluate(gold_request, timeout=T)
        assert not scan.HasField("invoice") and not scan.invoices
        gold_request.final_quote = True
        final = running.stub.Evaluate(gold_request, timeout=T)
        assert final.HasField("invoice") and final.invoice.lines and final.invoices
        final.ClearField("invoice")
        final.ClearField("invoices")
        assert scan == final

    def test_explain_fills_the_breakdown_only_when_asked(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """Without explain the per-line discounts are empty; with it they sum to each line's discount."""
        plain = running.stub.Evaluate(gold_request, timeout=T)
        assert all(not line.discounts for line in plain.lines)
        gold_request.explain = True
        explained = running.stub.Evaluate(gold_request, timeout=T)
        assert any(line.discounts for line in explained.lines)
        for line in explained.lines:
            assert sum(d.fen for d in line.discounts) == line.discount_fen

    def test_a_basket_without_tax_codes_is_priced_with_a_refused_invoice(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """A line with no tax code still prices; the invoice has no lines and names the field."""
        gold_request.lines[1].tax_code = ""
        gold_request.final_quote = True
        reply = running.stub.Evaluate(gold_request, timeout=T)
        assert reply.payable_fen > 0
        assert not reply.invoice.lines
        assert reply.invoice.refused_reason.startswith("lines[1].tax_code:")

    def test_a_pinned_version_prices_with_that_version_after_a_reload(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """ruleset_version selects a recent version even after a newer one was loaded."""
        quoted = running.stub.Evaluate(gold_request, timeout=T)
        text = (HEALTH_RULES / "programme.rules").read_text(encoding="utf-8") + "\n# edited: a new version\n"
        (running.folder / "health" / "programme.rules").write_text(text, encoding="utf-8")
        running.registry.refresh()
        latest = running.stub.Evaluate(gold_request, timeout=T)
        assert latest.ruleset.version != quoted.ruleset.version
        gold_request.ruleset_version = quoted.ruleset.version
        pinned = running.stub.Evaluate(gold_request, timeout=T)
        assert pinned.ruleset == quoted.ruleset
        assert pinned.payable_fen == quoted.payable_fen


class TestPing:
    def test_answers_with_the_version_evaluate_would_use(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """Ping names the serving version of the requested ruleset, the one Evaluate replies with."""
        ping = running.stub.Ping(gold_request, timeout=T)
        assert ping.ruleset == running.stub.Evaluate(gold_request, timeout=T).ruleset

    def test_does_not_evaluate(
        self, start_server: Callable[..., Running], gold_request: pb.EvaluateRequest
    ) -> None:
        """Ping never reaches the evaluator (one that always fails does not make Ping fail)."""

        def broken(compiled: object, request: object) -> object:
            raise AssertionError("Ping must not evaluate")

        running = start_server(evaluate=broken)
        assert running.stub.Ping(gold_request, timeout=T).ruleset.name == "ruyi-health"


class TestListRulesets:
    def test_lists_every_file_with_its_serving_version(self, running: Running) -> None:
        """Each file shows its path, name, version, digest, when it loaded, and no error."""
        reply = running.stub.ListRulesets(pb.ListRulesetsRequest(), timeout=T)
        (entry,) = reply.files
        compiled = compile_ruleset(dsl.load_path(HEALTH_RULES))
        assert entry.path == "health"  # relative to the served folder: no server layout leaks
        assert (entry.serving.name, entry.serving.version) == ("ruyi-health", compiled.version)
        assert entry.serving.digest == compiled.digest
        assert entry.loaded_at.endswith("Z") and entry.loaded_at[:4].isdigit()
        assert entry.last_error == "" and entry.error_at == ""
        assert list(entry.recent_versions) == [compiled.version]
