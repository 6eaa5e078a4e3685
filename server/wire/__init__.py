"""The wire: promo.v1 protobuf (and its JSON form) to and from the engine's values.

One module per direction (``request`` in, ``reply`` out) and ``ledger`` for the ledger messages.
Imports the engine and the generated code; never the servicers or storage sessions.
"""
