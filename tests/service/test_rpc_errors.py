"""Every failure reaches the till as the right status code, and never as a stack trace."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from service_support import CALL_TIMEOUT, Running

from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest
from engine.model import Evaluation, Request
from server._pb.promo.v1 import promo_pb2 as pb

T = CALL_TIMEOUT


def _fails(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


class TestInvalidArgument:
    def test_a_bad_field_is_named_by_its_wire_path(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """A negative unit price is INVALID_ARGUMENT starting with lines[0].unit_price_fen."""
        gold_request.lines[0].unit_price_fen = -100
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=T))
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert error.details() == "lines[0].unit_price_fen: must not be negative (got -100)"

    def test_a_ruleset_check_names_the_field(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """A tier the ruleset does not define is refused as member.tier."""
        gold_request.member.tier = "platinum"
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=T))
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith("member.tier: ")

    def test_engine_field_names_are_translated(
        self, start_server: Callable[..., Running], gold_request: pb.EvaluateRequest
    ) -> None:
        """An engine error on lines[1].quantity reaches the till as lines[1].quantity_milli."""

        def refuse(compiled: CompiledRuleset, request: Request) -> Evaluation:
            raise InvalidRequest("lines[1].quantity", "too many for one sale")

        running = start_server(evaluate=refuse)
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=T))
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert error.details() == "lines[1].quantity_milli: too many for one sale"

    def test_a_missing_ruleset_name_is_invalid(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """An empty ruleset is INVALID_ARGUMENT naming the field and the loaded rulesets."""
        gold_request.ruleset = ""
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=T))
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith("ruleset: is required")
        assert "ruyi-health" in error.details()

    def test_ping_refuses_what_evaluate_refuses(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """Ping decodes the request the same way, so a bad field is INVALID_ARGUMENT there too."""
        gold_request.time = "2026-05-20T11:30:00"
        error = _fails(lambda: running.stub.Ping(gold_request, timeout=T))
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith("time: ")


class TestNotFound:
    def test_an_unknown_ruleset(self, running: Running, gold_request: pb.EvaluateRequest) -> None:
        """A ruleset that is not loaded is NOT_FOUND, naming the field and what is loaded."""
        gold_request.ruleset = "ruyi-healht"
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=T))
        assert error.code() is grpc.StatusCode.NOT_FOUND
        assert error.details().startswith("ruleset: ruleset 'ruyi-healht' is not loaded")
        assert "ruyi-health" in error.details()

    def test_an_unknown_version(self, running: Running, gold_request: pb.EvaluateRequest) -> None:
        """A version the server does not keep is NOT_FOUND on ruleset_version."""
        gold_request.ruleset_version = "000000000000"
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=T))
        assert error.code() is grpc.StatusCode.NOT_FOUND
        assert error.details().startswith("ruleset_version: ")


class TestInternal:
    def test_an_engine_fault_is_internal_with_only_a_request_id(
        self, start_server: Callable[..., Running], gold_request: pb.EvaluateRequest
    ) -> None:
        """The till sees 'internal error (request id ...)'; the exception is only in the log."""

        def crash(compiled: CompiledRuleset, request: Request) -> Evaluation:
            raise ZeroDivisionError("secret detail of the fault")

        running = start_server(evaluate=crash)
        error = _fails(
            lambda: running.stub.Evaluate(
                gold_request, timeout=T, metadata=(("x-request-id", "till-7-0042"),)
            )
        )
        assert error.code() is grpc.StatusCode.INTERNAL
        assert error.details() == "internal error (request id till-7-0042)"
        line = running.wait_for_rpc_line("Evaluate")
        assert (line["status"], line["request_id"], line["level"]) == ("INTERNAL", "till-7-0042", "error")
        assert "secret detail of the fault" in line["error"]
        assert "ZeroDivisionError" in line["exception"]  # the traceback, for whoever reads the log
        assert line["request"]["member"]["id"] == "M1**86"  # replayable, but not identifying

    def test_a_generated_request_id_is_quoted_when_the_till_sends_none(
        self, start_server: Callable[..., Running], gold_request: pb.EvaluateRequest
    ) -> None:
        """Without x-request-id the server makes one up and the details and log agree on it."""

        def crash(compiled: CompiledRuleset, request: Request) -> Evaluation:
            raise RuntimeError("boom")

        running = start_server(evaluate=crash)
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=T))
        request_id = running.wait_for_rpc_line("Evaluate")["request_id"]
        assert len(request_id) == 32
        assert error.details() == f"internal error (request id {request_id})"

    def test_an_invoice_breaking_its_invariants_is_never_sent(
        self, start_server: Callable[..., Running], gold_request: pb.EvaluateRequest
    ) -> None:
        """A final quote one fen off gives INTERNAL and a logged INV- violation, not an invoice."""

        def off_by_a_fen(compiled: CompiledRuleset, request: Request) -> Evaluation:
            evaluation = compiled.evaluate(request)
            return evaluation._replace(payable=evaluation.payable + 1)

        running = start_server(evaluate=off_by_a_fen)
        gold_request.final_quote = True
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=T))
        assert error.code() is grpc.StatusCode.INTERNAL
        assert "INV-" in running.wait_for_rpc_line("Evaluate")["error"]


class TestDeadline:
    def test_a_slow_evaluation_is_abandoned_with_deadline_exceeded(
        self, start_server: Callable[..., Running], gold_request: pb.EvaluateRequest
    ) -> None:
        """The caller gets DEADLINE_EXCEEDED and the server logs the call as DEADLINE_EXCEEDED, not OK."""

        def slow(compiled: CompiledRuleset, request: Request) -> Evaluation:
            time.sleep(0.5)
            return compiled.evaluate(request)

        running = start_server(evaluate=slow)
        error = _fails(lambda: running.stub.Evaluate(gold_request, timeout=0.1))
        assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        line = running.wait_for_rpc_line("Evaluate")
        assert line["status"] == "DEADLINE_EXCEEDED"
        assert line["error"] == "deadline exceeded while the call was worked on; the work was abandoned"

    def test_a_call_within_its_deadline_succeeds(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """A deadline that is not reached changes nothing."""
        assert running.stub.Evaluate(gold_request, timeout=T).payable_fen > 0
