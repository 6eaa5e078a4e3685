"""tests/ on sys.path, for auth_support and pg_support."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """`promo serve` configures structlog for the process: undo it after each test."""
    yield
    structlog.reset_defaults()
