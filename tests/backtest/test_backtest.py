"""`promo backtest`: every stored sale of the period priced before and after, added up right.

The expected totals are computed here the slow, obvious way (one process, one sale at a time,
straight from the stored rows), and the command, with two worker processes, must agree.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

from google.protobuf import json_format
from sqlalchemy import select

import dsl
from benchmarks.seed_sales import seed_sales
from dsl.programme import bundle_text, read_folder
from engine.compiled import compile_ruleset
from server._pb.promo.v1 import promo_pb2 as pb
from server.cli.main import main
from server.storage.models import Sale
from server.wire.request import request_from_proto

HEALTH = bundle_text(read_folder("rulesets/health"))  # the programme folder as one text
CANDIDATE = HEALTH.replace("then item discount 9.5折", "then item discount 9折")  # a_class 5% -> 10%
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 10)


def _period_requests(ledger):  # type: ignore[no-untyped-def]
    """(local day, engine request) of each stored sale of the period, as the ledger keeps it."""
    with ledger.sessions() as session:
        rows = session.execute(
            select(Sale.local_date, Sale.request).where(Sale.local_date >= FIRST, Sale.local_date <= LAST)
        ).all()
    for day, stored in rows:
        msg = json_format.ParseDict(json.loads(stored)["request"], pb.EvaluateRequest())
        yield day, request_from_proto(msg)


def _expected(ledger, baseline, candidate) -> dict:  # type: ignore[no-untyped-def]
    """Totals by the obvious route: each sale of the period, evaluated in this process."""
    by_source: dict[str, list[int]] = {}
    days: Counter[str] = Counter()
    changed = sales = 0
    for day, request in _period_requests(ledger):
        before, after = baseline.evaluate(request), candidate.evaluate(request)
        sales += 1
        changed += before.discount != after.discount or before.points.earned != after.points.earned
        days[day.isoformat()] += after.discount - before.discount
        for side, result in ((0, before), (1, after)):
            for line in result.lines:
                for d in line.discounts:
                    by_source.setdefault(d.source, [0, 0])[side] += d.fen
    return {"sales": sales, "changed": changed, "by_source": by_source, "days": days}


def test_the_workers_agree_with_a_sale_by_sale_replay(db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    url, ledger = db
    baseline = compile_ruleset(dsl.load(HEALTH, "health.rules"))
    seed_sales(ledger, baseline, 400, date(2026, 10, 28), 18)  # some before and after the period
    candidate_file = tmp_path / "candidate.rules"
    candidate_file.write_text(CANDIDATE, encoding="utf-8")
    candidate = compile_ruleset(dsl.load(CANDIDATE, str(candidate_file)))
    args = ["backtest", "--ruleset", str(candidate_file), "--from", str(FIRST), "--to", str(LAST)]
    assert main([*args, "--db", url, "--workers", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    want = _expected(ledger, baseline, candidate)
    assert 100 < want["sales"] < 400
    assert report["sales"] == want["sales"] and report["changed_sales"] == want["changed"] > 0
    got = {s["source"]: [s["discount_fen_before"], s["discount_fen_after"]] for s in report["sources"]}
    assert got == want["by_source"]
    assert report["sources"][0]["source"] == "a_class"  # the rule that changed leads
    assert got["a_class"][1] > got["a_class"][0]
    for d in report["days"]:
        assert d["discount_fen_after"] - d["discount_fen_before"] == want["days"][d["day"]]
    assert sum(x["sales"] for x in report["change_distribution"]) == want["changed"]
    sample = report["samples"][0]
    assert (
        sample["discount_after"] != sample["discount_before"]
        or sample["points_after"] != sample["points_before"]
    )
    assert any("a_class" in line for line in sample["after"])


def test_the_same_ruleset_changes_nothing(db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    url, ledger = db
    baseline = compile_ruleset(dsl.load(HEALTH, "health.rules"))
    seed_sales(ledger, baseline, 60, FIRST, 5)
    same = tmp_path / "same.rules"
    same.write_text(HEALTH, encoding="utf-8")
    assert (
        main(
            [
                "backtest",
                "--ruleset",
                str(same),
                "--from",
                str(FIRST),
                "--to",
                str(LAST),
                "--db",
                url,
                "--workers",
                "0",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert ": 60 sales, 0 change" in out


def test_against_a_stored_version(db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """--against prices every sale under one stored version, whatever version priced it."""
    url, ledger = db
    old = compile_ruleset(dsl.load(CANDIDATE, "health.rules"))
    new = compile_ruleset(dsl.load(HEALTH, "health.rules"))
    seed_sales(ledger, new, 50, FIRST, 5)
    from server.rulesets.sources import SourceBook

    SourceBook(ledger).remember(old)
    path = tmp_path / "candidate.rules"
    path.write_text(CANDIDATE, encoding="utf-8")
    base = [
        "backtest",
        "--ruleset",
        str(path),
        "--from",
        str(FIRST),
        "--to",
        str(LAST),
        "--db",
        url,
        "--workers",
        "0",
    ]
    assert main([*base, "--against", old.version, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed_sales"] == 0  # the candidate is that version
    assert main([*base, "--against", "feedfeedfeed"]) == 1
    assert "no stored ruleset version has that id" in capsys.readouterr().err


def test_bad_command_lines(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.rules"
    path.write_text(HEALTH, encoding="utf-8")
    assert main(["backtest", "--ruleset", str(path), "--from", "2026-11-10", "--to", "2026-11-01"]) == 2
    assert "--to 2026-11-01 is before --from 2026-11-10" in capsys.readouterr().err
    assert main(["backtest", "--ruleset", str(path), "--from", "11/01", "--to", "2026-11-01"]) == 2
    path.write_text(HEALTH.replace("member.tier >= gold", "member.tier >= glod"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert (
        main(["backtest", "--ruleset", str(path), "--from", "2026-11-01", "--to", "2026-11-01", "--db", db])
        == 1
    )
    assert "unknown tier 'glod'" in capsys.readouterr().err


def _budget_of(entries: list[dict], campaign: str) -> dict:
    return next(e for e in entries if e["campaign"] == campaign)


def test_budget_use_per_campaign_and_day_against_its_budget(db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A programme folder as the candidate: each campaign's discount and uses per day, added up from
    the rules and coupons of that campaign, against its budget; days over it are marked."""
    import shutil

    url, ledger = db
    baseline = compile_ruleset(dsl.load(HEALTH, "health.rules"))
    seed_sales(ledger, baseline, 300, FIRST, 10)
    folder = tmp_path / "health"
    shutil.copytree("rulesets/health", folder)
    prices = folder / "member-prices.rules"
    prices.write_text(
        prices.read_text("utf-8")
        .replace("  status live\n", "  budget 100.00 per day\n  status live\n", 1)
        .replace("then item discount 9.5折", "then item discount 9折"),
        encoding="utf-8",
    )
    html = tmp_path / "report.html"
    args = ["backtest", "--programme", str(folder), "--from", str(FIRST), "--to", str(LAST), "--db", url]
    assert main([*args, "--workers", "0", "--json", "--html", str(html)]) == 0
    report = json.loads(capsys.readouterr().out)
    candidate = compile_ruleset(dsl.load_files(read_folder(folder), str(folder)))
    campaign_of = {r.id: r.campaign for r in candidate.ruleset.rules if r.campaign}
    campaign_of.update({f"coupon:{c.id}": c.campaign for c in candidate.ruleset.coupons if c.campaign})
    # the obvious route: every sale of the period priced under the candidate, by campaign and day
    want: dict[tuple[str, str], list[int]] = {}
    for day, request in _period_requests(ledger):
        after = candidate.evaluate(request)
        used = set()
        for line in after.lines:
            for d in line.discounts:
                if d.source in campaign_of:
                    want.setdefault((campaign_of[d.source], day.isoformat()), [0, 0])[0] += d.fen
                    used.add(campaign_of[d.source])
        for rule in [b.rule for b in after.points.bonuses] + [m.rule for m in after.points.multipliers]:
            if rule in campaign_of:
                used.add(campaign_of[rule])
        for c in used:
            want.setdefault((c, day.isoformat()), [0, 0])[1] += 1
    entry = _budget_of(report["budgets"], "member-prices")
    assert entry["budget_fen"] == 10000 and entry["budget_period"] == "day"
    got = {
        (e["campaign"], d["day"]): [d["discount_fen_after"], d["uses_after"]]
        for e in report["budgets"]
        for d in e["days"]
    }
    assert got == {k: v for k, v in want.items()}
    over = [d["day"] for d in entry["days"] if d["discount_fen_after"] > 10000]
    assert over and [d["day"] for d in entry["days"] if d["over_after"]] == over
    assert entry["first_day_over_after"] == over[0]
    assert _budget_of(report["budgets"], "coupons")["budget_fen"] is None
    page = html.read_text("utf-8")
    assert "Campaign budget use per day" in page and "member-prices (budget 100.00 per day)" in page
    assert main([*args, "--workers", "0"]) == 0
    text = capsys.readouterr().out
    assert "member-prices (budget 100.00 per day): " in text and f"over from {over[0]}" in text


