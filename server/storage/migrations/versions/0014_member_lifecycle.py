"""The member lifecycle: members.referrer_id (who referred the member, set once at enrolment).

Referral entries need no schema of their own: they are points_entries of kind "referral" /
"referral_return" naming the sale, on the referrer.

Revision ID: 0014
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_KINDS = "'earn', 'redeem', 'return_clawback', 'expire', 'adjust', 'coupon_purchase'"


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("referrer_id", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_members_referrer_id"), ["referrer_id"], unique=False)
    _entry_kinds(f"{_KINDS}, 'referral', 'referral_return'")


def _entry_kinds(kinds: str) -> None:
    with op.batch_alter_table("points_entries") as batch:
        batch.drop_constraint(op.f("ck_points_entries_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_points_entries_kind"), f"kind IN ({kinds})")


def downgrade() -> None:
    _entry_kinds(_KINDS)
    with op.batch_alter_table("members") as batch:
        batch.drop_index(batch.f("ix_members_referrer_id"))
        batch.drop_column("referrer_id")
