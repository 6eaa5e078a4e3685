"""Pure ledger arithmetic: balances, tiers, return shares, red-letter lines and points expiry.

The database layer (``server.storage``) only persists what these functions decide. Imports the
engine's vocabulary and :mod:`engine.invoice`; nothing here touches a database.
"""
