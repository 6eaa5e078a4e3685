"""Reading a report's rows as a stream, the database working while Python works.

Every finance read goes through :func:`stream`: a server-side cursor (``yield_per``) on
both databases, so memory holds one batch, not the period. On PostgreSQL the database
is another process: a thread fetches the next batches (waiting on the socket releases
the GIL) while the caller turns the current one into lines, so the two overlap instead
of taking turns. At most :data:`AHEAD` batches wait, so memory stays flat. SQLite runs
in this process and is read in the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["AHEAD", "YIELD_PER", "stream"]

YIELD_PER = 1000  # rows a server-side cursor fetches at a time: few round trips, memory flat
AHEAD = 2  # batches fetched ahead of the caller
_DONE = object()


def stream(session: Any, query: Any) -> Iterator[Any]:
    """The rows of ``query`` in ``session`` (one snapshot), fetched ahead on PostgreSQL.

    Run on the session's connection (Core): the rows are plain columns, and the ORM's result
    machinery only added work per row."""
    result = session.connection().execution_options(yield_per=YIELD_PER).execute(query)
    if session.get_bind().dialect.name != "postgresql":
        yield from result
        return
    batches: queue.Queue[Any] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def put(item: Any) -> bool:
        """Hand ``item`` over unless the caller stopped reading (False then)."""
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for batch in result.partitions():
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # the caller raises it: a failed read must not look like the end
            put(exc)

    worker = threading.Thread(target=fetch, name="finance-fetch", daemon=True)
    worker.start()
    try:
        while (batch := batches.get()) is not _DONE:
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        stop.set()
        worker.join()
        result.close()
