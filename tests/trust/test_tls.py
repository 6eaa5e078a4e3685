"""TLS: a server with a certificate from a throwaway CA answers TLS clients and refuses plain text;
with a client CA (mutual TLS) a client certificate's name may stand for a caller."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from auth_support import CALLERS, TOKENS
from certs import Ca

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rpc.app import Deps, create_server
from server.rulesets.registry import RulesetRegistry
from server.trust.client import open_channel
from server.trust.gate import Gate
from server.trust.tls import TlsFiles, client_credentials, server_credentials
from server.trust.tokens import StaticCallers

REPO = Path(__file__).resolve().parents[2]
T = 5.0


@pytest.fixture
def ca(tmp_path: Path) -> Ca:
    return Ca(tmp_path)


@pytest.fixture
def serve_tls(tmp_path: Path, ca: Ca) -> Iterator[Callable[..., str]]:
    servers: list[grpc.Server] = []

    def start(client_ca: Path | None = None) -> str:
        folder = tmp_path / "rulesets"
        folder.mkdir(exist_ok=True)
        shutil.copytree(REPO / "rulesets" / "health", folder / "health")
        cert, key = ca.issue("localhost", server=True)
        registry = RulesetRegistry(folder)
        gate = Gate(StaticCallers(CALLERS))
        creds = server_credentials(TlsFiles(cert, key, client_ca))
        server, port = create_server("127.0.0.1:0", Deps(registry, gate=gate, credentials=creds))
        registry.refresh()
        server.start()
        servers.append(server)
        return f"localhost:{port}"

    yield start
    for server in servers:
        server.stop(None)


def _rulesets(channel: grpc.Channel) -> pb.ListRulesetsReply:
    return pb_grpc.PromotionsStub(channel).ListRulesets(pb.ListRulesetsRequest(), timeout=T)


def test_a_tls_client_with_a_token_is_served(serve_tls: Callable[..., str], ca: Ca) -> None:
    target = serve_tls()
    with open_channel(target, TOKENS["till"], client_credentials(ca.path)) as channel:
        assert _rulesets(channel).files


def test_a_plain_text_client_is_refused(serve_tls: Callable[..., str]) -> None:
    target = serve_tls()
    with open_channel(target, TOKENS["till"]) as channel, pytest.raises(grpc.RpcError) as caught:
        _rulesets(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_trusting_another_ca_is_refused(serve_tls: Callable[..., str], tmp_path: Path) -> None:
    target = serve_tls()
    (tmp_path / "other").mkdir()
    other = Ca(tmp_path / "other", "other-ca")
    channel = open_channel(target, TOKENS["till"], client_credentials(other.path))
    with channel, pytest.raises(grpc.RpcError) as caught:
        _rulesets(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_maps_a_client_certificate_to_a_caller(serve_tls: Callable[..., str], ca: Ca) -> None:
    """A certificate whose common name is a caller's name is that caller, without a token."""
    target = serve_tls(client_ca=ca.path)
    cert, key = ca.issue("test-finance", server=False)
    with open_channel(target, None, client_credentials(ca.path, cert, key)) as channel:
        assert _rulesets(channel).files
        with pytest.raises(grpc.RpcError) as caught:
            pb_grpc.PromotionsStub(channel).Commit(pb.CommitRequest(), timeout=T)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # finance, not a till
    stranger, stranger_key = ca.issue("nobody-we-know", server=False)
    with open_channel(target, None, client_credentials(ca.path, stranger, stranger_key)) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            _rulesets(channel)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_mutual_tls_refuses_a_client_without_a_certificate(serve_tls: Callable[..., str], ca: Ca) -> None:
    target = serve_tls(client_ca=ca.path)
    channel = open_channel(target, TOKENS["till"], client_credentials(ca.path))
    with channel, pytest.raises(grpc.RpcError) as caught:
        _rulesets(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
