"""The rule-tree IR: what a ruleset means, independent of how it was written.

``dsl`` builds these nodes from text; tests may build them by hand. Every node
carries a :class:`~engine.spans.Span` that equality ignores, so a formatted
ruleset that means the same thing compares equal to the original.

Values inside the IR are already exact: money in integer fen, quantities in
integer thousandths, rates and factors as ``Fraction``.

The nodes live in one module per kind (conditions, effects, declarations, examples); this
package is the vocabulary the rest of the engine imports them from.
"""

from __future__ import annotations

from engine.rules.campaigns import BUDGET_PERIODS, LIMIT_PERIODS, Campaign, Limit
from engine.rules.declarations import (
    ALWAYS,
    Coupon,
    IssuedCoupon,
    NoPoints,
    ReferralAward,
    Rule,
    Ruleset,
    Segment,
    SegmentTest,
    Settings,
    Tier,
    Validity,
)
from engine.rules.effects import (
    UNIT_EFFECTS,
    AmountOff,
    BasketEvery,
    BasketOff,
    BasketSteps,
    BonusPoints,
    BuyGet,
    Effect,
    EveryNth,
    Gift,
    MemberPrice,
    PercentOff,
    PointsMultiplier,
    Stage,
    TableDiscount,
    UnitEffect,
    UnitsFor,
    stage_of,
)
from engine.rules.examples import Example, ExampleLine, ExampleMember, Expectation, LineExpectation
from engine.rules.expressions import (
    FIELD_TYPES,
    Aggregate,
    And,
    Compare,
    Const,
    Expr,
    Field,
    Has,
    In,
    IsBirthday,
    Not,
    Or,
    ValueType,
)

__all__ = [
    "ALWAYS",
    "BUDGET_PERIODS",
    "FIELD_TYPES",
    "LIMIT_PERIODS",
    "UNIT_EFFECTS",
    "Aggregate",
    "AmountOff",
    "And",
    "BasketEvery",
    "BasketOff",
    "BasketSteps",
    "BonusPoints",
    "BuyGet",
    "Campaign",
    "Compare",
    "Const",
    "Coupon",
    "Effect",
    "EveryNth",
    "Example",
    "ExampleLine",
    "ExampleMember",
    "Expectation",
    "Expr",
    "Field",
    "Gift",
    "Has",
    "In",
    "IsBirthday",
    "IssuedCoupon",
    "Limit",
    "LineExpectation",
    "MemberPrice",
    "NoPoints",
    "Not",
    "Or",
    "PercentOff",
    "PointsMultiplier",
    "ReferralAward",
    "Rule",
    "Ruleset",
    "Segment",
    "SegmentTest",
    "Settings",
    "Stage",
    "TableDiscount",
    "Tier",
    "UnitEffect",
    "UnitsFor",
    "Validity",
    "ValueType",
    "stage_of",
]
