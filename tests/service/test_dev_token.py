"""The quick start: `promo serve` on loopback issues a development till token to a 0600 file, and
`promo client` reads it for a loopback target; once a real caller exists, none is issued."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from service_support import REPO
from test_serve_process import Serve

from server.cli.main import main
from server.storage.callers import active_callers
from server.storage.db import make_engine
from server.trust.devtoken import dev_token_path

GOLD = REPO / "rulesets" / "requests" / "health-gold.json"


def test_promo_client_reads_the_dev_token_of_a_loopback_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "rulesets"
    folder.mkdir()
    shutil.copytree(REPO / "rulesets" / "health", folder / "health")
    monkeypatch.delenv("PROMO_TOKEN", raising=False)
    serve = Serve(folder, tmp_path / "serve.log")
    try:
        port = serve.wait_for("serving")[0]["port"]
        assert serve.wait_for("dev_token")
        path = dev_token_path(port)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert main(["client", "evaluate", "--request", str(GOLD), "--target", f"127.0.0.1:{port}"]) == 0
        assert '"payableFen"' in capsys.readouterr().out
        assert main(["client", "rulesets", "--target", f"127.0.0.1:{port}", "--token", "wrong"]) == 1
        assert "UNAUTHENTICATED" in capsys.readouterr().err
    finally:
        serve.process.terminate()
        serve.process.wait(timeout=10)
        serve.close()


def test_no_dev_token_once_real_callers_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from server.trust.devtoken import issue_dev_token

    url = f"sqlite:///{tmp_path / 'l.db'}"
    assert main(["token", "create", "--role", "till", "--name", "store1-till1", "--db", url]) == 0
    token = capsys.readouterr().out.splitlines()[0]
    assert token.startswith("promo_") and len(token) > 40
    engine = make_engine(url)
    try:
        assert issue_dev_token(engine, 50999) is None
        assert [c.name for c in active_callers(engine)] == ["store1-till1"]
        assert main(["token", "revoke", "--name", "store1-till1", "--db", url]) == 0
        assert active_callers(engine) == []
        assert main(["token", "revoke", "--name", "store1-till1", "--db", url]) == 1
        assert main(["token", "list", "--db", url]) == 0
        assert "store1-till1\ttill" in capsys.readouterr().out and token not in (tmp_path / "l.db").read_text(
            errors="replace"
        )
        assert issue_dev_token(engine, 50999) is not None  # nobody real is left: the dev token is back
    finally:
        engine.dispose()


def test_token_create_refuses_a_taken_name_and_needs_a_role(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    assert main(["token", "create", "--role", "admin", "--name", "ana", "--db", url]) == 0
    assert main(["token", "create", "--role", "admin", "--name", "ana", "--db", url]) == 1
    assert main(["token", "create", "--name", "bob", "--db", url]) == 2


def test_plain_text_on_every_interface_is_refused_without_insecure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "serve", "--host", "0.0.0.0", "--port", "0",
         "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 1 and "--insecure" in result.stderr
