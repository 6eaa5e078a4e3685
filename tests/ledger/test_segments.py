"""RFM segments on both databases: maintain sets them for its day (first match wins, returns count),
a second run changes nothing, and `promo segments` counts them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ledger_helpers import enroll, line

import dsl
from engine.ledger.segments import segment_of
from server.cli.main import main
from server.storage.segments import latest_moves

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
    table = capsys.readouterr().out.split("\nmoved")[0]  # the counts, before the list of moves
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()}
    # count, and the change in the last run (2026-08-30): three members left loyal/active for lapsed
    assert rows["lapsed"] == ["3", "+3"] and rows["(none)"] == ["1", "+0"] and rows["total"] == ["4"]
    assert rows["loyal"] == ["0", "-1"] and rows["active"] == ["0", "-2"]
    out = main_output(db)
    assert "moved in the run of 2026-08-30: 3" in out
    assert "  active -> lapsed: 2" in out and "  loyal -> lapsed: 1" in out


def main_output(db) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["segments", "--db", db.url]) == 0
    return out.getvalue()


def test_second_run_moves_nobody_and_records_it(ledger, shop, compiled, db):
    enroll(ledger, "A")
    ledger.commit_sale(shop.sale("T1", (line("1", 30000, 1000),), member="A"))
    settings = settings_with_segments(compiled)
    ledger.maintain(date(2026, 5, 20), settings, compiled.ruleset.tiers)
    ledger.maintain(date(2026, 5, 20), settings, compiled.ruleset.tiers)
    with ledger.sessions() as session:
        as_of, moves = latest_moves(session, None)
    assert (as_of, dict(moves)) == (date(2026, 5, 20), {("active", "active"): 1})
    assert "moved in the run of 2026-05-20: 0" in main_output(db)


def test_a_segment_set_by_update_member_outlives_maintain(ledger, shop, compiled, db):
    """UpdateMember's segment is an override: maintain keeps it until "" hands the member back."""
    enroll(ledger, "A")
    ledger.commit_sale(shop.sale("T1", (line("1", 30000, 1000),), member="A"))
    settings = settings_with_segments(compiled)
    assert ledger.update_member("A", segment="vip").segment_pinned
    report = ledger.maintain(date(2026, 5, 20), settings, compiled.ruleset.tiers)
    assert (ledger.get_member("A").segment, report.segments_changed) == ("vip", 0)
    assert not ledger.update_member("A", segment="").segment_pinned
    report = ledger.maintain(date(2026, 5, 20), settings, compiled.ruleset.tiers)
    assert (ledger.get_member("A").segment, report.segments_changed) == ("active", 1)


def test_segments_before_any_run(db, ledger, capsys):
    enroll(ledger, "A")
    assert main(["segments", "--db", db.url]) == 0
    out = capsys.readouterr().out
    assert "no maintain run yet" in out and "moved" not in out


def test_segment_of_first_match_and_never_bought():
    segments = dsl.load(HEADER, "h.rules").settings.segments
    assert segment_of(segments, 10, 2, 50000) == "loyal"
    assert segment_of(segments, 10, 1, 99999) == "active"
    assert segment_of(segments, None, 0, 0) == ""  # no purchase: every recency test is false
