"""The sales desk between the wire and the ledger: quote, commit, return, and the invoice a reply
carries. Imports engine and ``server.storage``; knows nothing of gRPC.
"""
