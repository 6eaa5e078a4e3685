"""The gate: every call authenticated, every method checked against the roles table."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from auth_support import TOKENS, as_role, gate_for_tests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rpc.app import Deps, create_server
from server.rpc.serve import ServeOptions, check_exposure
from server.rulesets.registry import RulesetRegistry
from server.trust.gate import Gate
from server.trust.roles import METHOD_ROLES, OPEN_METHODS

REPO = Path(__file__).resolve().parents[2]
T = 5.0


@pytest.fixture
def target(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "rulesets"
    folder.mkdir()
    shutil.copytree(REPO / "rulesets" / "health", folder / "health")
    registry = RulesetRegistry(folder)
    server, port = create_server("127.0.0.1:0", Deps(registry, gate=gate_for_tests()))
    registry.refresh()
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


@pytest.fixture
def raw(target: str) -> Iterator[grpc.Channel]:
    channel = grpc.insecure_channel(target)
    yield channel
    threading.Thread(target=channel.close, daemon=True).start()


def _code(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()  # type: ignore[no-any-return]


class TestAuthentication:
    def test_no_token_is_unauthenticated(self, raw: grpc.Channel) -> None:
        stub = pb_grpc.PromotionsStub(raw)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListRulesets(pb.ListRulesetsRequest(), timeout=T)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "Bearer" in caught.value.details()

    def test_an_unknown_token_is_unauthenticated(self, raw: grpc.Channel) -> None:
        stub = pb_grpc.PromotionsStub(raw)
        metadata = (("authorization", "Bearer not-a-token"),)
        code = _code(lambda: stub.ListRulesets(pb.ListRulesetsRequest(), timeout=T, metadata=metadata))
        assert code == grpc.StatusCode.UNAUTHENTICATED

    def test_health_is_open(self, raw: grpc.Channel) -> None:
        reply = health_pb2_grpc.HealthStub(raw).Check(health_pb2.HealthCheckRequest(), timeout=T)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    def test_reflection_needs_a_caller_but_any_role(self, raw: grpc.Channel) -> None:
        def ask(channel: grpc.Channel) -> list[str]:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            replies = stub.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            return [s.name for r in replies for s in r.list_services_response.service]

        with pytest.raises(grpc.RpcError) as caught:
            ask(raw)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "promo.v1.Promotions" in ask(as_role(raw, "job"))


class TestRoles:
    def test_finance_may_not_commit_and_is_told_the_role_needed(self, raw: grpc.Channel) -> None:
        stub = pb_grpc.PromotionsStub(as_role(raw, "finance"))
        with pytest.raises(grpc.RpcError) as caught:
            stub.Commit(pb.CommitRequest(), timeout=T)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "needs the till role" in caught.value.details()

    def test_a_till_may_not_adjust_points(self, raw: grpc.Channel) -> None:
        stub = pb_grpc.AdminStub(as_role(raw, "till"))
        with pytest.raises(grpc.RpcError) as caught:
            stub.AdjustPoints(pb.AdjustPointsRequest(member_id="M1", points=1_000_000), timeout=T)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "needs the admin role" in caught.value.details()

    def test_every_role_lists_rulesets(self, raw: grpc.Channel) -> None:
        for role in TOKENS:
            reply = pb_grpc.PromotionsStub(as_role(raw, role)).ListRulesets(
                pb.ListRulesetsRequest(), timeout=T
            )
            assert reply.files

    def test_every_method_of_the_proto_has_a_line_in_the_table(self) -> None:
        for service in pb.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                path = f"/{service.full_name}/{method.name}"
                assert METHOD_ROLES.get(path), f"{path} has no roles"
        assert not OPEN_METHODS & METHOD_ROLES.keys()


class TestMalformedBytes:
    @pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x0a\x02\xc3\x28"])  # bad varint; bad UTF-8
    def test_bytes_that_are_not_the_message_are_invalid_argument(
        self, raw: grpc.Channel, data: bytes
    ) -> None:
        call = as_role(raw, "till").unary_unary("/promo.v1.Promotions/Evaluate")
        with pytest.raises(grpc.RpcError) as caught:
            call(data, timeout=T)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.details().startswith("request:")

    def test_they_are_refused_to_an_anonymous_caller_first(self, raw: grpc.Channel) -> None:
        call = raw.unary_unary("/promo.v1.Promotions/Evaluate")
        assert _code(lambda: call(b"\xff", timeout=T)) == grpc.StatusCode.UNAUTHENTICATED


class TestExposure:
    def test_no_auth_is_refused_off_loopback(self) -> None:
        refused = check_exposure(ServeOptions(Path("."), "sqlite://", host="0.0.0.0", no_auth=True))
        assert refused is not None and "--no-auth" in refused
        assert check_exposure(ServeOptions(Path("."), "sqlite://", host="127.0.0.1", no_auth=True)) is None

    def test_plain_text_off_loopback_needs_insecure(self) -> None:
        refused = check_exposure(ServeOptions(Path("."), "sqlite://", host="[::]"))
        assert refused is not None and "--insecure" in refused
        assert check_exposure(ServeOptions(Path("."), "sqlite://", host="[::]", insecure=True)) is None
        assert check_exposure(ServeOptions(Path("."), "sqlite://", host="[::1]")) is None

    def test_the_cli_refuses_too(self, capsys: pytest.CaptureFixture[str]) -> None:
        from server.cli.main import main

        assert main(["serve", "--host", "0.0.0.0", "--no-auth", "--port", "0"]) == 1
        assert "--no-auth" in capsys.readouterr().err


def test_no_auth_gate_lets_anyone_call(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    shutil.copytree(REPO / "rulesets" / "health", folder / "health")
    registry = RulesetRegistry(folder)
    server, port = create_server("127.0.0.1:0", Deps(registry, gate=Gate(None)))
    registry.refresh()
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert pb_grpc.PromotionsStub(channel).ListRulesets(pb.ListRulesetsRequest(), timeout=T).files
    finally:
        server.stop(None)
