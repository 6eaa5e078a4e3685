"""The engine's member for a ledger member, converted once per ledger read instead of once per scan.

The member cache hands every scan of a sale the same :class:`MemberView` object until it expires
or this process writes to the member; converting it (its dates, tags and history through the
wire's checks) cost more than the rest of the request's conversion, so the result is kept with
the view it came from and reused while that very object comes back.
"""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

from engine.model import Member
from server.storage.results import MemberView
from server.wire.ledger import ledger_member
from server.wire.request import member_from_proto

__all__ = ["EngineMembers"]


class EngineMembers:
    """Engine members by member id, each valid for one view object (and zone)."""

    def __init__(self, maxsize: int = 4096) -> None:
        self._members: dict[str, tuple[MemberView, ZoneInfo, Member]] = {}
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def engine_member(self, view: MemberView, zone: ZoneInfo) -> Member:
        """The engine's member for ``view``, with its last purchase as a local day in ``zone``."""
        hit = self._members.get(view.id)
        if hit is not None and hit[0] is view and hit[1] is zone:
            return hit[2]
        member = member_from_proto(ledger_member(view, zone))
        with self._lock:
            if len(self._members) >= self._maxsize:
                self._members.clear()
            self._members[view.id] = (view, zone, member)
        return member
