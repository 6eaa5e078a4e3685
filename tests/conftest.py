"""Every test keeps development tokens in its own folder, never in the user's home."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _dev_token_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_DEV_TOKEN_DIR", str(tmp_path / "dev-tokens"))
    monkeypatch.delenv("PROMO_TOKEN", raising=False)
