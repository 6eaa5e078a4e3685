"""The ``promo`` command line: one module per command group, registered in :mod:`server.cli.base`.

May import anything in ``server``; nothing in ``server`` imports it.
"""

from server.cli.main import main

__all__ = ["main"]
