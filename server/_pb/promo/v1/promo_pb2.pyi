from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvaluateRequest(_message.Message):
    __slots__ = ("ruleset", "transaction_id", "lines", "member", "coupon_codes", "redeem_points", "store", "channel", "time", "explain", "ruleset_version", "final_quote", "till", "drafts")
    RULESET_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    COUPON_CODES_FIELD_NUMBER: _ClassVar[int]
    REDEEM_POINTS_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    FINAL_QUOTE_FIELD_NUMBER: _ClassVar[int]
    TILL_FIELD_NUMBER: _ClassVar[int]
    DRAFTS_FIELD_NUMBER: _ClassVar[int]
    ruleset: str
    transaction_id: str
    lines: _containers.RepeatedCompositeFieldContainer[Line]
    member: Member
    coupon_codes: _containers.RepeatedScalarFieldContainer[str]
    redeem_points: int
    store: str
    channel: str
    time: str
    explain: bool
    ruleset_version: str
    final_quote: bool
    till: str
    drafts: bool
    def __init__(self, ruleset: _Optional[str] = ..., transaction_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[Line, _Mapping]]] = ..., member: _Optional[_Union[Member, _Mapping]] = ..., coupon_codes: _Optional[_Iterable[str]] = ..., redeem_points: _Optional[int] = ..., store: _Optional[str] = ..., channel: _Optional[str] = ..., time: _Optional[str] = ..., explain: _Optional[bool] = ..., ruleset_version: _Optional[str] = ..., final_quote: _Optional[bool] = ..., till: _Optional[str] = ..., drafts: _Optional[bool] = ...) -> None: ...

class Line(_message.Message):
    __slots__ = ("id", "sku", "name", "category", "brand", "tags", "unit_price_fen", "quantity_milli", "tax_rate", "tax_code", "unit", "spec")
    ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MILLI_FIELD_NUMBER: _ClassVar[int]
    TAX_RATE_FIELD_NUMBER: _ClassVar[int]
    TAX_CODE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    id: str
    sku: str
    name: str
    category: str
    brand: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    unit_price_fen: int
    quantity_milli: int
    tax_rate: str
    tax_code: str
    unit: str
    spec: str
    def __init__(self, id: _Optional[str] = ..., sku: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., brand: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., unit_price_fen: _Optional[int] = ..., quantity_milli: _Optional[int] = ..., tax_rate: _Optional[str] = ..., tax_code: _Optional[str] = ..., unit: _Optional[str] = ..., spec: _Optional[str] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("id", "tier", "birthday", "tags", "segment", "join_date", "points_balance", "last_purchase_date", "order_count", "lifetime_spend_fen")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    JOIN_DATE_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    LAST_PURCHASE_DATE_FIELD_NUMBER: _ClassVar[int]
    ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_SPEND_FEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    tier: str
    birthday: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    segment: str
    join_date: str
    points_balance: int
    last_purchase_date: str
    order_count: int
    lifetime_spend_fen: int
    def __init__(self, id: _Optional[str] = ..., tier: _Optional[str] = ..., birthday: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., segment: _Optional[str] = ..., join_date: _Optional[str] = ..., points_balance: _Optional[int] = ..., last_purchase_date: _Optional[str] = ..., order_count: _Optional[int] = ..., lifetime_spend_fen: _Optional[int] = ...) -> None: ...

class EvaluateReply(_message.Message):
    __slots__ = ("ruleset", "transaction_id", "lines", "subtotal_fen", "discount_fen", "payable_fen", "points", "coupons", "redemption", "invoice", "free_units", "gifts", "invoices", "nudges", "usage_notes", "drafts_applied")
    RULESET_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    PAYABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    COUPONS_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    FREE_UNITS_FIELD_NUMBER: _ClassVar[int]
    GIFTS_FIELD_NUMBER: _ClassVar[int]
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    NUDGES_FIELD_NUMBER: _ClassVar[int]
    USAGE_NOTES_FIELD_NUMBER: _ClassVar[int]
    DRAFTS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    ruleset: RulesetVersion
    transaction_id: str
    lines: _containers.RepeatedCompositeFieldContainer[LineResult]
    subtotal_fen: int
    discount_fen: int
    payable_fen: int
    points: PointsResult
    coupons: _containers.RepeatedCompositeFieldContainer[CouponResult]
    redemption: Redemption
    invoice: Invoice
    free_units: _containers.RepeatedCompositeFieldContainer[FreeUnitsOffer]
    gifts: _containers.RepeatedCompositeFieldContainer[GiftOffer]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    nudges: _containers.RepeatedCompositeFieldContainer[NudgeResult]
    usage_notes: _containers.RepeatedCompositeFieldContainer[UsageNote]
    drafts_applied: bool
    def __init__(self, ruleset: _Optional[_Union[RulesetVersion, _Mapping]] = ..., transaction_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[LineResult, _Mapping]]] = ..., subtotal_fen: _Optional[int] = ..., discount_fen: _Optional[int] = ..., payable_fen: _Optional[int] = ..., points: _Optional[_Union[PointsResult, _Mapping]] = ..., coupons: _Optional[_Iterable[_Union[CouponResult, _Mapping]]] = ..., redemption: _Optional[_Union[Redemption, _Mapping]] = ..., invoice: _Optional[_Union[Invoice, _Mapping]] = ..., free_units: _Optional[_Iterable[_Union[FreeUnitsOffer, _Mapping]]] = ..., gifts: _Optional[_Iterable[_Union[GiftOffer, _Mapping]]] = ..., invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ..., nudges: _Optional[_Iterable[_Union[NudgeResult, _Mapping]]] = ..., usage_notes: _Optional[_Iterable[_Union[UsageNote, _Mapping]]] = ..., drafts_applied: _Optional[bool] = ...) -> None: ...

