"""Checks of the programme's referral scheme (`referral level N points P per|at AMOUNT`) and of its
RFM segments (`segment NAME when ...`).

Two levels only (who referred the buyer, and who referred them), positive points and amounts,
and each (level, per) or (level, at) said once: a repeated line would pay twice for one thing.
"""

from __future__ import annotations

from engine.check.conditions import ConditionChecker
from engine.money import format_fen
from engine.rules import ReferralAward, Segment

__all__ = ["check_referral", "check_segments"]

REFERRAL_LEVELS = (1, 2)


def check_referral(checker: ConditionChecker, awards: tuple[ReferralAward, ...]) -> None:
    seen: set[tuple[int, str]] = set()
    for a in awards:
        if a.level not in REFERRAL_LEVELS:
            checker.fail(
                f"referral level {a.level} does not exist",
                a.span,
                "level 1 is who referred the buyer, level 2 who referred them",
            )
        if a.points <= 0:
            checker.fail("a referral award needs a positive number of points", a.span)
        amount = a.per if a.per is not None else a.at
        if amount is None or amount <= 0:
            checker.fail(
                "a referral award needs a positive amount", a.span, "write `per 10.00` or `at 500.00`"
            )
            continue
        key = (a.level, f"per {amount}" if a.per is not None else f"at {amount}")
        if key in seen:
            checker.fail(
                f"referral level {a.level} {'per' if a.per is not None else 'at'} {format_fen(amount)} "
                "is declared twice",
                a.span,
                "declare each award once",
            )
        seen.add(key)


def check_segments(checker: ConditionChecker, segments: tuple[Segment, ...]) -> None:
    """Each segment named once (the first match wins, so a second one would never be reached)."""
    seen: set[str] = set()
    for segment in segments:
        if segment.id in seen:
            checker.fail(
                f"segment '{segment.id}' is declared twice", segment.span, "give each segment its own name"
            )
        seen.add(segment.id)
