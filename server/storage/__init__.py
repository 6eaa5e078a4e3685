"""The ledger's storage: SQLAlchemy 2.0 models, Alembic migrations and the ``Ledger`` store.

SQLite (a file) is the embedded default and PostgreSQL (through psycopg 3) is
production; the same code and the same tests run on both. Every rounding and tier
decision is made by the pure :mod:`engine.ledger.returns`; this package only persists it.
"""

from __future__ import annotations
