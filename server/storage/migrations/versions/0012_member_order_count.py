"""Members count their orders: `member.order_count` and `member.first_purchase` in rules.

Commit adds one, a return that completes a sale takes one off. Existing members are counted from
their sales not fully returned.

Revision ID: 0012
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "members", sa.Column("order_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.execute(
        "UPDATE members SET order_count = (SELECT count(*) FROM sales"
        " WHERE sales.member_id = members.id AND sales.state <> 'returned')"
    )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("order_count")
