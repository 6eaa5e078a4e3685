"""The member lifecycle: members.referrer_id (who referred the member, set once at enrolment);
members.points_pending and points_entries.pending_until (`points pending N days`); member_audit
(tier changes and erasures, who and why).

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
    # Plain ADD COLUMN (no table rebuild: members is referenced by most tables).
    op.add_column("members", sa.Column("referrer_id", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_members_referrer_id"), "members", ["referrer_id"], unique=False)
    op.add_column(
        "members", sa.Column("points_pending", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column("points_entries", sa.Column("pending_until", sa.DateTime(timezone=True), nullable=True))
    _entry_kinds(f"{_KINDS}, 'referral', 'referral_return'")
    op.create_table(
        "member_audit",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_audit")),
    )
    op.create_index(op.f("ix_member_audit_member_id"), "member_audit", ["member_id"], unique=False)


def _entry_kinds(kinds: str) -> None:
    """Rewrite the kind CHECK (the list of entry kinds).

    SQLite cannot alter a CHECK, and rebuilding points_entries breaks the foreign keys of the
    adjustments and coupons that point at it (a dropped parent counts as violated even when the
    rebuilt table takes its name back). A CHECK does not change what is stored, so SQLite's own
    recipe applies (https://sqlite.org/lang_altertable.html, "other kinds of table schema
    changes"): rewrite the table's CREATE text in sqlite_schema and bump the schema version.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_points_entries_kind"), "points_entries", type_="check")
        op.create_check_constraint(op.f("ck_points_entries_kind"), "points_entries", f"kind IN ({kinds})")
        return
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'points_entries'"
    )
    old = sql.scalar_one()
    start = old.index("CONSTRAINT ck_points_entries_kind CHECK (")
    end = old.index(")),", start) + 2
    new = old[:start] + f"CONSTRAINT ck_points_entries_kind CHECK (kind IN ({kinds}))" + old[end:]
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'points_entries'", (new,)
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def downgrade() -> None:
    op.drop_index(op.f("ix_member_audit_member_id"), table_name="member_audit")
    op.drop_table("member_audit")
    _entry_kinds(_KINDS)
    with op.batch_alter_table("points_entries") as batch:
        batch.drop_column("pending_until")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("points_pending")
        batch.drop_index(batch.f("ix_members_referrer_id"))
        batch.drop_column("referrer_id")
