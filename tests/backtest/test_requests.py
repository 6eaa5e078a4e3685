"""parse_stored builds exactly the message json_format.ParseDict builds, or defers to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from server._pb.promo.v1 import promo_pb2 as pb
from server.backtest.requests import parse_stored
from tests.server.conftest import full_request


def _samples() -> list[dict]:
    found = [json_format.MessageToDict(full_request())]  # every field set, a weighed line, a member
    for path in sorted(Path("rulesets/requests").glob("*.json")):
        found.append(json.loads(path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("data", _samples())
def test_the_same_message_as_parse_dict(data: dict) -> None:
    assert parse_stored(data) == json_format.ParseDict(data, pb.EvaluateRequest())


def test_snake_case_keys_and_int64_numbers_are_read_too() -> None:
    data = {"transaction_id": "T", "lines": [{"id": "1", "unit_price_fen": 100, "quantityMilli": "1000"}]}
    assert parse_stored(data) == json_format.ParseDict(data, pb.EvaluateRequest())


def test_an_unknown_key_is_refused_as_parse_dict_refuses_it() -> None:
    with pytest.raises(json_format.ParseError, match="nope"):
        parse_stored({"nope": 1})


def _routes(data: dict):  # type: ignore[no-untyped-def]
    """(the direct route's answer, the protobuf route's answer): a Request or the InvalidRequest raised."""
    from engine.errors import InvalidRequest
    from server.backtest.requests import engine_request
    from server.wire.request import request_from_proto

    out = []
    for route in (engine_request, lambda d: request_from_proto(parse_stored(d))):
        try:
            out.append(route(data))
        except InvalidRequest as exc:
            out.append((exc.field, exc.message))
    return out


def _history_member(data: dict) -> dict:
    """``data`` with a member carrying every field, history included (int64s as strings)."""
    return {
        **data,
        "member": {
            "id": "M1",
            "tier": "gold",
            "birthday": "1990-02-28",
            "tags": ["vip", "staff"],
            "segment": "sleeping",
            "joinDate": "2020-01-02",
            "pointsBalance": "1200",
            "lastPurchaseDate": "2026-09-01",
            "orderCount": "3",
            "lifetimeSpendFen": "500000",
        },
    }


@pytest.mark.parametrize("data", [*_samples(), *(_history_member(d) for d in _samples())])
def test_the_direct_route_builds_the_same_engine_request(data: dict) -> None:
    """JSON -> engine values directly equals JSON -> protobuf -> engine values, field for field."""
    direct, via_proto = _routes(data)
    assert direct == via_proto


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["lines"][0].update(quantityMilli="0"),  # not a valid quantity
        lambda d: d["lines"][0].pop("name"),  # a line without a name
        lambda d: d["lines"][0].update(taxRate="12.5%"),  # a rate that does not parse
        lambda d: d.update(time="2026-11-15 10:00"),  # no UTC offset
        lambda d: d.update(member={"id": "M1"}),  # a member without a tier
        lambda d: d.update(lines=[]),  # no line
    ],
)
def test_what_the_direct_route_does_not_expect_is_answered_by_the_full_route(change) -> None:  # type: ignore[no-untyped-def]
    """A bad stored request gets the same error either way: the full route names the field."""
    data = json.loads(json.dumps(_samples()[1]))
    change(data)
    direct, via_proto = _routes(data)
    assert direct == via_proto


def test_a_stored_request_that_does_not_parse_is_a_bad_request_not_a_crash() -> None:
    from engine.errors import InvalidRequest
    from server.backtest.requests import engine_request

    data = {**_samples()[1], "somethingNew": 1}
    with pytest.raises(InvalidRequest, match="somethingNew") as caught:
        engine_request(data)
    assert caught.value.field == "request"
