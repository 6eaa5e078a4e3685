"""Building the unit-level item effects: 买N赠M, 第N件X折, 任选N件X元 and 满赠 (see dsl/build_base.py)."""

from __future__ import annotations

from typing import Any

from dsl.build_base import BuildBase, args_of
from dsl.build_rules import limit_of
from dsl.literals import LiteralError, to_text
from engine import rules as ir

__all__ = ["UnitParts"]


class UnitParts(BuildBase):
    """`buy 2 get 1 free`, `every 2nd unit 5折`, `any 3 for 99.00`, `gift "SKU" qty 1`.

    Only the shape is read here; zero counts, rates and prices are the checker's
    (engine/check/units.py), so every such mistake is reported with the others.
    """

    def buy_get(self, meta: Any, ch: list[Any]) -> ir.BuyGet:
        args = args_of(ch)
        return ir.BuyGet(args[0], args[1], limit_of(args), span=self.span(meta))

    def every_nth(self, meta: Any, ch: list[Any]) -> ir.EveryNth:
        args = args_of(ch)
        n = self.literal(_ordinal, args[0], 0)
        return ir.EveryNth(n, args[1], limit_of(args), span=self.span(meta))

    def units_for(self, meta: Any, ch: list[Any]) -> ir.UnitsFor:
        args = args_of(ch)
        return ir.UnitsFor(args[0], args[1], limit_of(args), span=self.span(meta))

    def gift(self, meta: Any, ch: list[Any]) -> ir.Gift:
        args = args_of(ch)
        return ir.Gift(to_text(args[0].value), args[1], span=self.span(meta))


def _ordinal(text: str) -> int:
    """``2nd`` -> 2; the suffix must be the English one for the number (1st, 2nd, 3rd, 4th, 11th...)."""
    n = int(text[:-2])
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    if text[-2:] != suffix:
        raise LiteralError(f"{text} is not an ordinal", f"write {n}{suffix}")
    return n
