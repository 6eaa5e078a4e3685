"""Striped budget counters: usage_counters gets a stripe (part of the primary key) and an allotment;
sale_usage remembers the stripe a sale took from (a return gives back to it).

A campaign's counter is split into stripes so tills commit on different rows
(server/storage/usage.py). Backfill: every existing counter becomes its stripe 0 with the whole
cap as its allotment, which is exactly what it was; the other stripes are made, and the
allotment spread over them, the first time a sale needs more than stripe 0 holds.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("usage_counters") as batch:
        batch.add_column(sa.Column("stripe", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("allot", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.execute("UPDATE usage_counters SET allot = cap")
    with op.batch_alter_table("usage_counters") as batch:
        batch.alter_column("allot", server_default=None)
        batch.drop_constraint(op.f("pk_usage_counters"), type_="primary")
        batch.create_primary_key(op.f("pk_usage_counters"), ["key", "stripe"])
    op.add_column(
        "sale_usage", sa.Column("stripe", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )


def downgrade() -> None:
    """Fold the stripes back into one row per counter (used summed, the newest cap)."""
    op.drop_column("sale_usage", "stripe")
    op.execute(
        "UPDATE usage_counters SET used = (SELECT SUM(s.used) FROM usage_counters s "
        "WHERE s.key = usage_counters.key) WHERE stripe = 0"
    )
    op.execute("DELETE FROM usage_counters WHERE stripe <> 0")
    with op.batch_alter_table("usage_counters") as batch:
        batch.drop_constraint(op.f("pk_usage_counters"), type_="primary")
        batch.create_primary_key(op.f("pk_usage_counters"), ["key"])
        batch.drop_column("allot")
        batch.drop_column("stripe")
