"""``promo client``: a till's call from the command line, the reply as JSON, an error as one line."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from service_support import REPO, Running

from server.cli.main import main

GOLD = REPO / "rulesets" / "requests" / "health-gold.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestClientEvaluate:
    def test_prints_the_reply_as_json(self, running: Running, capsys: pytest.CaptureFixture[str]) -> None:
        """The reply is printed in the canonical JSON form, exit 0."""
        assert main(["client", "evaluate", "--request", str(GOLD), "--target", running.target]) == 0
        reply = json.loads(capsys.readouterr().out)
        assert reply["ruleset"]["name"] == "ruyi-health"
        assert reply["transactionId"] == "S001-20260520-0042"
        assert int(reply["payableFen"]) == int(reply["invoice"]["totals"]["grossFen"])

    def test_an_error_status_is_one_line_and_exit_1(
        self, running: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A refused request prints `INVALID_ARGUMENT: lines[0].unit_price_fen: ...` on stderr and exits 1."""
        data = json.loads(GOLD.read_text(encoding="utf-8"))
        data["lines"][0]["unitPriceFen"] = -5
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(data), encoding="utf-8")
        assert main(["client", "evaluate", "--request", str(bad), "--target", running.target]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == "INVALID_ARGUMENT: lines[0].unit_price_fen: must not be negative (got -5)\n"

    def test_a_malformed_file_is_refused_before_any_call(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A JSON file with an unknown field names it, exit 1, without contacting a server."""
        bad = tmp_path / "bad.json"
        bad.write_text('{"ruleset": "ruyi-health", "lnies": []}', encoding="utf-8")
        assert main(["client", "evaluate", "--request", str(bad), "--target", "127.0.0.1:1"]) == 1
        assert capsys.readouterr().err.startswith(f"{bad}: bad request: lnies: is not a field here")

    def test_no_server_is_unavailable(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Nobody listening on the target gives UNAVAILABLE and exit 1, not a traceback."""
        target = f"127.0.0.1:{_free_port()}"
        assert main(["client", "evaluate", "--request", str(GOLD), "--target", target, "--timeout", "2"]) == 1
        err = capsys.readouterr().err
        assert err.startswith(("UNAVAILABLE: ", "DEADLINE_EXCEEDED: ")) and err.count("\n") == 1

    def test_request_is_required(self, capsys: pytest.CaptureFixture[str]) -> None:
        """evaluate without --request is a usage error (exit 2)."""
        assert main(["client", "evaluate", "--target", "127.0.0.1:1"]) == 2
        assert "--request FILE.json is required" in capsys.readouterr().err


class TestClientRulesets:
    def test_lists_the_served_files(self, running: Running, capsys: pytest.CaptureFixture[str]) -> None:
        """promo client rulesets prints each file with its serving version."""
        assert main(["client", "rulesets", "--target", running.target]) == 0
        (entry,) = json.loads(capsys.readouterr().out)["files"]
        assert entry["serving"]["name"] == "ruyi-health"
        assert entry["lastError"] == ""


class TestClientPing:
    def test_pings_with_the_request(self, running: Running, capsys: pytest.CaptureFixture[str]) -> None:
        """promo client ping names the version that would price the request."""
        assert main(["client", "ping", "--request", str(GOLD), "--target", running.target]) == 0
        assert json.loads(capsys.readouterr().out)["ruleset"]["name"] == "ruyi-health"