class FreeUnitsOffer(_message.Message):
    __slots__ = ("rule", "units")
    RULE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    rule: str
    units: int
    def __init__(self, rule: _Optional[str] = ..., units: _Optional[int] = ...) -> None: ...

class GiftOffer(_message.Message):
    __slots__ = ("rule", "sku", "quantity")
    RULE_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    rule: str
    sku: str
    quantity: int
    def __init__(self, rule: _Optional[str] = ..., sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class NudgeResult(_message.Message):
    __slots__ = ("source", "label", "missing_fen", "measure", "threshold_fen", "scope", "text")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    MISSING_FEN_FIELD_NUMBER: _ClassVar[int]
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FEN_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    source: str
    label: str
    missing_fen: int
    measure: str
    threshold_fen: int
    scope: str
    text: str
    def __init__(self, source: _Optional[str] = ..., label: _Optional[str] = ..., missing_fen: _Optional[int] = ..., measure: _Optional[str] = ..., threshold_fen: _Optional[int] = ..., scope: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class UsageNote(_message.Message):
    __slots__ = ("source", "kind", "reason")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    source: str
    kind: str
    reason: str
    def __init__(self, source: _Optional[str] = ..., kind: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RulesetVersion(_message.Message):
    __slots__ = ("name", "version", "digest")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    digest: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., digest: _Optional[str] = ...) -> None: ...

class LineResult(_message.Message):
    __slots__ = ("line_id", "amount_fen", "discounts", "discount_fen", "net_fen", "points", "earns_points")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    NET_FEN_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    EARNS_POINTS_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    amount_fen: int
    discounts: _containers.RepeatedCompositeFieldContainer[Discount]
    discount_fen: int
    net_fen: int
    points: int
    earns_points: bool
    def __init__(self, line_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., discounts: _Optional[_Iterable[_Union[Discount, _Mapping]]] = ..., discount_fen: _Optional[int] = ..., net_fen: _Optional[int] = ..., points: _Optional[int] = ..., earns_points: _Optional[bool] = ...) -> None: ...

class Discount(_message.Message):
    __slots__ = ("source", "kind", "fen")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FEN_FIELD_NUMBER: _ClassVar[int]
    source: str
    kind: str
    fen: int
    def __init__(self, source: _Optional[str] = ..., kind: _Optional[str] = ..., fen: _Optional[int] = ...) -> None: ...

class PointsResult(_message.Message):
    __slots__ = ("earned", "base", "eligible_fen", "tier_rate", "factor", "multipliers", "bonuses")
    EARNED_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_FEN_FIELD_NUMBER: _ClassVar[int]
    TIER_RATE_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIERS_FIELD_NUMBER: _ClassVar[int]
    BONUSES_FIELD_NUMBER: _ClassVar[int]
    earned: int
    base: int
    eligible_fen: int
    tier_rate: str
    factor: str
    multipliers: _containers.RepeatedCompositeFieldContainer[Multiplier]
    bonuses: _containers.RepeatedCompositeFieldContainer[Bonus]
    def __init__(self, earned: _Optional[int] = ..., base: _Optional[int] = ..., eligible_fen: _Optional[int] = ..., tier_rate: _Optional[str] = ..., factor: _Optional[str] = ..., multipliers: _Optional[_Iterable[_Union[Multiplier, _Mapping]]] = ..., bonuses: _Optional[_Iterable[_Union[Bonus, _Mapping]]] = ...) -> None: ...

class Multiplier(_message.Message):
    __slots__ = ("rule", "factor")
    RULE_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    rule: str
    factor: str
    def __init__(self, rule: _Optional[str] = ..., factor: _Optional[str] = ...) -> None: ...

class Bonus(_message.Message):
    __slots__ = ("rule", "points")
    RULE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    rule: str
    points: int
    def __init__(self, rule: _Optional[str] = ..., points: _Optional[int] = ...) -> None: ...

class CouponResult(_message.Message):
    __slots__ = ("code", "accepted", "reason", "discount_fen")
    CODE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    code: str
    accepted: bool
    reason: str
    discount_fen: int
    def __init__(self, code: _Optional[str] = ..., accepted: _Optional[bool] = ..., reason: _Optional[str] = ..., discount_fen: _Optional[int] = ...) -> None: ...

class Redemption(_message.Message):
    __slots__ = ("points", "value_fen")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    points: int
    value_fen: int
    def __init__(self, points: _Optional[int] = ..., value_fen: _Optional[int] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ("lines", "totals", "rate_totals", "refused_reason", "number")
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    RATE_TOTALS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_REASON_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    totals: InvoiceTotals
    rate_totals: _containers.RepeatedCompositeFieldContainer[RateTotals]
    refused_reason: str
    number: int
    def __init__(self, lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., totals: _Optional[_Union[InvoiceTotals, _Mapping]] = ..., rate_totals: _Optional[_Iterable[_Union[RateTotals, _Mapping]]] = ..., refused_reason: _Optional[str] = ..., number: _Optional[int] = ...) -> None: ...

class InvoiceLine(_message.Message):
    __slots__ = ("no", "kind", "line_id", "name", "tax_code", "tax_rate", "flags", "spec", "unit", "quantity_milli", "unit_price_excl", "amount_fen", "tax_fen", "gross_fen")
    NO_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAX_CODE_FIELD_NUMBER: _ClassVar[int]
    TAX_RATE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MILLI_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_EXCL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    TAX_FEN_FIELD_NUMBER: _ClassVar[int]
    GROSS_FEN_FIELD_NUMBER: _ClassVar[int]
    no: int
    kind: int
    line_id: str
    name: str
    tax_code: str
    tax_rate: str
    flags: TaxFlags
    spec: str
    unit: str
    quantity_milli: int
    unit_price_excl: str
    amount_fen: int
    tax_fen: int
    gross_fen: int
    def __init__(self, no: _Optional[int] = ..., kind: _Optional[int] = ..., line_id: _Optional[str] = ..., name: _Optional[str] = ..., tax_code: _Optional[str] = ..., tax_rate: _Optional[str] = ..., flags: _Optional[_Union[TaxFlags, _Mapping]] = ..., spec: _Optional[str] = ..., unit: _Optional[str] = ..., quantity_milli: _Optional[int] = ..., unit_price_excl: _Optional[str] = ..., amount_fen: _Optional[int] = ..., tax_fen: _Optional[int] = ..., gross_fen: _Optional[int] = ...) -> None: ...

class TaxFlags(_message.Message):
    __slots__ = ("zero_rate", "preferential", "special", "yhzcbs")
    ZERO_RATE_FIELD_NUMBER: _ClassVar[int]
    PREFERENTIAL_FIELD_NUMBER: _ClassVar[int]
    SPECIAL_FIELD_NUMBER: _ClassVar[int]
    YHZCBS_FIELD_NUMBER: _ClassVar[int]
    zero_rate: str
    preferential: str
    special: str
    yhzcbs: str
    def __init__(self, zero_rate: _Optional[str] = ..., preferential: _Optional[str] = ..., special: _Optional[str] = ..., yhzcbs: _Optional[str] = ...) -> None: ...

class InvoiceTotals(_message.Message):
    __slots__ = ("amount_fen", "tax_fen", "gross_fen")
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    TAX_FEN_FIELD_NUMBER: _ClassVar[int]
    GROSS_FEN_FIELD_NUMBER: _ClassVar[int]
    amount_fen: int
    tax_fen: int
    gross_fen: int
    def __init__(self, amount_fen: _Optional[int] = ..., tax_fen: _Optional[int] = ..., gross_fen: _Optional[int] = ...) -> None: ...

class RateTotals(_message.Message):
    __slots__ = ("tax_rate", "amount_fen", "tax_fen", "gross_fen")
    TAX_RATE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    TAX_FEN_FIELD_NUMBER: _ClassVar[int]
    GROSS_FEN_FIELD_NUMBER: _ClassVar[int]
    tax_rate: str
    amount_fen: int
    tax_fen: int
    gross_fen: int
    def __init__(self, tax_rate: _Optional[str] = ..., amount_fen: _Optional[int] = ..., tax_fen: _Optional[int] = ..., gross_fen: _Optional[int] = ...) -> None: ...

class ListRulesetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRulesetsReply(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[RulesetFile]
    def __init__(self, files: _Optional[_Iterable[_Union[RulesetFile, _Mapping]]] = ...) -> None: ...

class RulesetFile(_message.Message):
    __slots__ = ("path", "serving", "loaded_at", "last_error", "error_at", "file_digest", "recent_versions")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_AT_FIELD_NUMBER: _ClassVar[int]
    FILE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    RECENT_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    path: str
    serving: RulesetVersion
    loaded_at: str
    last_error: str
    error_at: str
    file_digest: str
    recent_versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[str] = ..., serving: _Optional[_Union[RulesetVersion, _Mapping]] = ..., loaded_at: _Optional[str] = ..., last_error: _Optional[str] = ..., error_at: _Optional[str] = ..., file_digest: _Optional[str] = ..., recent_versions: _Optional[_Iterable[str]] = ...) -> None: ...

class PingReply(_message.Message):
    __slots__ = ("ruleset",)
    RULESET_FIELD_NUMBER: _ClassVar[int]
    ruleset: RulesetVersion
    def __init__(self, ruleset: _Optional[_Union[RulesetVersion, _Mapping]] = ...) -> None: ...

class EnrollMemberRequest(_message.Message):
    __slots__ = ("member_id", "tier", "birthday", "tags", "segment", "join_date", "programme", "referrer_id")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    JOIN_DATE_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_FIELD_NUMBER: _ClassVar[int]
    REFERRER_ID_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    tier: str
    birthday: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    segment: str
    join_date: str
    programme: str
    referrer_id: str
    def __init__(self, member_id: _Optional[str] = ..., tier: _Optional[str] = ..., birthday: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., segment: _Optional[str] = ..., join_date: _Optional[str] = ..., programme: _Optional[str] = ..., referrer_id: _Optional[str] = ...) -> None: ...

class GetMemberRequest(_message.Message):
    __slots__ = ("member_id", "recent_entries")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    RECENT_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    recent_entries: int
    def __init__(self, member_id: _Optional[str] = ..., recent_entries: _Optional[int] = ...) -> None: ...

class MemberReply(_message.Message):
    __slots__ = ("member_id", "tier", "birthday", "tags", "segment", "join_date", "points_balance", "points_owed", "lifetime_spend_fen", "status", "last_purchase_at", "recent_entries", "programme", "referrer_id", "referral_points", "points_pending", "coupons", "segment_pinned")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    JOIN_DATE_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    POINTS_OWED_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_SPEND_FEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_PURCHASE_AT_FIELD_NUMBER: _ClassVar[int]
    RECENT_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_FIELD_NUMBER: _ClassVar[int]
    REFERRER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERRAL_POINTS_FIELD_NUMBER: _ClassVar[int]
    POINTS_PENDING_FIELD_NUMBER: _ClassVar[int]
    COUPONS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_PINNED_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    tier: str
    birthday: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    segment: str
    join_date: str
    points_balance: int
    points_owed: int
    lifetime_spend_fen: int
    status: str
    last_purchase_at: str
    recent_entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    programme: str
    referrer_id: str
    referral_points: int
    points_pending: int
    coupons: _containers.RepeatedCompositeFieldContainer[MemberCoupon]
    segment_pinned: bool
    def __init__(self, member_id: _Optional[str] = ..., tier: _Optional[str] = ..., birthday: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., segment: _Optional[str] = ..., join_date: _Optional[str] = ..., points_balance: _Optional[int] = ..., points_owed: _Optional[int] = ..., lifetime_spend_fen: _Optional[int] = ..., status: _Optional[str] = ..., last_purchase_at: _Optional[str] = ..., recent_entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., programme: _Optional[str] = ..., referrer_id: _Optional[str] = ..., referral_points: _Optional[int] = ..., points_pending: _Optional[int] = ..., coupons: _Optional[_Iterable[_Union[MemberCoupon, _Mapping]]] = ..., segment_pinned: _Optional[bool] = ...) -> None: ...

class MemberCoupon(_message.Message):
    __slots__ = ("code", "coupon", "label", "value_fen", "percent", "max_value_fen", "valid_from", "valid_to", "state", "used", "issued_by")
    CODE_FIELD_NUMBER: _ClassVar[int]
    COUPON_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    ISSUED_BY_FIELD_NUMBER: _ClassVar[int]
    code: str
    coupon: str
    label: str
    value_fen: int
    percent: str
    max_value_fen: int
    valid_from: str
    valid_to: str
    state: str
    used: bool
    issued_by: str
    def __init__(self, code: _Optional[str] = ..., coupon: _Optional[str] = ..., label: _Optional[str] = ..., value_fen: _Optional[int] = ..., percent: _Optional[str] = ..., max_value_fen: _Optional[int] = ..., valid_from: _Optional[str] = ..., valid_to: _Optional[str] = ..., state: _Optional[str] = ..., used: _Optional[bool] = ..., issued_by: _Optional[str] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("id", "kind", "points", "transaction_id", "return_id", "reason", "created_at", "expires_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    kind: str
    points: int
    transaction_id: str
    return_id: str
    reason: str
    created_at: str
    expires_at: str
    def __init__(self, id: _Optional[int] = ..., kind: _Optional[str] = ..., points: _Optional[int] = ..., transaction_id: _Optional[str] = ..., return_id: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[str] = ..., expires_at: _Optional[str] = ...) -> None: ...

class CommitRequest(_message.Message):
    __slots__ = ("transaction_id", "request", "displayed_payable_fen", "ruleset_version")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    DISPLAYED_PAYABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    request: EvaluateRequest
    displayed_payable_fen: int
    ruleset_version: str
    def __init__(self, transaction_id: _Optional[str] = ..., request: _Optional[_Union[EvaluateRequest, _Mapping]] = ..., displayed_payable_fen: _Optional[int] = ..., ruleset_version: _Optional[str] = ...) -> None: ...

class CommitReply(_message.Message):
    __slots__ = ("sale", "replayed", "points_earned", "points_redeemed", "member_points_balance", "member_tier", "upgraded_from")
    SALE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    POINTS_EARNED_FIELD_NUMBER: _ClassVar[int]
    POINTS_REDEEMED_FIELD_NUMBER: _ClassVar[int]
    MEMBER_POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_TIER_FIELD_NUMBER: _ClassVar[int]
    UPGRADED_FROM_FIELD_NUMBER: _ClassVar[int]
    sale: EvaluateReply
    replayed: bool
    points_earned: int
    points_redeemed: int
    member_points_balance: int
    member_tier: str
    upgraded_from: str
    def __init__(self, sale: _Optional[_Union[EvaluateReply, _Mapping]] = ..., replayed: _Optional[bool] = ..., points_earned: _Optional[int] = ..., points_redeemed: _Optional[int] = ..., member_points_balance: _Optional[int] = ..., member_tier: _Optional[str] = ..., upgraded_from: _Optional[str] = ...) -> None: ...

class ReturnRequest(_message.Message):
    __slots__ = ("transaction_id", "return_id", "lines")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    return_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReturnLine]
    def __init__(self, transaction_id: _Optional[str] = ..., return_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReturnLine, _Mapping]]] = ...) -> None: ...

class ReturnLine(_message.Message):
    __slots__ = ("line_id", "quantity_milli")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MILLI_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    quantity_milli: int
    def __init__(self, line_id: _Optional[str] = ..., quantity_milli: _Optional[int] = ...) -> None: ...

class ReturnReply(_message.Message):
    __slots__ = ("return_id", "transaction_id", "points_clawed_back", "refund_fen", "discount_reversed_fen", "lines", "red_lines", "sale_state", "replayed", "member_points_balance", "red_invoices")
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_CLAWED_BACK_FIELD_NUMBER: _ClassVar[int]
    REFUND_FEN_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_REVERSED_FEN_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    RED_LINES_FIELD_NUMBER: _ClassVar[int]
    SALE_STATE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    MEMBER_POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    RED_INVOICES_FIELD_NUMBER: _ClassVar[int]
    return_id: str
    transaction_id: str
    points_clawed_back: int
    refund_fen: int
    discount_reversed_fen: int
    lines: _containers.RepeatedCompositeFieldContainer[ReturnedLine]
    red_lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    sale_state: str
    replayed: bool
    member_points_balance: int
    red_invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    def __init__(self, return_id: _Optional[str] = ..., transaction_id: _Optional[str] = ..., points_clawed_back: _Optional[int] = ..., refund_fen: _Optional[int] = ..., discount_reversed_fen: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[ReturnedLine, _Mapping]]] = ..., red_lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., sale_state: _Optional[str] = ..., replayed: _Optional[bool] = ..., member_points_balance: _Optional[int] = ..., red_invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ...) -> None: ...

