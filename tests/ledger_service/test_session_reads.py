"""KeptReads: a session's pricing read is answered again only while nothing could have changed it."""

from __future__ import annotations

from server.sales.session_reads import FRESH_S, KeptReads
from server.storage.coupon_cache import CouponCache
from server.storage.member_cache import MemberCache


class Ledger:
    """Counts the reads asked of it; its caches are the real ones (their generations move on forget)."""

    def __init__(self) -> None:
        self.member_cache, self.coupon_cache = MemberCache(), CouponCache()
        self.reads = 0

    def pricing_reads(self, member_id: str | None, codes: tuple[str, ...], *, cached: bool) -> object:
        assert cached
        self.reads += 1
        return (member_id, codes, self.reads)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _kept() -> tuple[Ledger, Clock, KeptReads]:
    ledger, clock = Ledger(), Clock()
    return ledger, clock, KeptReads(ledger, clock)  # type: ignore[arg-type]


def test_the_same_read_is_answered_again_while_nothing_wrote() -> None:
    ledger, _, kept = _kept()
    first = kept.get("M1", ())
    assert kept.get("M1", ()) is first
    assert ledger.reads == 1


def test_a_write_of_this_process_is_read_at_the_next_scan() -> None:
    """Any forget (a commit's spent code, an enrolment, an erasure) moves a generation."""
    ledger, _, kept = _kept()
    kept.get("M1", ("C1",))
    ledger.coupon_cache.forget("C1")
    kept.get("M1", ("C1",))
    ledger.member_cache.forget("M1")
    kept.get("M1", ("C1",))
    assert ledger.reads == 3


def test_other_codes_or_an_old_read_are_read_again() -> None:
    ledger, clock, kept = _kept()
    kept.get("M1", ())
    kept.get("M1", ("C1",))  # a coupon added
    clock.now += FRESH_S  # another process's write: seen once the caches' TTL and this have passed
    kept.get("M1", ("C1",))
    assert ledger.reads == 3
