"""Building a campaign file: its ``campaign "id" { ... }`` header and what it declares.

A campaign file is read on its own (its own Source, so errors name its file and line) and
comes out as a :class:`CampaignFile`; dsl.programme merges it with the programme file.
The header's statements: owner, label, valid DATE to DATE, status live|draft.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from dsl.build_base import Stmt, args_of, flatten
from dsl.literals import to_date, to_text
from engine import rules as ir
from engine.errors import did_you_mean
from engine.spans import Span

__all__ = ["CampaignFile", "CampaignHeader", "CampaignParts"]


@dataclass(frozen=True, slots=True)
class CampaignHeader:
    campaign: ir.Campaign
    span: Span


@dataclass(frozen=True, slots=True)
class CampaignFile:
    """One campaign file, built: its header and its declarations in file order."""

    campaign: ir.Campaign
    rules: tuple[ir.Rule, ...]
    coupons: tuple[ir.Coupon, ...]
    no_points: tuple[ir.NoPoints, ...]
    examples: tuple[ir.Example, ...]
    source_text: str


class CampaignParts:
    """Tree-builder methods for the campaign header (mixed into dsl.transform's builder)."""

    def campaign_file(self, items: list[Any], headers: list[CampaignHeader]) -> CampaignFile:
        for extra in headers[1:]:
            self.fail("a campaign file has one campaign header; this is a second one", extra.span)
        for item in items:
            if isinstance(item, ir.Tier):
                self.fail(
                    "tiers belong to the programme file, not to a campaign",
                    item.span,
                    "move this tier to programme.rules",
                )
            elif type(item).__name__ == "_Header":
                self.fail(
                    "a campaign file has no ruleset header: the programme file holds the settings",
                    item.span,
                    "move this header to programme.rules",
                )
        return CampaignFile(
            campaign=headers[0].campaign,
            rules=tuple(
                replace(r, order=n) for n, r in enumerate(i for i in items if isinstance(i, ir.Rule))
            ),
            coupons=tuple(
                replace(c, order=n) for n, c in enumerate(i for i in items if isinstance(i, ir.Coupon))
            ),
            no_points=tuple(i for i in items if isinstance(i, ir.NoPoints)),
            examples=tuple(i for i in items if isinstance(i, ir.Example)),
            source_text=self.source.text,
        )

    def campaign_header(self, meta: Any, ch: list[Any]) -> CampaignHeader:
        args = args_of(ch)
        span = self.head_span(ch)
        values: dict[str, Any] = {}
        for stmt in flatten(args[1:]):
            if stmt.kind in values:
                self.fail(f"'{stmt.kind}' is set twice in this campaign header", stmt.span)
            values[stmt.kind] = stmt.value
        dates = values.pop("valid", None)
        if dates is not None:
            values["date_from"], values["date_to"] = dates
        budget = values.pop("budget", None)
        if budget is not None:
            values["budget_fen"], values["budget_period"] = budget
        campaign = ir.Campaign(id=to_text(args[0].value), file="", span=span, **values)
        return CampaignHeader(campaign, span)

    def campaign_settings(self, meta: Any, ch: list[Any]) -> list[Stmt]:
        return args_of(ch)

    def campaign_owner(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("owner", to_text(args_of(ch)[0].value), self.span(meta))

    def campaign_label(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("label", to_text(args_of(ch)[0].value), self.span(meta))

    def campaign_valid(self, meta: Any, ch: list[Any]) -> Stmt:
        start, end = (self.literal(to_date, t, date(2000, 1, 1)) for t in args_of(ch))
        span = self.span(meta)
        if end < start:
            self.fail("this window ends before it starts", span, "swap the dates")
        return Stmt("valid", (start, end), span)

    def campaign_budget(self, meta: Any, ch: list[Any]) -> Stmt:
        fen, period = args_of(ch)
        span = self.span(meta)
        if period.value not in ir.BUDGET_PERIODS:
            self.fail(
                f"unknown budget period '{period.value}'",
                self.token_span(period),
                did_you_mean(period.value, ir.BUDGET_PERIODS) or "write day or campaign",
            )
        if fen <= 0:
            self.fail("a budget is more than 0.00", span)
        return Stmt("budget", (fen, period.value if period.value in ir.BUDGET_PERIODS else "day"), span)

    def campaign_uses(self, meta: Any, ch: list[Any]) -> Stmt:
        span = self.span(meta)
        uses = args_of(ch)[0]
        if uses <= 0:
            self.fail("a budget allows at least 1 use", span)
        return Stmt("budget_uses", uses, span)

    def campaign_status(self, meta: Any, ch: list[Any]) -> Stmt:
        tok = args_of(ch)[0]
        if tok.value not in ("live", "draft"):
            self.fail(
                f"unknown campaign status '{tok.value}'",
                self.token_span(tok),
                did_you_mean(tok.value, ("live", "draft")) or "write live or draft",
            )
            return Stmt("status", "live", self.span(meta))
        return Stmt("status", str(tok.value), self.span(meta))
