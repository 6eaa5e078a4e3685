"""promo.v1 request messages -> engine.model.Request, with every shape error naming its wire field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction

import pytest

from engine.errors import InvalidRequest
from engine.model import TaxRate
from server._pb.promo.v1 import promo_pb2 as pb
from server.wire.request import request_from_proto, wire_error


class TestRequestFromProto:
    def test_every_line_field_is_carried(self, request_msg: pb.EvaluateRequest) -> None:
        """Each Line field lands on the engine line, money in fen and quantity in thousandths."""
        line = request_from_proto(request_msg).lines[0]
        assert line.id == "1"
        assert line.sku == "SKU-1"
        assert line.name == "洗发水"
        assert line.category == "A类"
        assert line.brand == "如意"
        assert line.tags == frozenset({"new", "hot"})
        assert line.unit_price == 10000
        assert line.quantity == 2000
        assert line.tax == TaxRate(Fraction(13, 100), "")
        assert line.tax_code == "1070223000000000000"
        assert line.unit == "瓶"
        assert line.spec == "500ml"

    def test_an_exempt_weighed_line_is_carried(self, request_msg: pb.EvaluateRequest) -> None:
        """A 免税 line keeps its exemption and its fractional quantity."""
        line = request_from_proto(request_msg).lines[1]
        assert line.tax == TaxRate(Fraction(0), "exempt")
        assert line.quantity == 1250
        assert line.tags == frozenset()

    def test_every_member_field_is_carried(self, request_msg: pb.EvaluateRequest) -> None:
        """Each Member field lands on the engine member, dates as dates."""
        member = request_from_proto(request_msg).member
        assert member is not None
        assert member.id == "M1"
        assert member.tier == "gold"
        assert member.birthday == date(1990, 3, 2)
        assert member.tags == frozenset({"vip"})
        assert member.segment == "important_value"
        assert member.join_date == date(2020, 1, 31)
        assert member.points_balance == 500

    def test_basket_fields_are_carried(self, request_msg: pb.EvaluateRequest) -> None:
        """Coupons keep the till's order; redemption, store, channel and the time with its offset are kept."""
        request = request_from_proto(request_msg)
        assert request.coupons == ("C20", "C30")
        assert request.redeem_points == 100
        assert request.store == "S001"
        assert request.channel == "pos"
        assert request.at == datetime(2026, 11, 15, 10, 0, tzinfo=timezone(timedelta(hours=8)))
        assert request.at.utcoffset() == timedelta(hours=8)

    def test_no_member_is_a_guest(self, request_msg: pb.EvaluateRequest) -> None:
        """An unset member gives a guest request (member None)."""
        request_msg.ClearField("member")
        request_msg.redeem_points = 0
        assert request_from_proto(request_msg).member is None

    def test_optional_member_fields_may_be_left_out(self, request_msg: pb.EvaluateRequest) -> None:
        """Empty dates and an unset balance mean unknown, not zero."""
        request_msg.member.CopyFrom(pb.Member(tier="normal"))
        member = request_from_proto(request_msg).member
        assert member is not None
        assert (member.birthday, member.join_date, member.points_balance) == (None, None, None)

    def test_history_is_carried_and_unset_is_unknown(self, request_msg: pb.EvaluateRequest) -> None:
        """order_count 0 (set) is a first purchase; unset history stays None (conditions false)."""
        request_msg.member.CopyFrom(pb.Member(tier="normal", order_count=0, last_purchase_date="2026-10-01"))
        member = request_from_proto(request_msg).member
        assert member is not None
        assert (member.order_count, member.last_purchase, member.lifetime_spend) == (
            0,
            date(2026, 10, 1),
            None,
        )

    def test_a_zero_balance_is_kept_as_zero(self, request_msg: pb.EvaluateRequest) -> None:
        """points_balance 0 (set) differs from unset: the member has no points."""
        request_msg.member.points_balance = 0
        member = request_from_proto(request_msg).member
        assert member is not None and member.points_balance == 0

    @pytest.mark.parametrize(
        ("text", "offset"),
        [
            ("2026-11-15T02:00:00Z", timedelta(0)),
            ("2026-11-15t02:00:00z", timedelta(0)),
            ("2026-11-15T10:00:00.250+08:00", timedelta(hours=8)),
            ("2026-11-15 10:00:00-05:30", timedelta(hours=-5, minutes=-30)),
            ("2026-11-15T10:00:00.123456789+08:00", timedelta(hours=8)),
        ],
    )
    def test_rfc3339_times_with_an_offset_are_read(
        self, request_msg: pb.EvaluateRequest, text: str, offset: timedelta
    ) -> None:
        """Z, lower-case letters, fractions of a second and a space separator are all RFC 3339."""
        request_msg.time = text
        assert request_from_proto(request_msg).at.utcoffset() == offset


def _set(path: str, value: object) -> Callable[[pb.EvaluateRequest], None]:
    def mutate(msg: pb.EvaluateRequest) -> None:
        *parents, last = path.split(".")
        target: object = msg
        for part in parents:
            target = target.lines[int(part[6:-1])] if part.startswith("lines[") else getattr(target, part)
        setattr(target, last, value)

    return mutate


