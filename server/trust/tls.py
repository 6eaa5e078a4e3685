"""TLS for the server and the client, and the rule that plain text stays on the machine.

Without a certificate the server may only listen on a loopback address; anything else in
plain text needs ``--insecure`` (and is logged as a warning). With ``client_ca`` the server
requires a client certificate signed by that CA (mutual TLS).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import grpc

__all__ = ["TlsFiles", "client_credentials", "is_loopback", "server_credentials"]


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path
    key: Path
    client_ca: Path | None = None


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    ca = files.client_ca.read_bytes() if files.client_ca is not None else None
    return grpc.ssl_server_credentials(
        [(files.key.read_bytes(), files.cert.read_bytes())],
        root_certificates=ca,
        require_client_auth=ca is not None,
    )


def client_credentials(
    ca: Path | None = None, cert: Path | None = None, key: Path | None = None
) -> grpc.ChannelCredentials:
    """TLS trusting ``ca`` (default: the system's roots), presenting ``cert``/``key`` when given."""
    return grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes() if ca else None,
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost" (with or without brackets)."""
    bare = host.strip("[]")
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False
