"""Finance's reads of the ledger: exports and the proof that stored sales reproduce.

Each reads one snapshot, so tills keep committing. Imports engine, dsl and ``server.storage``.
"""
