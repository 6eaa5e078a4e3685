"""RFM segments on both databases: maintain sets them for its day (first match wins, returns count),
a second run changes nothing, and `promo segments` counts them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ledger_helpers import enroll, line

import dsl
from engine.ledger.segments import segment_of
from server.cli.main import main

HEADER = """ruleset "ledger-test" {
  segment loyal when recency <= 30 and frequency >= 2 and monetary >= 500.00
  segment active when recency <= 30
  segment lapsed when recency > 90
}
"""


def settings_with_segments(compiled):
    return replace(compiled.ruleset.settings, segments=dsl.load(HEADER, "h.rules").settings.segments)


def test_maintain_sets_segments_once(ledger, shop, compiled, db, capsys):
    for m in ("L", "A", "N", "R"):
        enroll(ledger, m)
    ledger.commit_sale(shop.sale("T1", (line("1", 30000, 1000),), member="L"))  # 2026-05-01, 300.00
    ledger.commit_sale(shop.sale("T2", (line("1", 30000, 1000),), member="L"))
    ledger.commit_sale(shop.sale("T3", (line("1", 30000, 1000),), member="A"))
    ledger.commit_sale(shop.sale("T4", (line("1", 30000, 1000),), member="R"))
    ledger.commit_sale(shop.sale("T5", (line("1", 30000, 1000),), member="R"))
    ledger.return_lines("T5", "R1", {"1": 500})  # R paid 450.00 net: not loyal
    settings = settings_with_segments(compiled)
    report = ledger.maintain(date(2026, 5, 20), settings, compiled.ruleset.tiers)
    got = {m: ledger.get_member(m).segment for m in ("L", "A", "N", "R")}
    assert got == {"L": "loyal", "A": "active", "N": "", "R": "active"}
    assert report.segments_changed == 3
    assert ledger.maintain(date(2026, 5, 20), settings, compiled.ruleset.tiers).segments_changed == 0
    report = ledger.maintain(date(2026, 8, 30), settings, compiled.ruleset.tiers)  # 121 days later
    assert {m: ledger.get_member(m).segment for m in ("L", "A", "N", "R")} == {
        "L": "lapsed",
        "A": "lapsed",
        "N": "",
        "R": "lapsed",
    }
    capsys.readouterr()
    assert main(["segments", "--db", db.url]) == 0
    out = capsys.readouterr().out
    assert "lapsed  3" in out and "(none)  1" in out and "total   4" in out


def test_segment_of_first_match_and_never_bought():
    segments = dsl.load(HEADER, "h.rules").settings.segments
    assert segment_of(segments, 10, 2, 50000) == "loyal"
    assert segment_of(segments, 10, 1, 99999) == "active"
    assert segment_of(segments, None, 0, 0) == ""  # no purchase: every recency test is false
