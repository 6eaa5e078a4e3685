"""``promo audit verify``: prove stored sales reproduce (the export is :mod:`server.finance.export`).

Verification trusts nothing stored but the request and the ruleset source: it compiles
the source again, checks its digest, re-prices the request and compares field by field
with the stored reply and invoices.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from sqlalchemy import select

from engine.compiled import CompiledRuleset
from server.finance.export import export
from server.storage.models import Sale
from server.storage.store import Ledger

__all__ = ["VerifyReport", "differences", "export", "verify"]


# --------------------------------------------------------------------------- verify


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def verify(
    ledger: Ledger, transaction_id: str | None, folder: Callable[[], dict[str, CompiledRuleset]]
) -> VerifyReport:
    """Re-price the sale ``transaction_id`` (or every sale) and list every difference from what is stored."""
    from server.rulesets.sources import SourceBook
    from server.sales.stored import reprice

    book = SourceBook(ledger)
    report = VerifyReport()
    where = [] if transaction_id is None else [Sale.transaction_id == transaction_id]
    query = select(
        Sale.transaction_id, Sale.ruleset, Sale.ruleset_digest, Sale.request, Sale.result, Sale.invoice
    )
    query = query.where(*where).order_by(Sale.sold_at, Sale.transaction_id).execution_options(yield_per=500)
    # One snapshot for the versions and the scan, so a sale committed meanwhile is in neither.
    with ledger.snapshots() as session:
        versions = session.execute(select(Sale.ruleset_digest, Sale.ruleset).where(*where).distinct()).all()
        compiled_by_digest: dict[str, CompiledRuleset | None] = {}
        folder_cache: dict[str, CompiledRuleset] | None = None
        for digest, name in versions:
            compiled = _from_source(book, digest, name)
            if compiled is None:
                folder_cache = folder() if folder_cache is None else folder_cache
                compiled = folder_cache.get(digest)
            compiled_by_digest[digest] = compiled
        for tid, name, digest, request, result, invoice in session.execute(query):
            report.checked += 1
            compiled = compiled_by_digest.get(digest)
            if compiled is None:
                report.problems.append(
                    f"{tid}: cannot reproduce: ruleset {name} {digest[:12]} is not stored or found"
                )
                continue
            try:
                reply, invoices_now = reprice(compiled, request)
            except Exception as exc:  # a stored request that no longer prices is itself the finding
                report.problems.append(f"{tid}: cannot reproduce: {type(exc).__name__}: {exc}")
                continue
            now = {
                "result": json_format.MessageToDict(reply),
                "invoice": [json_format.MessageToDict(i) for i in invoices_now],
            }
            stored = {"result": _json_or_none(result), "invoice": _json_or_none(invoice)}
            if isinstance(stored["invoice"], dict):  # stored before invoices were split: one, unnumbered
                now["invoice"] = now["invoice"][0]
                now["invoice"].pop("number", None)
                now["result"].pop("invoices", None)
                now["result"].get("invoice", {}).pop("number", None)
            for path, was, is_now in differences(stored, now):
                report.problems.append(f"{tid}: {path}: stored {was!r}, re-priced {is_now!r}")
    return report


def _from_source(book: Any, digest: str, name: str) -> CompiledRuleset | None:
    import dsl
    from dsl.programme import is_bundle
    from engine.compiled import compile_ruleset

    found = book.load(digest)
    if found is None:
        return None
    # A multi-file version is stored as a bundle (dsl.programme): its files are named NAME/FILE.
    name = found[0] if is_bundle(found[1]) else f"{found[0]}.rules"
    compiled = compile_ruleset(dsl.load(found[1], name))
    return compiled if compiled.digest == digest else None


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def differences(a: Any, b: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every (path, a's value, b's value) where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from differences(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            yield from differences(a[i] if i < len(a) else None, b[i] if i < len(b) else None, f"{path}[{i}]")
    elif a != b:
        yield path, a, b
