"""``promo client``: call a running server the way a till does.

``promo client evaluate --request FILE.json`` sends the request and prints the reply
as JSON; ``promo client rulesets`` prints what the server has loaded. An error status
is one line, ``INVALID_ARGUMENT: lines[0].unit_price_fen: ...``, and exit 1.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from server.cli.base import EXIT_OK, Failure, UsageError, arg, command, read_text

__all__ = ["run_client"]

DEFAULT_TARGET = "localhost:50051"


@command(
    "client",
    "call a running server: evaluate a request file, ping, or list its rulesets",
    arg("action", choices=("evaluate", "ping", "rulesets"), help="the RPC to call"),
    arg("--request", metavar="FILE.json", help="the request as JSON (evaluate, ping); - reads stdin"),
    arg("--target", default=DEFAULT_TARGET, metavar="HOST:PORT", help=f"(default: {DEFAULT_TARGET})"),
    arg("--timeout", type=float, default=5.0, metavar="S", help="the call's deadline in seconds"),
    arg("--request-id", metavar="ID", help="sent as x-request-id, the id the server logs the call under"),
    arg(
        "--token",
        metavar="TOKEN",
        help="the caller's token (default: $PROMO_TOKEN, else on loopback the dev token)",
    ),
    arg("--tls-ca", metavar="FILE", help="speak TLS, trusting this CA (PEM)"),
    arg("--tls", action="store_true", help="speak TLS, trusting the system's CAs"),
    arg("--tls-cert", metavar="FILE", help="a client certificate for mutual TLS (PEM)"),
    arg("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM)"),
)
def run_client(args: argparse.Namespace) -> int:
    import grpc

    from server._pb.promo.v1 import promo_pb2 as pb
    from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc

    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive (got {args.timeout})")
    metadata = (("x-request-id", args.request_id),) if args.request_id else None
    with _channel(args) as channel:
        stub = pb_grpc.PromotionsStub(channel)
        try:
            if args.action == "rulesets":
                reply = stub.ListRulesets(pb.ListRulesetsRequest(), timeout=args.timeout, metadata=metadata)
                print(_to_json(reply))
                return EXIT_OK
            request = _read_request(args.request)
            if args.action == "ping":
                print(_to_json(stub.Ping(request, timeout=args.timeout, metadata=metadata)))
                return EXIT_OK
            from server.wire.reply import reply_to_json

            request.final_quote = True  # a person at a terminal reads the whole quote, invoice included
            reply = stub.Evaluate(request, timeout=args.timeout, metadata=metadata)
            print(reply_to_json(reply, explain=request.explain))
            return EXIT_OK
        except grpc.RpcError as exc:
            raise Failure(f"{exc.code().name}: {exc.details()}") from None


def _channel(args: argparse.Namespace) -> Any:
    import os
    from pathlib import Path

    from server.trust.client import open_channel
    from server.trust.devtoken import read_dev_token
    from server.trust.tls import client_credentials, is_loopback

    host, _, port = args.target.rpartition(":")
    token = args.token or os.environ.get("PROMO_TOKEN")
    if not token and is_loopback(host) and port.isdigit():
        token = read_dev_token(int(port))
    credentials = None
    if args.tls or args.tls_ca or args.tls_cert:
        if bool(args.tls_cert) != bool(args.tls_key):
            raise UsageError("--tls-cert and --tls-key go together")
        credentials = client_credentials(
            Path(args.tls_ca) if args.tls_ca else None,
            Path(args.tls_cert) if args.tls_cert else None,
            Path(args.tls_key) if args.tls_key else None,
        )
    return open_channel(args.target, token, credentials)


def _read_request(path: str | None) -> Any:
    from engine.errors import InvalidRequest
    from server.wire.request_json import request_from_json

    if not path:
        raise UsageError("--request FILE.json is required for evaluate and ping")
    try:
        return request_from_json(read_text(path, "request"))
    except InvalidRequest as exc:
        where = "stdin" if path == "-" else path
        raise Failure(f"{where}: bad request: {exc.field}: {exc.message}") from None


def _to_json(msg: Any) -> str:
    from google.protobuf import json_format

    data = json_format.MessageToDict(msg, always_print_fields_with_no_presence=True)
    return json.dumps(data, ensure_ascii=False, indent=2)