def test_the_stored_reply_is_the_before_side_unless_told_to_reprice(db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A sale's stored explained reply is what it really got: the backtest reads it (a planted reply
    that differs from pricing again shows), and --reprice-before prices it again instead."""
    from sqlalchemy import update

    url, ledger = db
    baseline = compile_ruleset(dsl.load(HEALTH, "health.rules"))
    seed_sales(ledger, baseline, 40, FIRST, 3)
    with ledger.sessions() as session:
        tid, reply = session.execute(
            select(Sale.transaction_id, Sale.result).where(Sale.request.contains('"explain": true'))
        ).first()
    planted = json.loads(reply)
    planted["discountFen"] = str(int(planted.get("discountFen", 0)) + 777)
    planted["lines"][0].setdefault("discounts", []).append(
        {"source": "planted", "kind": "item", "fen": "777"}
    )
    with ledger.sessions.begin() as session:
        session.execute(update(Sale).where(Sale.transaction_id == tid).values(result=json.dumps(planted)))
    same = tmp_path / "same.rules"
    same.write_text(HEALTH, encoding="utf-8")
    args = ["backtest", "--ruleset", str(same), "--from", str(FIRST), "--to", str(LAST), "--db", url]
    assert main([*args, "--workers", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["changed_sales"] == 1 and report["samples"][0]["transaction_id"] == tid
    planted_row = next(s for s in report["sources"] if s["source"] == "planted")
    assert planted_row["discount_fen_before"] == 777 and planted_row["discount_fen_after"] == 0
    assert main([*args, "--workers", "0", "--json", "--reprice-before"]) == 0
    assert json.loads(capsys.readouterr().out)["changed_sales"] == 0
