"""What the service tests share besides fixtures: paths, the call timeout and the running-server handle."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rpc.app import Deps
from server.rulesets.registry import RulesetRegistry

REPO = Path(__file__).resolve().parents[2]
HEALTH_RULES = REPO / "rulesets" / "health"  # a programme folder: programme.rules and campaign files


def one_file(folder: Path) -> str:
    """A programme folder as one ``*.rules`` text: the programme file, then each campaign file
    without its header (the same rules; for tests that edit or copy a single file)."""
    parts = [(folder / "programme.rules").read_text(encoding="utf-8")]
    for path in sorted(folder.glob("*.rules")):
        if path.name != "programme.rules":
            text = path.read_text(encoding="utf-8")
            parts.append(text[text.index("}\n") + 2 :])
    return "\n".join(parts)


HEALTH_ONE_FILE = one_file(HEALTH_RULES)
CALL_TIMEOUT = 5.0


@dataclass
class Running:
    """A started server with a stub on it, its registry, folder and captured log."""

    stub: pb_grpc.PromotionsStub
    channel: grpc.Channel
    registry: RulesetRegistry
    deps: Deps
    folder: Path
    log: io.StringIO
    target: str

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines() if line.strip()]

    def rpc_lines(self, method: str) -> list[dict[str, Any]]:
        return [e for e in self.log_lines() if e.get("event") == "rpc" and e.get("method") == method]

    def wait_for_rpc_line(self, method: str, limit: float = 5.0) -> dict[str, Any]:
        """The first log line of ``method`` (written as the handler returns, maybe after the client)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            lines = self.rpc_lines(method)
            if lines:
                return lines[0]
            time.sleep(0.02)
        raise AssertionError(f"no rpc log line for {method} within {limit} s")
