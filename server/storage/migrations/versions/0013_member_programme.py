"""Programmes and budgets: members.programme, placed from the ledger's own evidence; usage counters.

A member whose sales and coupons all name one programme (ruleset) keeps it. When the whole
ledger names exactly one programme, every other member belongs to it too. Anyone else stays
NULL (unplaced): ``promo db upgrade`` lists them with what it found, and ``promo db place``
places them; the service refuses to price an unplaced member as a member until then.

usage_counters and sale_usage hold what campaigns' budgets and rules' use limits have used
(server/storage/usage.py); published_versions the programme versions `promo publish` stored.

Revision ID: 0013
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every (member, programme) the ledger can vouch for: the member's sales and the coupons they own.
_EVIDENCE = (
    "SELECT member_id, ruleset FROM sales WHERE member_id IS NOT NULL "
    "UNION SELECT owner_id, ruleset FROM coupons WHERE owner_id IS NOT NULL"
)


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("programme", sa.String(length=128), nullable=True))
        batch.create_index(batch.f("ix_members_programme"), ["programme"], unique=False)
    op.execute(
        f"UPDATE members SET programme = (SELECT MIN(e.ruleset) FROM ({_EVIDENCE}) e "
        "WHERE e.member_id = members.id) "
        f"WHERE (SELECT COUNT(DISTINCT e.ruleset) FROM ({_EVIDENCE}) e WHERE e.member_id = members.id) = 1"
    )
    op.execute(
        f"UPDATE members SET programme = (SELECT MIN(e.ruleset) FROM ({_EVIDENCE}) e) "
        f"WHERE programme IS NULL AND (SELECT COUNT(DISTINCT e.ruleset) FROM ({_EVIDENCE}) e) = 1"
    )

    op.create_table(
        "usage_counters",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("programme", sa.String(length=128), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("cap", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_usage_counters_used_not_negative")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_usage_counters")),
    )
    op.create_index(op.f("ix_usage_counters_programme"), "usage_counters", ["programme"], unique=False)
    op.create_table(
        "sale_usage",
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("returned", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("lines", sa.Text(), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["sales.transaction_id"], name=op.f("fk_sale_usage_transaction_id_sales")
        ),
        sa.PrimaryKeyConstraint("transaction_id", "key", name=op.f("pk_sale_usage")),
    )

    op.create_table(
        "published_versions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("programme", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=128), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_versions")),
    )
    op.create_index("ix_published_versions_programme", "published_versions", ["programme", "id"])


def downgrade() -> None:
    op.drop_index("ix_published_versions_programme", table_name="published_versions")
    op.drop_table("published_versions")
    op.drop_table("sale_usage")
    op.drop_index(op.f("ix_usage_counters_programme"), table_name="usage_counters")
    op.drop_table("usage_counters")
    with op.batch_alter_table("members") as batch:
        batch.drop_index(batch.f("ix_members_programme"))
        batch.drop_column("programme")
