"""The development token: `promo serve` on loopback in plain text, with no callers configured,
issues a till token and writes it to a 0600 file that `promo client` reads for a loopback target.

This keeps the README's quick start at two commands without an open server: the token
exists only on this machine, in this user's files, and only while nobody has created real
callers (``promo token create``); once one exists, no development token is issued.
The file is per port, so two local servers do not overwrite each other's token.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine

__all__ = ["DEV_CALLER", "dev_token_path", "issue_dev_token", "read_dev_token", "write_dev_token"]

DEV_CALLER = "dev-till"


def dev_token_path(port: int) -> Path:
    """``$PROMO_DEV_TOKEN_DIR`` (default ``~/.local/state/promo``) / ``dev-token-<port>``."""
    folder = os.environ.get("PROMO_DEV_TOKEN_DIR") or Path.home() / ".local" / "state" / "promo"
    return Path(folder) / f"dev-token-{port}"


def write_dev_token(port: int, token: str) -> Path:
    path = dev_token_path(port)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path


def read_dev_token(port: int) -> str | None:
    try:
        return dev_token_path(port).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def issue_dev_token(engine: Engine, port: int) -> Path | None:
    """A fresh development till token written for ``port``, unless real callers exist (then None).

    The caller is ``dev-till-<port>``; a previous one of that name is replaced (its token was
    in the file this overwrites), so local servers on other ports keep theirs.
    """
    from server.storage import callers
    from server.trust.tokens import hash_token, new_token

    if any(not c.name.startswith(f"{DEV_CALLER}-") for c in callers.active_callers(engine)):
        return None
    token, name = new_token(), f"{DEV_CALLER}-{port}"
    callers.remove_caller(engine, name)
    callers.add_caller(engine, name, "till", hash_token(token))
    return write_dev_token(port, token)
