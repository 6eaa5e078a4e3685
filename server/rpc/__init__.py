"""The gRPC service: servicers, the one status mapping, JSON call logs, and the process that serves.

Each servicer decodes (``server.wire``), delegates (``server.sales``, ``server.rulesets``) and
encodes; nothing else happens here.
"""
