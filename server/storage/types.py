"""Column types shared by the models, as ``Annotated`` aliases so a model line reads as its meaning.

``Mapped[fen]`` is a BigInteger of fen, ``Mapped[utc]`` a timezone-aware UTC
timestamp, ``Mapped[str | None]`` nullable: nullability comes from the annotation
(the warehouse pattern, aesthetics-anchors §7).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, Integer, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import mapped_column

__all__ = ["TZDateTime", "fen", "id64", "points", "serial", "str64", "utc", "utc_now"]


class TZDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no timezone type and would hand back naive values; PostgreSQL keeps
    ``timestamptz``. Refusing naive input keeps a local wall-clock time from being
    stored as if it were UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a ledger timestamp needs a UTC offset, got the naive {value.isoformat()}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


BIGINT_ID = BigInteger().with_variant(Integer(), "sqlite")
"""SQLite only auto-increments an ``INTEGER PRIMARY KEY``, so the 64-bit id is INTEGER there."""

fen = Annotated[int, mapped_column(BigInteger)]
points = Annotated[int, mapped_column(BigInteger)]
utc = Annotated[datetime, mapped_column(TZDateTime)]
str64 = Annotated[str, mapped_column(String(64))]
id64 = Annotated[str, mapped_column(String(64), primary_key=True)]
serial = Annotated[int, mapped_column(BIGINT_ID, primary_key=True, autoincrement=True)]
