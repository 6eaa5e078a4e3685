"""Which campaign a discount source belonged to, for the ruleset version that priced the sale.

A programme folder has one file per campaign (:mod:`dsl.programme`); each rule and coupon
names the campaign file it came from. A source's campaign is a fact of the version the sale
was priced with (a rule may move between campaign files from one version to the next), so it
is looked up through the sale's ruleset digest in the stored sources (``ruleset_sources``,
kept by the desk at Commit). Each version is parsed once per report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

__all__ = ["PROGRAMME", "UNKNOWN", "CampaignBook"]

PROGRAMME = "(programme)"  # the programme file's own rules and coupons, and points redemption
UNKNOWN = "(unknown)"  # the version's source is not stored, or no longer names the source


class CampaignBook:
    """``campaign(digest, source)``: the campaign of a report source (a rule id, ``coupon:ID``,
    ``points``) in the version ``digest``; read through ``session`` (the report's snapshot)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._versions: dict[str, dict[str, str] | None] = {}

    def campaign(self, digest: str, source: str) -> str:
        if source == "points":
            return PROGRAMME
        found = self._versions.get(digest, False)
        if found is False:
            found = self._versions[digest] = self._load(digest)
        if found is None:
            return UNKNOWN
        return found.get(source, UNKNOWN)

    def _load(self, digest: str) -> dict[str, str] | None:
        import dsl
        from dsl.programme import is_bundle
        from engine.errors import RuleErrors
        from server.rulesets.sources import SOURCES

        row = self.session.execute(
            select(SOURCES.c.name, SOURCES.c.source).where(SOURCES.c.digest == digest)
        ).one_or_none()
        if row is None:
            return None
        name, text = row
        try:
            ruleset = dsl.load(text, name if is_bundle(text) else f"{name}.rules")
        except RuleErrors:  # a stored version this code no longer reads: say so in the report, don't fail
            return None
        out = {rule.id: rule.campaign or PROGRAMME for rule in ruleset.rules}
        out.update({f"coupon:{c.id}": c.campaign or PROGRAMME for c in ruleset.coupons})
        return out
