"""The backtest as one self-contained HTML page: tables and three inline SVG charts, no scripts.

Nothing is fetched: styles are inline, charts are SVG drawn here with integer pixel
coordinates (money stays integer fen until it is printed). The page opens offline, from a
mail attachment or a shared drive.
"""

from __future__ import annotations

from html import escape
from typing import Any

from engine.money import format_fen
from server.backtest.budgets import describe_budget

__all__ = ["render_page"]

_W, _H, _PAD = 720, 260, 76
_BEFORE, _AFTER, _UP, _DOWN = "#8a8f98", "#d9480f", "#c92a2a", "#2b8a3e"


def render_page(report: dict[str, Any]) -> str:
    """The page for a backtest report (the JSON form of :class:`~server.backtest.summary.Summary`)."""
    r = report
    d, p = r["discount_fen"], r["points"]
    title = f"Backtest of {r['candidate']} against {r['baseline']}, {r['from']} to {r['to']}"
    cards = [
        ("sales replayed", str(r["sales"])),
        ("sales that change", str(r["changed_sales"])),
        ("discount before", format_fen(d["before"])),
        ("discount after", format_fen(d["after"])),
        ("points before", str(p["before"])),
        ("points after", str(p["after"])),
    ]
    if p["liability_fen_before"] is not None:
        cards.append(("points liability after", format_fen(p["liability_fen_after"])))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in cards)
        + "</div>",
        "<h2>Cost per day</h2>",
        _days_chart(r["days"]),
        "<h2>Top rules and coupons by change in cost</h2>",
        _delta_chart(r["sources"][:12]),
        "<h2>Change per sale (sales that change)</h2>",
        _histogram(r["change_distribution"]),
        "<h2>Per rule and coupon</h2>",
        _sources_table(r["sources"]),
        "<h2>Campaign budget use per day</h2>",
        _budgets(r.get("budgets", [])),
        "<h2>Changed sales, side by side</h2>",
        _samples(r["samples"]),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


_CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:780px;color:#212529}"
    "h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
    ".cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #dee2e6;border-radius:6px;"
    "padding:8px 12px;min-width:150px}.card b{display:block;font-size:18px}.card span{color:#6c757d}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dee2e6;padding:3px 6px;"
    "text-align:right}td:first-child,th:first-child{text-align:left}"
    "pre{background:#f8f9fa;padding:6px;margin:0;font-size:12px;white-space:pre-wrap;text-align:left}"
    ".legend span{display:inline-block;margin-right:14px}svg text{font:11px system-ui,sans-serif}"
)


def _svg(body: list[str], height: int = _H) -> str:
    return (
        f'<svg width="{_W}" height="{height}" viewBox="0 0 {_W} {height}" role="img">'
        + "".join(body)
        + "</svg>"
    )


def _axis_label(y: int, fen: int) -> str:
    return f'<text x="{_PAD - 6}" y="{y + 4}" text-anchor="end">{escape(format_fen(fen))}</text>'


