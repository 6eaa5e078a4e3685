"""Syntax errors in words a merchandiser reads, never in parser-generator jargon.

The parser knows *which terminals* it wanted; people need a phrase ("a money amount
like 20.00 after 'value'"). This module owns that vocabulary so dsl/parser.py can
stay about driving Lark.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import RuleError, did_you_mean
from engine.spans import Span

__all__ = ["DslSyntaxError", "expected_phrase", "found_phrase", "syntax_message"]


class DslSyntaxError(RuleError):
    """The text does not follow the ruleset grammar at this place."""


# What a value terminal is called, by the grammar rule it is about to become (see
# dsl/parser.py: the parse table tells which rule a DECIMAL or NAME would reduce to).
_BY_RULE = {
    "money": "a money amount like 20.00",
    "whole": "a whole number",
    "qty": "a quantity like 1 or 1.250",
    "number": "a number",
    "per_yuan": "a number of points per yuan, like 1",
    "weekday": "a weekday like sat or 周六",
    "field": "a field like item.category",
}

# ... and otherwise by the terminal alone.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "DOTTED": "a field like item.category",
    "STRING": 'a text in double quotes ("食品")',
    "DECIMAL": "a number",
    "PERCENT": "a percent like 5%",
    "ZHE": "a 折 rate like 9.5折",
    "FACTOR": "a factor like x1.5",
    "DATE": "a date like 2026-11-15",
    "TIME": "a time like 10:00",
    "OP": "a comparison (=, !=, <, <=, > or >=)",
    "DASH": "'-'",
    "ARROW": "'->'",
    "_NL": "the end of the line",
    "$END": "the end of the file",
}

# A NAME right after these keywords is an id of a particular kind.
_NAME_AFTER = {
    "rule": "a rule id like member_day",
    "tier": "a tier id like gold",
    "table": "a table id like card_rates",
    "coupon": "a coupon id like C20",
    "currency": "a currency code like CNY",
    "rounding": "floor, half_up or ceil",
    "multipliers": "multiply, max or add",
    "days": "downgrade or terminate",
    "rejected": "a rejection reason like min_spend",
    "tax": "a tax rate like 13% or exempt",
    "group": "a group name",
}

_DECLARATIONS = ("RULESET", "TIER", "RULE", "TABLE", "NO_POINTS", "COUPON", "EXAMPLE")
_VALUE_START = {"NAME", "DECIMAL", "STRING", "DATE", "TIME"}


def expected_phrase(
    expected: Iterable[str], keywords: dict[str, str], rule_of: dict[str, str], after: str | None
) -> str:
    """Say what the parser wanted, from terminal names.

    ``keywords`` maps keyword terminal names to their text; ``rule_of`` maps value
    terminals to the grammar rule they would have become, when the parser knows.
    """
    names = set(expected) - {"WS", "COMMENT"}
    if set(_DECLARATIONS) <= names:
        return "a declaration (ruleset, tier, rule, table, no_points, coupon or example)"
    if names >= _VALUE_START:
        if "NOT" in names:
            return 'a condition like item.category = "food"'
        return 'a value (a field, a number, "text", a date or a time)'
    words: list[str] = []
    for name in sorted(names, key=lambda n: _order(n, keywords)):
        if name in rule_of and rule_of[name] in _BY_RULE:
            word = _BY_RULE[rule_of[name]]
        elif name == "NAME" and after in _NAME_AFTER:
            word = _NAME_AFTER[after]
        elif name in _TERMINAL_WORDS:
            word = _TERMINAL_WORDS[name]
        elif name in keywords:
            word = f"'{keywords[name]}'"
        else:  # a terminal we forgot to name: still no Lark jargon
            word = name.lower().strip("_")
        if word not in words:
            words.append(word)
    if not words:
        return "nothing more here"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _order(name: str, keywords: dict[str, str]) -> tuple[int, str]:
    """Values first, then keywords, then punctuation, then end of line/file."""
    if name in ("_NL", "$END"):
        return (3, name)
    if name in _TERMINAL_WORDS:
        return (0, name)
    text = keywords.get(name, name)
    return (1 if text[:1].isalpha() else 2, text)


def found_phrase(token_type: str, value: str) -> str:
    """What the parser found instead, in words."""
    if token_type == "$END":
        return "the end of the file"
    if token_type == "_NL":
        return "the end of the line"
    return f"'{value}'"


def syntax_message(
    expected: str, after: str | None, found: str, found_value: str, candidates: Iterable[str], span: Span
) -> DslSyntaxError:
    """Build the error: "expected X after 'y', found 'z'" plus a did-you-mean hint."""
    where = f" after '{after}'" if after else " at the start of the file"
    hint = did_you_mean(found_value, list(candidates)) if found_value.isidentifier() else None
    return DslSyntaxError(f"expected {expected}{where}, found {found}", span, hint)