def _clear_lines(msg: pb.EvaluateRequest) -> None:
    del msg.lines[:]


def _duplicate_id(msg: pb.EvaluateRequest) -> None:
    msg.lines[1].id = "1"


def _empty_tag(msg: pb.EvaluateRequest) -> None:
    msg.lines[1].tags.append(" ")


def _tiny_line(msg: pb.EvaluateRequest) -> None:
    msg.lines[1].unit_price_fen = 1
    msg.lines[1].quantity_milli = 400  # 0.4 fen rounds to 0


def _empty_coupon(msg: pb.EvaluateRequest) -> None:
    msg.coupon_codes.append("")


BAD_INPUTS = [
    (_clear_lines, "lines", "at least one line"),
    (_set("lines[0].id", ""), "lines[0].id", "must not be empty"),
    (_set("lines[1].id", "  "), "lines[1].id", "must not be empty"),
    (_duplicate_id, "lines[1].id", "duplicate line id '1' (also lines[0].id)"),
    (_set("lines[1].name", ""), "lines[1].name", "must not be empty"),
    (_set("lines[1].unit_price_fen", -100), "lines[1].unit_price_fen", "must not be negative (got -100)"),
    (_set("lines[0].quantity_milli", 0), "lines[0].quantity_milli", "must be positive (got 0)"),
    (_set("lines[0].quantity_milli", -1000), "lines[0].quantity_milli", "must be positive (got -1000)"),
    (_set("lines[1].unit_price_fen", 0), "lines[1].unit_price_fen", "rounds to 0 fen"),
    (_tiny_line, "lines[1].quantity_milli", "rounds to 0 fen (0.01 x 0.4)"),
    (_set("lines[0].tax_rate", ""), "lines[0].tax_rate", "is required"),
    (_set("lines[0].tax_rate", "12%"), "lines[0].tax_rate", "unknown tax rate '12%'"),
    (_empty_tag, "lines[1].tags[0]", "must not be empty"),
    (_set("member.tier", ""), "member.tier", "is required for a member"),
    (_set("member.birthday", "1990-02-30"), "member.birthday", "is not a calendar date"),
    (_set("member.birthday", "02/03/1990"), "member.birthday", 'must be a date "YYYY-MM-DD"'),
    (_set("member.join_date", "20200131"), "member.join_date", 'must be a date "YYYY-MM-DD"'),
    (_set("member.points_balance", -1), "member.points_balance", "must not be negative (got -1)"),
    (_set("member.order_count", -2), "member.order_count", "must not be negative (got -2)"),
    (_set("member.lifetime_spend_fen", -3), "member.lifetime_spend_fen", "must not be negative (got -3)"),
    (_set("member.last_purchase_date", "2026-13-01"), "member.last_purchase_date", "is not a calendar date"),
    (_set("redeem_points", -5), "redeem_points", "must not be negative (got -5)"),
    (_empty_coupon, "coupon_codes[2]", "must not be empty"),
    (_set("time", ""), "time", "is required"),
    (_set("time", "2026-11-15T10:00:00"), "time", "has no UTC offset"),
    (_set("time", "2026-11-15"), "time", "must be RFC 3339"),
    (_set("time", "next tuesday"), "time", "must be RFC 3339"),
    (_set("time", "2026-13-15T10:00:00+08:00"), "time", "is not a valid time"),
    (_set("time", "2026-11-15T10:00:00+0800"), "time", "must be RFC 3339"),
]


class TestRequestFromProtoRefuses:
    @pytest.mark.parametrize(
        ("mutate", "field", "fragment"), BAD_INPUTS, ids=[b[1] + ":" + b[2] for b in BAD_INPUTS]
    )
    def test_bad_input_names_its_field(
        self,
        request_msg: pb.EvaluateRequest,
        mutate: Callable[[pb.EvaluateRequest], None],
        field: str,
        fragment: str,
    ) -> None:
        """Each malformed field is refused with InvalidRequest naming the wire field path."""
        mutate(request_msg)
        with pytest.raises(InvalidRequest) as caught:
            request_from_proto(request_msg)
        assert caught.value.field == field
        assert fragment in caught.value.message
        assert str(caught.value).startswith(f"{field}: ")

    def test_first_bad_line_is_reported(self, request_msg: pb.EvaluateRequest) -> None:
        """With two bad lines the error names the first, so fixes happen in receipt order."""
        request_msg.lines[0].unit_price_fen = -1
        request_msg.lines[1].unit_price_fen = -2
        with pytest.raises(InvalidRequest, match=r"^lines\[0\]\.unit_price_fen"):
            request_from_proto(request_msg)

    def test_a_duplicate_id_is_reported_before_later_lines(self, request_msg: pb.EvaluateRequest) -> None:
        """A duplicate id on lines[1] is reported before a bad price on lines[2]."""
        request_msg.lines[1].id = "1"
        request_msg.lines.add(id="3", name="x", unit_price_fen=-1, quantity_milli=1000, tax_rate="13%")
        with pytest.raises(InvalidRequest, match=r"^lines\[1\]\.id: duplicate"):
            request_from_proto(request_msg)

    def test_half_a_fen_rounds_up_and_is_accepted(self, request_msg: pb.EvaluateRequest) -> None:
        """0.01 x 0.5 is half a fen, which rounds half up to 1 fen: a valid line."""
        request_msg.lines[1].unit_price_fen = 1
        request_msg.lines[1].quantity_milli = 500
        assert request_from_proto(request_msg).lines[1].quantity == 500


