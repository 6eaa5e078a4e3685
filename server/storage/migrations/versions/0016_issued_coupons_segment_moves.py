"""Issued coupons and segment movement: coupons.issued_by / issued_for with a unique constraint per
member, issuer and period (`promo maintain` issues idempotently); members.segment_pinned (a segment
set through UpdateMember outlives the next maintain); segment_moves (each run's from -> to counts);
an index on points_entries.transaction_id (a return reads the sale's hold by it).

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both (no table rebuild: other tables reference coupons and members).
    op.add_column("coupons", sa.Column("issued_by", sa.String(length=64), nullable=True))
    op.add_column("coupons", sa.Column("issued_for", sa.String(length=16), nullable=True))
    # A unique index is what SQLite can add to an existing table; it is the constraint on both.
    op.create_index("uq_coupons_issued", "coupons", ["owner_id", "issued_by", "issued_for"], unique=True)
    op.add_column(
        "members",
        sa.Column("segment_pinned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_table(
        "segment_moves",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("programme", sa.String(length=128), nullable=False),
        sa.Column("run", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("from_segment", sa.String(length=64), nullable=False),
        sa.Column("to_segment", sa.String(length=64), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_moves")),
    )
    op.create_index("ix_segment_moves_run", "segment_moves", ["programme", "run"], unique=False)
    # A return reads the sale's hold by transaction id: without this, a scan of every entry.
    op.create_index("ix_points_entries_transaction", "points_entries", ["transaction_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_points_entries_transaction", table_name="points_entries")
    op.drop_index("ix_segment_moves_run", table_name="segment_moves")
    op.drop_table("segment_moves")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("segment_pinned")
    op.drop_index("uq_coupons_issued", table_name="coupons")
    with op.batch_alter_table("coupons") as batch:
        batch.drop_column("issued_for")
        batch.drop_column("issued_by")
