"""Callers: per-caller bearer tokens (stored as SHA-256), with a role, revocable.

Revision ID: 0011
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callers",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('till', 'finance', 'admin', 'job')", name=op.f("ck_callers_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callers")),
        sa.UniqueConstraint("name", name=op.f("uq_callers_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_callers_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("callers")
