"""``promo backtest``: what a candidate ruleset would have done to the sales already made.

The ledger keeps each sale's effective request and the digest of the ruleset version that
priced it (its source is in ``ruleset_sources``). A backtest reads the sales of a period
(sales.py), prices each again under that version (or ``--against``) and under the candidate,
in worker processes (replay.py), adds the differences up per rule and coupon, per day and per
sale (summary.py), and prints them (text and JSON in summary.py, a self-contained HTML page
with inline SVG charts in page.py). Sources are keyed by rule and coupon id; when rulesets
become programmes with campaign files, a campaign column joins them.
"""
