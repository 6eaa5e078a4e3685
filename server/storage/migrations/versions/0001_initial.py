"""The initial ledger schema: members, sales, returns, points entries, adjustments, coupons.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=64), nullable=False),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("join_date", sa.Date(), nullable=True),
        sa.Column("lifetime_spend_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_purchase_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("points_balance", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("points_owed", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("tier_reviewed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'terminated')", name=op.f("ck_members_status")),
        sa.CheckConstraint("lifetime_spend_fen >= 0", name=op.f("ck_members_lifetime_not_negative")),
        sa.CheckConstraint("points_balance = 0 OR points_owed = 0", name=op.f("ck_members_balance_or_owed")),
        sa.CheckConstraint("points_balance >= 0", name=op.f("ck_members_balance_not_negative")),
        sa.CheckConstraint("points_owed >= 0", name=op.f("ck_members_owed_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
    )
    op.create_table(
        "sales",
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("ruleset", sa.String(length=128), nullable=False),
        sa.Column("ruleset_version", sa.String(length=16), nullable=False),
        sa.Column("ruleset_digest", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("invoice", sa.Text(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("invoiced", sa.Boolean(), nullable=False),
        sa.Column("payable_fen", sa.BigInteger(), nullable=False),
        sa.Column("points_earned", sa.BigInteger(), nullable=False),
        sa.Column("points_redeemed", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('committed', 'partly_returned', 'returned')", name=op.f("ck_sales_state")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_sales_member_id_members")),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_sales")),
    )
    op.create_index("ix_sales_member_day", "sales", ["member_id", "local_date"])

    op.create_table(
        "returns",
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("points_clawed_back", sa.BigInteger(), nullable=False),
        sa.Column("refund_fen", sa.BigInteger(), nullable=False),
        sa.Column("discount_reversed_fen", sa.BigInteger(), nullable=False),
        sa.Column("red_lines", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["sales.transaction_id"], name=op.f("fk_returns_transaction_id_sales")
        ),
        sa.PrimaryKeyConstraint("return_id", name=op.f("pk_returns")),
    )
    op.create_index("ix_returns_transaction_id", "returns", ["transaction_id"])

    op.create_table(
        "points_entries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("return_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.CheckConstraint("kind <> 'earn' OR points >= 0", name=op.f("ck_points_entries_earn_not_negative")),
        sa.CheckConstraint(
            "kind IN ('earn', 'redeem', 'return_clawback', 'expire', 'adjust', 'coupon_purchase')",
            name=op.f("ck_points_entries_kind"),
        ),
        sa.CheckConstraint(
            "kind NOT IN ('redeem', 'return_clawback', 'expire', 'coupon_purchase') OR points <= 0",
            name=op.f("ck_points_entries_debit_not_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_points_entries_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.return_id"], name=op.f("fk_points_entries_return_id_returns")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["sales.transaction_id"], name=op.f("fk_points_entries_transaction_id_sales")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_points_entries_idempotency_key")),
    )
    op.create_index("ix_points_entries_member", "points_entries", ["member_id", "id"])

    op.create_table(
        "adjustments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["points_entries.id"], name=op.f("fk_adjustments_entry_id_points_entries")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_adjustments_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_adjustments_entry_id")),
    )
    op.create_index("ix_adjustments_member_id", "adjustments", ["member_id"])

    op.create_table(
        "coupons",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("definition_id", sa.String(length=64), nullable=False),
        sa.Column("ruleset", sa.String(length=128), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("redeemed_by_sale", sa.String(length=64), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('issued', 'redeemed', 'expired')", name=op.f("ck_coupons_state")),
        sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name=op.f("fk_coupons_owner_id_members")),
        sa.ForeignKeyConstraint(
            ["redeemed_by_sale"], ["sales.transaction_id"], name=op.f("fk_coupons_redeemed_by_sale_sales")
        ),
        sa.ForeignKeyConstraint(
            ["source_entry_id"], ["points_entries.id"], name=op.f("fk_coupons_source_entry_id_points_entries")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_coupons")),
        sa.UniqueConstraint("source_entry_id", name=op.f("uq_coupons_source_entry_id")),
    )
    op.create_index("ix_coupons_owner", "coupons", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_coupons_owner", table_name="coupons")

    op.drop_table("coupons")
    op.drop_index("ix_adjustments_member_id", table_name="adjustments")

    op.drop_table("adjustments")
    op.drop_index("ix_points_entries_member", table_name="points_entries")

    op.drop_table("points_entries")
    op.drop_index("ix_returns_transaction_id", table_name="returns")

    op.drop_table("returns")
    op.drop_index("ix_sales_member_day", table_name="sales")

    op.drop_table("sales")
    op.drop_table("members")
