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
