"""The JSON form of the wire messages: lowerCamelCase, int64 as numbers or strings, clear field errors."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format

from engine.errors import InvalidRequest
from server._pb.promo.v1 import promo_pb2 as pb
from server.wire.reply import evaluation_to_proto, reply_to_json
from server.wire.request_json import request_from_json


class TestRequestFromJson:
    def test_round_trip_keeps_every_field(self, request_msg: pb.EvaluateRequest) -> None:
        """A full request printed as canonical JSON parses back to an equal message."""
        text = json_format.MessageToJson(request_msg)
        assert '"unitPriceFen": "10000"' in text  # int64 prints as a string, names in lowerCamelCase
        assert request_from_json(text) == request_msg

    def test_int64_accepts_numbers_and_strings(self) -> None:
        """unitPriceFen 100 and "100" mean the same; so do the other int64 fields."""
        as_number = request_from_json('{"lines": [{"id": "1", "unitPriceFen": 100, "quantityMilli": 1000}]}')
        as_string = request_from_json(
            '{"lines": [{"id": "1", "unitPriceFen": "100", "quantityMilli": "1000"}]}'
        )
        assert as_number == as_string
        assert as_number.lines[0].unit_price_fen == 100

    def test_proto_field_names_are_accepted_too(self) -> None:
        """The parser also takes the snake_case names from the .proto file."""
        msg = request_from_json('{"coupon_codes": ["C20"], "redeem_points": 3}')
        assert list(msg.coupon_codes) == ["C20"] and msg.redeem_points == 3

    def test_a_leading_byte_order_mark_is_not_json(self) -> None:
        """Text is parsed as given: stripping a BOM is the file reader's job (the CLI does it)."""
        with pytest.raises(InvalidRequest):
            request_from_json('\ufeff{"ruleset": "x"}')

    @pytest.mark.parametrize(
        ("text", "field", "fragment"),
        [
            ("{bad", "request", "is not valid JSON"),
            ("[]", "request", "must be a JSON object"),
            ('{"lines": {}}', "lines", "must be a JSON array"),
            ('{"lines": [3]}', "lines[0]", "must be a JSON object"),
            ('{"lines": [{"id": "1"}, {"unitPriceFen": "abc"}]}', "lines[1].unit_price_fen", "whole number"),
            (
                '{"lines": [{"unitPriceFen": 1.5}]}',
                "lines[0].unit_price_fen",
                "must be a whole number (got 1.5)",
            ),
            ('{"lines": [{"quantityMilli": 1e30}]}', "lines[0].quantity_milli", ""),
            (
                '{"lines": [{"quantityMilli": "99999999999999999999"}]}',
                "lines[0].quantity_milli",
                "out of range",
            ),
            ('{"lines": [{"bogus": 1}]}', "lines[0].bogus", "unitPriceFen"),
            ('{"bogus": 1}', "bogus", "is not a field here"),
            ('{"member": {"tier": 3}}', "member.tier", ""),
            ('{"member": {"pointsBalance": "x"}}', "member.points_balance", "whole number"),
            ('{"member": {"tags": "vip"}}', "member.tags", ""),
            ('{"explain": "yes"}', "explain", "true or false"),
        ],
    )
    def test_bad_json_names_the_field(self, text: str, field: str, fragment: str) -> None:
        """Malformed JSON is refused with InvalidRequest naming the field in wire (snake_case) names."""
        with pytest.raises(InvalidRequest) as caught:
            request_from_json(text)
        assert caught.value.field == field
        assert fragment in caught.value.message
        assert "Traceback" not in caught.value.message and "\n" not in caught.value.message


def _reply() -> pb.EvaluateReply:
    reply = pb.EvaluateReply(ruleset=pb.RulesetVersion(name="ruyi-health", version="abc", digest="abcd"))
    line = reply.lines.add(line_id="1", amount_fen=10000, discount_fen=500, net_fen=9500, points=142)
    line.discounts.add(source="a_class", kind="rule", fen=500)
    reply.lines.add(line_id="2", amount_fen=2000, net_fen=2000, earns_points=False)
    reply.subtotal_fen, reply.discount_fen, reply.payable_fen = 12000, 500, 11500
    reply.points.CopyFrom(
        pb.PointsResult(earned=142, base=142, eligible_fen=9500, tier_rate="3/2", factor="1")
    )
    reply.points.multipliers.add(rule="member_day", factor="2")
    reply.coupons.add(code="C20", accepted=False, reason="min_spend")
    reply.redemption.SetInParent()  # evaluation_to_proto always sets it, zero or not
    reply.invoice.lines.add(no=1, kind=0, line_id="1", name="洗发水", amount_fen=8850, tax_fen=1150)
    return reply


class TestReplyToJson:
    def test_round_trip_with_explain(self) -> None:
        """The explained reply's JSON parses back to an equal message."""
        reply = _reply()
        assert json_format.Parse(reply_to_json(reply), pb.EvaluateReply()) == reply

    def test_zero_values_are_printed(self) -> None:
        """A zero discount or an unearning line still shows its fields, so a reader sees 0, not nothing."""
        data = json.loads(reply_to_json(_reply()))
        assert data["lines"][1]["discountFen"] == "0"
        assert data["lines"][1]["earnsPoints"] is False
        assert data["redemption"] == {"points": "0", "valueFen": "0"}
        assert data["payableFen"] == "11500"

    def test_names_are_lower_camel_case_and_chinese_is_readable(self) -> None:
        """JSON names follow the protobuf default; Chinese text is not \\u-escaped."""
        text = reply_to_json(_reply())
        assert '"payableFen"' in text and "payable_fen" not in text
        assert "洗发水" in text

    def test_unset_optional_fields_are_absent(self) -> None:
        """An invoice line with no quantity prints no quantityMilli (a discount line has none)."""
        data = json.loads(reply_to_json(_reply()))
        assert "quantityMilli" not in data["invoice"]["lines"][0]

    def test_without_explain_the_explanation_keys_are_omitted(self) -> None:
        """explain=False leaves out per-line discount lists and every points key but earned."""
        data = json.loads(reply_to_json(_reply(), explain=False))
        assert all("discounts" not in line for line in data["lines"])
        assert data["points"] == {"earned": "142"}
        assert data["lines"][0]["discountFen"] == "500"

    def test_keys_follow_the_proto_field_order(self) -> None:
        """Zero values keep their place: a rejected coupon reads code, accepted, reason, discountFen."""
        data = json.loads(reply_to_json(_reply()))
        assert list(data["coupons"][0]) == ["code", "accepted", "reason", "discountFen"]
        assert list(data)[:4] == ["ruleset", "transactionId", "lines", "subtotalFen"]
        assert list(data["lines"][1]) == [
            "lineId",
            "amountFen",
            "discounts",
            "discountFen",
            "netFen",
            "points",
            "earnsPoints",
        ]

    def test_output_is_deterministic(self) -> None:
        """The same reply prints byte for byte the same text."""
        assert reply_to_json(_reply()) == reply_to_json(_reply())

    def test_evaluation_without_invoice_prints_no_invoice_key(self) -> None:
        """A reply built without an invoice has no invoice object at all (not an empty one)."""
        from fractions import Fraction

        from engine.model import Evaluation, PointsOutcome

        evaluation = Evaluation("r", "v", (), 0, 0, 0, PointsOutcome(0, 0, 0, Fraction(1), Fraction(1)))
        assert "invoice" not in json.loads(reply_to_json(evaluation_to_proto(evaluation)))
