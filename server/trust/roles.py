"""The one table of which role may call which method (PRODUCT.md "Trust").

A till prices, commits and returns; only an admin adjusts points; finance reads; a job
(scheduled work) reads the rulesets. A method missing from :data:`METHOD_ROLES` is refused
to everyone, so a new RPC is closed until it gets its line here (a test checks every
method of the proto has one).
"""

from __future__ import annotations

__all__ = ["ANY_CALLER", "METHOD_ROLES", "OPEN_METHODS", "ROLES", "roles_for"]

ROLES = ("till", "finance", "admin", "job")
ANY_CALLER = frozenset(ROLES)
_TILL = frozenset({"till"})

METHOD_ROLES: dict[str, frozenset[str]] = {
    "/promo.v1.Promotions/Evaluate": frozenset({"till", "admin"}),
    "/promo.v1.Promotions/Ping": frozenset({"till", "admin"}),
    "/promo.v1.Promotions/ListRulesets": ANY_CALLER,
    "/promo.v1.Promotions/EnrollMember": _TILL,
    "/promo.v1.Promotions/GetMember": frozenset({"till", "finance", "admin"}),
    "/promo.v1.Promotions/Commit": _TILL,
    "/promo.v1.Promotions/Return": _TILL,
    "/promo.v1.Promotions/RedeemPoints": _TILL,
    # One stream per sale: it prices like Evaluate and ends with a Commit, so a till's alone.
    "/promo.v1.Promotions/TillSession": _TILL,
    # A member's tags, birthday and segment: at the counter, or by the back office.
    "/promo.v1.Promotions/UpdateMember": frozenset({"till", "admin"}),
    # Only an admin changes a tier or erases a member (PRODUCT.md "Trust").
    "/promo.v1.Admin/ChangeMemberTier": frozenset({"admin"}),
    "/promo.v1.Admin/EraseMember": frozenset({"admin"}),
    "/promo.v1.Admin/AdjustPoints": frozenset({"admin"}),
    "/promo.v1.Admin/ListRulesets": ANY_CALLER,
    # A campaign's budgets, used and left: the back office and finance read them.
    "/promo.v1.Admin/GetCampaign": frozenset({"admin", "finance"}),
    # Reflection lists the services: any authenticated caller, never an anonymous one.
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": ANY_CALLER,
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": ANY_CALLER,
}

OPEN_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})
"""Load balancers probe health without credentials."""


def roles_for(method: str) -> frozenset[str]:
    """The roles that may call ``method`` (empty: nobody)."""
    return METHOD_ROLES.get(method, frozenset())
