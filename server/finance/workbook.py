"""``promo audit export --format xlsx``: finance's workbook, a sheet per report, totals as formulas.

* ``Lines``: one row per invoice line (the CSV's columns), money as numbers in yuan
  with two decimals (written from exact ``Decimal``, shown ``0.00``);
* ``Records``: one row per sale, return or referral entry with its payable and points;
* ``Rate totals``: per tax rate, the period's sales, returns and net, each a ``SUMIFS``
  over ``Lines``, so finance sees (and Excel recomputes) where every total comes from; and
  the period's referral points, a ``SUMIFS`` over ``Records``.

openpyxl's write-only mode streams rows to disk as they come: memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from server.finance.rows import COLUMNS, REFERRAL_TOTAL, RateSums, rows_of

__all__ = ["MAX_ROWS", "TooManyRows", "write_workbook"]

MAX_ROWS = 1_048_576  # rows of an Excel sheet, header included


class TooManyRows(ValueError):
    """The period has more invoice lines than a sheet holds (about 120,000 sales of 8 lines)."""


_MONEY = frozenset({"payable", "amount", "tax", "gross"})
_RECORD_COLUMNS = (
    "record", "transaction_id", "return_id", "date", "store", "till", "member", "ruleset_version",
    "payable", "points_earned", "points_redeemed", "points_clawed_back", "state",
)  # fmt: skip


def _col(name: str) -> str:
    return get_column_letter(COLUMNS.index(name) + 1)


def _record_col(name: str) -> str:
    letter = get_column_letter(_RECORD_COLUMNS.index(name) + 1)
    return f"Records!${letter}:${letter}"


def _whole(name: str) -> str:
    return f"Lines!${_col(name)}:${_col(name)}"


def write_workbook(records: Iterable[dict[str, Any]], out: IO[bytes], bar: Any) -> int:
    """Write the three sheets to ``out`` (binary); the number of records."""
    book = Workbook(write_only=True)
    lines = book.create_sheet("Lines")
    recs = book.create_sheet("Records")
    totals = book.create_sheet("Rate totals")
    lines.append(list(COLUMNS))
    recs.append(list(_RECORD_COLUMNS))
    sums = RateSums()  # only which rates occur: the sheet's totals are formulas
    n = rows = 0
    for record in records:
        recs.append([_cell(recs, key, record[key]) for key in _RECORD_COLUMNS])
        for row in rows_of(record):
            rows += 1
            if rows >= MAX_ROWS:
                for sheet in (lines, recs, totals):
                    sheet.close()  # end openpyxl's row writers now, not when garbage is collected
                raise TooManyRows(
                    f"the period has more than {MAX_ROWS - 1:,} invoice lines, more than an xlsx sheet "
                    "holds; export a shorter period or use --format csv"
                )
            lines.append([_cell(lines, key, value) for key, value in zip(COLUMNS, row, strict=True)])
        sums.add(record)
        n += 1
        bar.update(1)
    _write_totals(totals, sums)
    book.save(out)
    return n


def _cell(sheet: Any, key: str, value: Any) -> Any:
    if key in _MONEY:
        cell = WriteOnlyCell(sheet, value=Decimal(value))
        cell.number_format = "0.00"
        return cell
    return value


def _write_totals(sheet: Any, sums: RateSums) -> None:
    sheet.append(["tax_rate", "record", "amount", "tax", "gross"])
    kind, rate = _whole("record"), _whole("tax_rate")
    money = [_whole(k) for k in ("amount", "tax", "gross")]
    row = 2
    net_rows = []
    for total in sums.rows():
        if total["record"] == REFERRAL_TOTAL:
            continue  # below, from the Records sheet
        label, what = total["tax_rate"], total["record"]
        if what == "period_total":  # net: the two rows above
            cells = [f"={c}{row - 2}+{c}{row - 1}" for c in "CDE"]
            net_rows.append(row)
        else:
            record = "sale" if what == "period_total_sales" else "return"
            cells = [f'=SUMIFS({m},{kind},"{record}",{rate},"{label}")' for m in money]
        sheet.append([label, what, *(_money_formula(sheet, c) for c in cells)])
        row += 1
    if net_rows:
        grand = [f"=SUM({','.join(f'{c}{r}' for r in net_rows)})" for c in "CDE"]
        sheet.append(["", "period_total_all_rates", *(_money_formula(sheet, c) for c in grand)])
    if sums.referral_points is not None:  # points, not money: referral entries less their clawbacks
        kind, earned, clawed = (_record_col(k) for k in ("record", "points_earned", "points_clawed_back"))
        sheet.append(
            [
                "",
                REFERRAL_TOTAL,
                f'=SUMIFS({earned},{kind},"referral")-SUMIFS({clawed},{kind},"referral_return")',
            ]
        )


def _money_formula(sheet: Any, formula: str) -> Any:
    cell = WriteOnlyCell(sheet, value=formula)
    cell.number_format = "0.00"
    return cell
