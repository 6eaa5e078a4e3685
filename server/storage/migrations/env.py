"""Alembic's entry point, driven only programmatically by :func:`server.storage.db.upgrade`.

The caller hands over an open connection inside its transaction (and, on PostgreSQL,
holding the migration advisory lock), so there is no alembic.ini and no URL here.
"""

from __future__ import annotations

from alembic import context

from server.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through server.storage.db.upgrade(url), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
context.run_migrations()