class TestWireError:
    @pytest.mark.parametrize(
        ("engine_field", "wire_field"),
        [
            ("lines[3].quantity", "lines[3].quantity_milli"),
            ("lines[0].unit_price", "lines[0].unit_price_fen"),
            ("lines[12].tax", "lines[12].tax_rate"),
            ("at", "time"),
            ("coupons", "coupon_codes"),
            ("member.tier", "member.tier"),
            ("lines[2]", "lines[2]"),
        ],
    )
    def test_engine_paths_become_wire_paths(self, engine_field: str, wire_field: str) -> None:
        """Field paths from engine.evaluate.validate are renamed to the names the integrator sent."""
        converted = wire_error(InvalidRequest(engine_field, "is wrong"))
        assert converted.field == wire_field
        assert converted.message == "is wrong"

    def test_tax_code_is_not_confused_with_tax(self) -> None:
        """Only whole path segments are renamed: tax_code stays tax_code."""
        assert wire_error(InvalidRequest("lines[0].tax_code", "x")).field == "lines[0].tax_code"


LINE_TEXTS = ("id", "name", "sku", "category", "brand", "tax_code", "unit", "spec")


class TestLineTexts:
    """The line's texts are checked all at once; a line that fails that is checked field by field."""

    def test_texts_up_to_their_limits_are_accepted(self, request_msg: pb.EvaluateRequest) -> None:
        """Each text may be as long as its own limit, however long they are together."""
        line = request_msg.lines[0]
        line.id, line.name, line.spec, line.unit = "i" * 64, "名" * 200, "s" * 200, "u" * 200
        converted = request_from_proto(request_msg).lines[0]
        assert (len(converted.id), len(converted.name), len(converted.spec)) == (64, 200, 200)

    def test_a_wide_space_is_text_not_a_control_character(self, request_msg: pb.EvaluateRequest) -> None:
        """U+3000 (not "printable" to Python) may be in a goods name; only control characters are refused."""
        request_msg.lines[0].name = "洗发水\u3000500ml"
        assert request_from_proto(request_msg).lines[0].name == "洗发水\u3000500ml"

    @pytest.mark.parametrize("field", LINE_TEXTS)
    def test_a_control_character_names_its_field(self, request_msg: pb.EvaluateRequest, field: str) -> None:
        setattr(request_msg.lines[1], field, "a\x07b")
        with pytest.raises(InvalidRequest) as caught:
            request_from_proto(request_msg)
        assert caught.value.field == f"lines[1].{field}"
        assert "control characters (found U+0007 at offset 1)" in caught.value.message

    @pytest.mark.parametrize(
        ("field", "limit"), [("id", 64), ("name", 200), ("tax_code", 200), ("spec", 200)]
    )
    def test_a_text_over_its_limit_names_its_field(
        self, request_msg: pb.EvaluateRequest, field: str, limit: int
    ) -> None:
        setattr(request_msg.lines[0], field, "x" * (limit + 1))
        with pytest.raises(InvalidRequest) as caught:
            request_from_proto(request_msg)
        assert caught.value.field == f"lines[0].{field}"
        assert f"at most {limit} characters (got {limit + 1})" in caught.value.message

    def test_a_tax_rate_spelling_seen_first_is_parsed(self, request_msg: pb.EvaluateRequest) -> None:
        """A spelling not seen before (not yet remembered) is parsed, not refused."""
        request_msg.lines[0].tax_rate = "免税"
        assert request_from_proto(request_msg).lines[0].tax == TaxRate(Fraction(0), "exempt")


class TestMembersSentAgain:
    """The inline members converted are kept by their wire bytes: what changes is read again."""

    def test_a_changed_member_is_read_again(self, request_msg: pb.EvaluateRequest) -> None:
        first = request_from_proto(request_msg).member
        request_msg.member.tier = "silver"
        request_msg.member.tags.append("new")
        second = request_from_proto(request_msg).member
        assert first is not None and second is not None
        assert (first.tier, "new" in first.tags) == ("gold", False)
        assert (second.tier, "new" in second.tags) == ("silver", True)

    def test_a_bad_member_is_refused_every_time(self, request_msg: pb.EvaluateRequest) -> None:
        request_msg.member.birthday = "1990-02-30"
        for _ in range(2):
            with pytest.raises(InvalidRequest, match=r"^member\.birthday"):
                request_from_proto(request_msg)

    def test_a_bad_time_is_refused_every_time(self, request_msg: pb.EvaluateRequest) -> None:
        request_msg.time = "2026-13-15T10:00:00+08:00"
        for _ in range(2):
            with pytest.raises(InvalidRequest, match=r"^time: .* is not a valid time"):
                request_from_proto(request_msg)
