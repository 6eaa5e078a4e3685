"""One JSON log line per RPC, with what a support engineer needs and no member id in clear."""

from __future__ import annotations

import grpc
import pytest
from service_support import CALL_TIMEOUT, Running

from server._pb.promo.v1 import promo_pb2 as pb

T = CALL_TIMEOUT
RPC_KEYS = {"event", "method", "status", "latency_us", "ruleset", "version", "lines", "member", "request_id"}


class TestRpcLogLine:
    def test_evaluate_logs_one_line_with_every_field(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """The line has method, status, latency, ruleset, version, lines, masked member and request id."""
        reply = running.stub.Evaluate(gold_request, timeout=T, metadata=(("x-request-id", "till-3-17"),))
        lines = running.rpc_lines("Evaluate")
        assert len(lines) == 1
        (line,) = lines
        assert set(line) >= RPC_KEYS
        assert line["status"] == "OK"
        assert isinstance(line["latency_us"], int) and line["latency_us"] > 0
        assert (line["ruleset"], line["version"]) == ("ruyi-health", reply.ruleset.version)
        assert line["lines"] == 2
        assert line["member"] == "M1**86"
        assert line["request_id"] == "till-3-17"

    def test_the_member_id_never_appears_in_clear(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """Neither a good nor a refused call writes the member id anywhere in the log."""
        running.stub.Evaluate(gold_request, timeout=T)
        gold_request.lines[0].quantity_milli = 0
        with pytest.raises(grpc.RpcError):
            running.stub.Evaluate(gold_request, timeout=T)
        assert len(running.rpc_lines("Evaluate")) == 2
        assert "M10086" not in running.log.getvalue()

    def test_the_request_id_comes_back_in_trailing_metadata(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """The till can quote the id the server logged, even when it sent none."""
        _, call = running.stub.Evaluate.with_call(gold_request, timeout=T)
        sent_back = dict(call.trailing_metadata())["x-request-id"]
        assert running.rpc_lines("Evaluate")[0]["request_id"] == sent_back

    def test_a_refused_call_logs_its_status_and_reason(
        self, running: Running, gold_request: pb.EvaluateRequest
    ) -> None:
        """A refused call's line carries the status and the reason, at info level (the till's fault)."""
        gold_request.ruleset = "nope"
        with pytest.raises(grpc.RpcError):
            running.stub.Evaluate(gold_request, timeout=T)
        (line,) = running.rpc_lines("Evaluate")
        assert (line["status"], line["level"]) == ("NOT_FOUND", "info")
        assert line["error"].startswith("ruleset: ")

    def test_every_rpc_is_logged(self, running: Running, gold_request: pb.EvaluateRequest) -> None:
        """Ping and ListRulesets get their line too."""
        running.stub.Ping(gold_request, timeout=T)
        running.stub.ListRulesets(pb.ListRulesetsRequest(), timeout=T)
        assert [line["status"] for line in running.rpc_lines("Ping")] == ["OK"]
        assert [line["status"] for line in running.rpc_lines("ListRulesets")] == ["OK"]
