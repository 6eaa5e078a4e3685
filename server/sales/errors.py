"""The service's own refusals around the ledger, raised by server.sales.desk and mapped by server.rpc.status.

They live apart from :mod:`server.storage.errors` because they are decisions of the
service (a price check, a server started without a database), not of the store.
"""

from __future__ import annotations

from engine.money import format_fen

__all__ = ["CouponNotForPoints", "NoLedger", "PayableMismatch"]


class PayableMismatch(Exception):
    """The sale re-priced with the quoted ruleset version does not cost what the till displayed."""

    def __init__(self, displayed: int, repriced: int, version: str) -> None:
        super().__init__(
            f"displayed_payable_fen: the till displayed {displayed} fen ({format_fen(displayed)}) but the "
            f"sale re-priced with ruleset version {version} costs {repriced} fen ({format_fen(repriced)}); "
            "price the basket again with Evaluate and show the customer the new amount"
        )
        self.displayed = displayed
        self.repriced = repriced


class NoLedger(Exception):
    """The server was started without a ledger database, so it cannot keep members or sales."""

    def __init__(self, method: str) -> None:
        super().__init__(
            f"{method} needs the ledger, and this server runs without one (promo serve --db URL)"
        )


class CouponNotForPoints(Exception):
    """The coupon definition asked for in RedeemPoints has no points price."""

    def __init__(self, ruleset: str, coupon_id: str, known: tuple[str, ...]) -> None:
        offers = ", ".join(known) or "none"
        super().__init__(
            f"coupon_id: coupon {coupon_id!r} of ruleset {ruleset!r} cannot be bought with points "
            f"(coupons with `redeem_for`: {offers})"
        )
        self.coupon_id = coupon_id
