"""The wiring: gRPC, the ledger's storage and the command line around the pure engine.

Subpackages: ``rpc`` (servicers, status mapping, logs, processes), ``wire`` (protobuf <-> engine),
``rulesets`` (what a server serves), ``sales`` (quote, commit, return), ``finance`` (audit),
``storage`` (the ledger), ``cli`` (the ``promo`` command). Imports engine and dsl, never the reverse.
"""