class ReturnedLine(_message.Message):
    __slots__ = ("line_id", "quantity_milli", "points", "refund_fen", "discount_fen")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MILLI_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REFUND_FEN_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    quantity_milli: int
    points: int
    refund_fen: int
    discount_fen: int
    def __init__(self, line_id: _Optional[str] = ..., quantity_milli: _Optional[int] = ..., points: _Optional[int] = ..., refund_fen: _Optional[int] = ..., discount_fen: _Optional[int] = ...) -> None: ...

class RedeemPointsRequest(_message.Message):
    __slots__ = ("member_id", "ruleset", "coupon_id", "request_id")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    RULESET_FIELD_NUMBER: _ClassVar[int]
    COUPON_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    ruleset: str
    coupon_id: str
    request_id: str
    def __init__(self, member_id: _Optional[str] = ..., ruleset: _Optional[str] = ..., coupon_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RedeemPointsReply(_message.Message):
    __slots__ = ("coupon_code", "coupon_id", "points_spent", "points_balance", "valid_from", "valid_to", "replayed")
    COUPON_CODE_FIELD_NUMBER: _ClassVar[int]
    COUPON_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_SPENT_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    coupon_code: str
    coupon_id: str
    points_spent: int
    points_balance: int
    valid_from: str
    valid_to: str
    replayed: bool
    def __init__(self, coupon_code: _Optional[str] = ..., coupon_id: _Optional[str] = ..., points_spent: _Optional[int] = ..., points_balance: _Optional[int] = ..., valid_from: _Optional[str] = ..., valid_to: _Optional[str] = ..., replayed: _Optional[bool] = ...) -> None: ...

class AdjustPointsRequest(_message.Message):
    __slots__ = ("member_id", "points", "reason", "operator", "request_id")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    points: int
    reason: str
    operator: str
    request_id: str
    def __init__(self, member_id: _Optional[str] = ..., points: _Optional[int] = ..., reason: _Optional[str] = ..., operator: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AdjustPointsReply(_message.Message):
    __slots__ = ("entry_id", "points_balance", "replayed")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry_id: int
    points_balance: int
    replayed: bool
    def __init__(self, entry_id: _Optional[int] = ..., points_balance: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class SessionRequest(_message.Message):
    __slots__ = ("seq", "whole_basket", "open", "resume", "add_line", "change_line", "remove_line", "add_coupon", "remove_coupon", "redeem_points", "quote", "commit")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    WHOLE_BASKET_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    ADD_LINE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_LINE_FIELD_NUMBER: _ClassVar[int]
    REMOVE_LINE_FIELD_NUMBER: _ClassVar[int]
    ADD_COUPON_FIELD_NUMBER: _ClassVar[int]
    REMOVE_COUPON_FIELD_NUMBER: _ClassVar[int]
    REDEEM_POINTS_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    whole_basket: bool
    open: EvaluateRequest
    resume: str
    add_line: Line
    change_line: Line
    remove_line: str
    add_coupon: str
    remove_coupon: str
    redeem_points: int
    quote: SessionQuote
    commit: SessionCommit
    def __init__(self, seq: _Optional[int] = ..., whole_basket: _Optional[bool] = ..., open: _Optional[_Union[EvaluateRequest, _Mapping]] = ..., resume: _Optional[str] = ..., add_line: _Optional[_Union[Line, _Mapping]] = ..., change_line: _Optional[_Union[Line, _Mapping]] = ..., remove_line: _Optional[str] = ..., add_coupon: _Optional[str] = ..., remove_coupon: _Optional[str] = ..., redeem_points: _Optional[int] = ..., quote: _Optional[_Union[SessionQuote, _Mapping]] = ..., commit: _Optional[_Union[SessionCommit, _Mapping]] = ...) -> None: ...

class SessionQuote(_message.Message):
    __slots__ = ("final_quote",)
    FINAL_QUOTE_FIELD_NUMBER: _ClassVar[int]
    final_quote: bool
    def __init__(self, final_quote: _Optional[bool] = ...) -> None: ...

class SessionCommit(_message.Message):
    __slots__ = ("displayed_payable_fen",)
    DISPLAYED_PAYABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    displayed_payable_fen: int
    def __init__(self, displayed_payable_fen: _Optional[int] = ...) -> None: ...

class SessionReply(_message.Message):
    __slots__ = ("seq", "basket", "committed", "error")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    BASKET_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    seq: int
    basket: SessionBasket
    committed: CommitReply
    error: SessionError
    def __init__(self, seq: _Optional[int] = ..., basket: _Optional[_Union[SessionBasket, _Mapping]] = ..., committed: _Optional[_Union[CommitReply, _Mapping]] = ..., error: _Optional[_Union[SessionError, _Mapping]] = ...) -> None: ...

class SessionBasket(_message.Message):
    __slots__ = ("quote", "whole", "removed_line_ids")
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    WHOLE_FIELD_NUMBER: _ClassVar[int]
    REMOVED_LINE_IDS_FIELD_NUMBER: _ClassVar[int]
    quote: EvaluateReply
    whole: bool
    removed_line_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, quote: _Optional[_Union[EvaluateReply, _Mapping]] = ..., whole: _Optional[bool] = ..., removed_line_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SessionError(_message.Message):
    __slots__ = ("code", "details")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    code: str
    details: str
    def __init__(self, code: _Optional[str] = ..., details: _Optional[str] = ...) -> None: ...

class GetCampaignRequest(_message.Message):
    __slots__ = ("programme", "campaign", "date")
    PROGRAMME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    programme: str
    campaign: str
    date: str
    def __init__(self, programme: _Optional[str] = ..., campaign: _Optional[str] = ..., date: _Optional[str] = ...) -> None: ...

class CampaignReply(_message.Message):
    __slots__ = ("programme", "campaign", "label", "owner", "status", "valid_from", "valid_to", "file", "budgets")
    PROGRAMME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    programme: str
    campaign: str
    label: str
    owner: str
    status: str
    valid_from: str
    valid_to: str
    file: str
    budgets: _containers.RepeatedCompositeFieldContainer[CampaignBudget]
    def __init__(self, programme: _Optional[str] = ..., campaign: _Optional[str] = ..., label: _Optional[str] = ..., owner: _Optional[str] = ..., status: _Optional[str] = ..., valid_from: _Optional[str] = ..., valid_to: _Optional[str] = ..., file: _Optional[str] = ..., budgets: _Optional[_Iterable[_Union[CampaignBudget, _Mapping]]] = ...) -> None: ...

class CampaignBudget(_message.Message):
    __slots__ = ("kind", "period", "period_key", "cap", "used", "left")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_KEY_FIELD_NUMBER: _ClassVar[int]
    CAP_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    LEFT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    period: str
    period_key: str
    cap: int
    used: int
    left: int
    def __init__(self, kind: _Optional[str] = ..., period: _Optional[str] = ..., period_key: _Optional[str] = ..., cap: _Optional[int] = ..., used: _Optional[int] = ..., left: _Optional[int] = ...) -> None: ...

class UpdateMemberRequest(_message.Message):
    __slots__ = ("member_id", "set_tags", "tags", "birthday", "segment")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    SET_TAGS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    set_tags: bool
    tags: _containers.RepeatedScalarFieldContainer[str]
    birthday: str
    segment: str
    def __init__(self, member_id: _Optional[str] = ..., set_tags: _Optional[bool] = ..., tags: _Optional[_Iterable[str]] = ..., birthday: _Optional[str] = ..., segment: _Optional[str] = ...) -> None: ...

class ChangeMemberTierRequest(_message.Message):
    __slots__ = ("member_id", "tier", "reason")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    tier: str
    reason: str
    def __init__(self, member_id: _Optional[str] = ..., tier: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EraseMemberRequest(_message.Message):
    __slots__ = ("member_id", "reason")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    reason: str
    def __init__(self, member_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EraseMemberReply(_message.Message):
    __slots__ = ("anonymous_id",)
    ANONYMOUS_ID_FIELD_NUMBER: _ClassVar[int]
    anonymous_id: str
    def __init__(self, anonymous_id: _Optional[str] = ...) -> None: ...