def _days_chart(days: list[dict[str, Any]]) -> str:
    if not days:
        return "<p>No sales in the period.</p>"
    top = max(max(x["discount_fen_before"], x["discount_fen_after"]) for x in days) or 1
    inner_w, inner_h = _W - 2 * _PAD, _H - 2 * _PAD
    n = len(days)

    def point(i: int, fen: int) -> str:
        x = _PAD + (i * inner_w // (n - 1) if n > 1 else inner_w // 2)
        y = _H - _PAD - fen * inner_h // top
        return f"{x},{y}"

    body = [
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#adb5bd"/>',
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#adb5bd"/>',
        _axis_label(_PAD, top),
        _axis_label(_H - _PAD, 0),
    ]
    for key, colour in (("discount_fen_before", _BEFORE), ("discount_fen_after", _AFTER)):
        points = " ".join(point(i, x[key]) for i, x in enumerate(days))
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{points}"/>')
        for i, x in enumerate(days):
            cx, cy = point(i, x[key]).split(",")
            body.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
    for i in sorted({0, n - 1}):
        x = _PAD + (i * inner_w // (n - 1) if n > 1 else inner_w // 2)
        body.append(
            f'<text x="{x}" y="{_H - _PAD + 16}" text-anchor="middle">{escape(days[i]["day"])}</text>'
        )
    legend = (
        f'<p class="legend"><span style="color:{_BEFORE}">&#9632; before</span>'
        f'<span style="color:{_AFTER}">&#9632; after (candidate)</span></p>'
    )
    return _svg(body) + legend


def _delta_chart(sources: list[dict[str, Any]]) -> str:
    rows = [(s["source"], s["discount_fen_after"] - s["discount_fen_before"]) for s in sources]
    rows = [r for r in rows if r[1] != 0]
    if not rows:
        return "<p>No rule or coupon changes what it costs.</p>"
    row_h = 24
    height = row_h * len(rows) + 20
    biggest = max(abs(d) for _, d in rows)
    label_w, mid = 190, (190 + _W) // 2
    half = (_W - label_w) // 2 - 70
    body = [f'<line x1="{mid}" y1="0" x2="{mid}" y2="{height}" stroke="#adb5bd"/>']
    for i, (source, delta) in enumerate(rows):
        y = 10 + i * row_h
        width = max(1, abs(delta) * half // biggest)
        x = mid if delta > 0 else mid - width
        colour = _UP if delta > 0 else _DOWN
        body.append(f'<text x="4" y="{y + 15}">{escape(source[:28])}</text>')
        body.append(f'<rect x="{x}" y="{y + 3}" width="{width}" height="{row_h - 8}" fill="{colour}"/>')
        tx, anchor = (x + width + 4, "start") if delta > 0 else (x - 4, "end")
        sign = "+" if delta > 0 else "-"
        body.append(
            f'<text x="{tx}" y="{y + 15}" text-anchor="{anchor}">'
            f"{sign}{escape(format_fen(abs(delta)))}</text>"
        )
    return _svg(body, height)


def _histogram(distribution: list[dict[str, Any]]) -> str:
    if not distribution:
        return "<p>No sale changes.</p>"
    low, high = distribution[0]["delta_fen"], distribution[-1]["delta_fen"]
    bins = 24 if high > low else 1
    span = max(1, high - low + 1)
    counts = [0] * bins
    for x in distribution:
        counts[min(bins - 1, (x["delta_fen"] - low) * bins // span)] += x["sales"]
    inner_w, inner_h = _W - 2 * _PAD, _H - 2 * _PAD
    top = max(counts)
    bar_w = inner_w // bins
    body = [f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#adb5bd"/>']
    for i, c in enumerate(counts):
        h = c * inner_h // top
        body.append(
            f'<rect x="{_PAD + i * bar_w + 1}" y="{_H - _PAD - h}" width="{bar_w - 2}" height="{h}" '
            f'fill="{_AFTER}">'
            f"<title>{c} sales</title></rect>"
        )
    body.append(f'<text x="{_PAD}" y="{_H - _PAD + 16}">{escape(_signed(low))}</text>')
    body.append(
        f'<text x="{_W - _PAD}" y="{_H - _PAD + 16}" text-anchor="end">{escape(_signed(high))}</text>'
    )
    body.append(f'<text x="{_PAD - 6}" y="{_PAD + 4}" text-anchor="end">{top}</text>')
    return _svg(body) + "<p>Discount after minus before, per sale; bars count sales.</p>"


def _signed(fen: int) -> str:
    return ("+" if fen >= 0 else "-") + format_fen(abs(fen))


def _sources_table(sources: list[dict[str, Any]]) -> str:
    head = "<tr>" + "".join(
        f"<th>{h}</th>"
        for h in ("rule or coupon", "before", "after", "change", "sales before", "sales after")
    )
    head += "</tr>"
    rows = [
        f"<tr><td>{escape(s['source'])}</td><td>{format_fen(s['discount_fen_before'])}</td>"
        f"<td>{format_fen(s['discount_fen_after'])}</td>"
        f"<td>{escape(_signed(s['discount_fen_after'] - s['discount_fen_before']))}</td>"
        f"<td>{s['sales_before']}</td><td>{s['sales_after']}</td></tr>"
        for s in sources
    ]
    return "<table>" + head + "".join(rows) + "</table>"


_OVER = f'<b style="color:{_UP}">over</b>'


def _budgets(entries: list[dict[str, Any]]) -> str:
    """Per campaign: its budget, and each day's use before and after; a day over it is marked."""
    if not entries:
        return "<p>No campaign of the candidate was used or has a budget.</p>"
    parts = []
    for e in entries:
        over = e["first_day_over_after"]
        verdict = f"over its budget from {over}" if over else "within its budget"
        if e["budget_fen"] is None and e["budget_uses"] is None:
            verdict = "no budget"
        parts.append(f"<h3>{escape(e['campaign'])} ({escape(describe_budget(e))}): {escape(verdict)}</h3>")
        head = "".join(
            f"<th>{h}</th>"
            for h in ("day", "before", "after", "running after", "uses before", "uses after", "")
        )
        rows = [
            f"<tr><td>{escape(d['day'])}</td><td>{format_fen(d['discount_fen_before'])}</td>"
            f"<td>{format_fen(d['discount_fen_after'])}</td><td>{format_fen(d['running_fen_after'])}</td>"
            f"<td>{d['uses_before']}</td><td>{d['uses_after']}</td>"
            f"<td>{_OVER if d['over_after'] else ''}</td></tr>"
            for d in e["days"]
        ]
        parts.append("<table><tr>" + head + "</tr>" + "".join(rows) + "</table>")
    return "\n".join(parts)


def _samples(samples: list[dict[str, Any]]) -> str:
    if not samples:
        return "<p>No sale changes.</p>"
    rows = [
        f"<tr><td>{escape(s['transaction_id'])}<br>{escape(s['day'])}</td>"
        f"<td><pre>{escape(chr(10).join(s['before']))}</pre></td><td><pre>{escape(chr(10).join(s['after']))}</pre></td></tr>"
        for s in samples
    ]
    return "<table><tr><th>sale</th><th>before</th><th>after</th></tr>" + "".join(rows) + "</table>"
