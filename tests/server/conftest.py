"""Shared fixtures for the wire-format and CLI tests: a full request message and repo paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from server._pb.promo.v1 import promo_pb2 as pb

REPO = Path(__file__).resolve().parents[2]


def full_request() -> pb.EvaluateRequest:
    """A request with every field set, two lines (one weighed) and a member."""
    return pb.EvaluateRequest(
        ruleset="ruyi-health",
        transaction_id="T-1",
        lines=[
            pb.Line(
                id="1",
                sku="SKU-1",
                name="洗发水",
                category="A类",
                brand="如意",
                tags=["new", "hot"],
                unit_price_fen=10000,
                quantity_milli=2000,
                tax_rate="13%",
                tax_code="1070223000000000000",
                unit="瓶",
                spec="500ml",
            ),
            pb.Line(
                id="2", name="西红柿", unit_price_fen=640, quantity_milli=1250, tax_rate="exempt", unit="kg"
            ),
        ],
        member=pb.Member(
            id="M1",
            tier="gold",
            birthday="1990-03-02",
            tags=["vip"],
            segment="important_value",
            join_date="2020-01-31",
            points_balance=500,
        ),
        coupon_codes=["C20", "C30"],
        redeem_points=100,
        store="S001",
        channel="pos",
        time="2026-11-15T10:00:00+08:00",
        explain=True,
    )


@pytest.fixture
def request_msg() -> pb.EvaluateRequest:
    """A fresh full request (tests mutate it)."""
    return full_request()


@pytest.fixture
def repo() -> Path:
    """The repository root, for the bundled rulesets and sample requests."""
    return REPO


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root so paths print as the merchandiser types them."""
    monkeypatch.chdir(REPO)
    return REPO
