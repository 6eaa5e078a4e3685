"""Promotions.TillSession through the real gRPC stack, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator

import grpc
import pytest
from svc_support import CALL_TIMEOUT, RULESET, TIME, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb

T = CALL_TIMEOUT


def _line(line_id: str, *, price: int = 10000, qty: int = 2000, category: str = "") -> pb.Line:
    return pb.Line(
        id=line_id,
        name=f"*日用品*goods {line_id}",
        category=category,
        unit_price_fen=price,
        quantity_milli=qty,
        tax_rate="13%",
        tax_code="1070223000000000000",
        unit="个",
    )


def _opening(tid: str = "S1", member: str | None = "M1") -> pb.EvaluateRequest:
    msg = pb.EvaluateRequest(ruleset=RULESET, transaction_id=tid, time=TIME)
    if member is not None:
        msg.member.id = member
    return msg


class Till:
    """One open stream: send a message, get its reply (the stream stays open between the two)."""

    def __init__(self, svc: Svc) -> None:
        self._out: queue.Queue[pb.SessionRequest | None] = queue.Queue()
        self._replies = svc.stub.TillSession(self._requests(), timeout=T)
        self._seq = 0

    def _requests(self) -> Iterator[pb.SessionRequest]:
        while (msg := self._out.get()) is not None:
            yield msg

    def send(self, **action: object) -> pb.SessionReply:
        self._seq += 1
        whole = bool(action.pop("whole_basket", False))
        self._out.put(pb.SessionRequest(seq=self._seq, whole_basket=whole, **action))  # type: ignore[arg-type]
        reply = next(self._replies)
        assert reply.seq == self._seq
        return reply

    def close(self) -> None:
        self._out.put(None)

    def rest(self) -> list[pb.SessionReply]:
        """What the server sends until it ends the stream."""
        return list(self._replies)


@pytest.fixture
def till(svc: Svc) -> Iterator[Till]:
    svc.enroll()
    opened = Till(svc)
    yield opened
    opened.close()


def _ids(reply: pb.SessionReply) -> list[str]:
    return [line.line_id for line in reply.basket.quote.lines]


class TestHappyPath:
    def test_scans_then_commit_on_the_stream(self, svc: Svc, till: Till) -> None:
        """Open, scan two lines, commit: each reply is the re-priced basket; the commit is Commit's."""
        opened = till.send(open=_opening())
        assert opened.basket.whole and not opened.basket.quote.lines
        assert opened.basket.quote.payable_fen == 0
        first = till.send(add_line=_line("1", category="A"))
        assert _ids(first) == ["1"] and first.basket.quote.payable_fen == 18000  # 9折
        second = till.send(add_line=_line("2"))
        assert _ids(second) == ["2"]  # only what changed: line 1's result is the same
        assert second.basket.quote.payable_fen == 38000
        assert not second.basket.quote.HasField("invoice")
        unary = svc.stub.Evaluate(basket(), timeout=T)  # the same basket, priced by the unary call
        assert second.basket.quote.payable_fen == unary.payable_fen
        assert second.basket.quote.points.earned == unary.points.earned
        done = till.send(commit=pb.SessionCommit(displayed_payable_fen=38000))
        assert done.committed.sale.payable_fen == 38000 and not done.committed.replayed
        assert done.committed.sale.invoice.lines  # a commit always builds the invoice
        assert till.rest() == []  # the server ended the stream after the commit
        member = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T)
        assert member.points_balance == done.committed.points_earned == 380

    def test_whole_basket_and_the_final_quote(self, till: Till) -> None:
        """whole_basket answers every line; quote(final_quote) carries the checked invoice."""
        till.send(open=_opening())
        till.send(add_line=_line("1", category="A"))
        both = till.send(add_line=_line("2"), whole_basket=True)
        assert both.basket.whole and _ids(both) == ["1", "2"]
        final = till.send(quote=pb.SessionQuote(final_quote=True))
        assert final.basket.whole and _ids(final) == ["1", "2"]
        assert final.basket.quote.invoice.totals.gross_fen == final.basket.quote.payable_fen == 38000


class TestChanges:
    def test_change_and_remove_lines(self, till: Till) -> None:
        """A quantity change re-prices that line; a removal names the line gone."""
        till.send(open=_opening())
        till.send(add_line=_line("1", category="A"))
        till.send(add_line=_line("2"))
        changed = till.send(change_line=_line("2", qty=3000))
        assert _ids(changed) == ["2"] and changed.basket.quote.lines[0].amount_fen == 30000
        assert changed.basket.quote.payable_fen == 48000
        removed = till.send(remove_line="1")
        assert list(removed.basket.removed_line_ids) == ["1"] and _ids(removed) == []
        assert removed.basket.quote.payable_fen == 30000
        empty = till.send(remove_line="2")
        assert empty.basket.quote.payable_fen == 0 and list(empty.basket.removed_line_ids) == ["2"]

    def test_coupons_and_points(self, svc: Svc, till: Till) -> None:
        """A coupon presented and withdrawn, points to redeem set: each re-prices the totals."""
        svc.admin.AdjustPoints(
            pb.AdjustPointsRequest(
                member_id="M1", points=1000, reason="gift", operator="ops", request_id="a"
            ),
            timeout=T,
        )
        till.send(open=_opening())
        till.send(add_line=_line("2"))  # 200.00
        with_coupon = till.send(add_coupon="C10")
        assert with_coupon.basket.quote.payable_fen == 19000
        assert [c.accepted for c in with_coupon.basket.quote.coupons] == [True]
        with_points = till.send(redeem_points=1000)
        assert with_points.basket.quote.redemption.points == 1000
        assert with_points.basket.quote.payable_fen == 18000
        without = till.send(remove_coupon="C10")
        assert without.basket.quote.payable_fen == 19000 and not without.basket.quote.coupons


class TestBadMessages:
    def test_a_bad_message_is_answered_and_changes_nothing(self, till: Till) -> None:
        """Each refusal names the field; the session goes on with the basket as it was."""
        till.send(open=_opening())
        till.send(add_line=_line("1"))
        cases = [
            ({"add_line": _line("1")}, "INVALID_ARGUMENT", "add_line.id: the basket has a line '1'"),
            ({"add_line": _line("2", price=-5)}, "INVALID_ARGUMENT", "add_line.unit_price_fen: must not"),
            ({"change_line": _line("9")}, "INVALID_ARGUMENT", "change_line.id: no line '9' in the basket"),
            ({"remove_line": "9"}, "INVALID_ARGUMENT", "remove_line: no line '9'"),
            ({"remove_coupon": "C10"}, "INVALID_ARGUMENT", "remove_coupon: coupon 'C10' was not presented"),
            ({"redeem_points": 5000}, "INVALID_ARGUMENT", "redeem_points: asks for 5000 points"),
            ({"open": _opening()}, "INVALID_ARGUMENT", "open: the session is open already"),
            (
                {"commit": pb.SessionCommit(displayed_payable_fen=1)},
                "FAILED_PRECONDITION",
                "",
            ),
        ]
        for action, code, details in cases:
            reply = till.send(**action)
            assert reply.WhichOneof("outcome") == "error", action
            assert reply.error.code == code and reply.error.details.startswith(details), reply.error
        still = till.send(quote=pb.SessionQuote())
        assert _ids(still) == ["1"] and still.basket.quote.payable_fen == 20000
        done = till.send(commit=pb.SessionCommit(displayed_payable_fen=20000))
        assert done.committed.sale.payable_fen == 20000

    def test_a_stream_without_a_session_ends_with_a_status(self, svc: Svc) -> None:
        """A first message that is not open/resume, a bad open, an unknown sale: the stream ends."""
        svc.enroll()
        cases = [
            (pb.SessionRequest(add_line=_line("1")), grpc.StatusCode.FAILED_PRECONDITION, "the first"),
            (
                pb.SessionRequest(open=_opening(tid="")),
                grpc.StatusCode.INVALID_ARGUMENT,
                "open.transaction_id",
            ),
            (pb.SessionRequest(open=_opening(member="NOPE")), grpc.StatusCode.NOT_FOUND, "member_id"),
            (pb.SessionRequest(resume="NEVER"), grpc.StatusCode.NOT_FOUND, "resume: no open session"),
        ]
        for msg, code, details in cases:
            with pytest.raises(grpc.RpcError) as info:
                list(svc.stub.TillSession(iter([msg]), timeout=T))
            assert info.value.code() == code and details in info.value.details(), info.value.details()


class TestResumeAndIdempotency:
    def test_resume_by_sale_id_after_the_stream_dropped(self, svc: Svc, till: Till) -> None:
        """A new stream resumes the kept basket and commits it."""
        till.send(open=_opening())
        till.send(add_line=_line("1", category="A"))
        till.close()
        till.rest()
        again = Till(svc)
        try:
            resumed = again.send(resume="S1")
            assert resumed.basket.whole and _ids(resumed) == ["1"]
            assert resumed.basket.quote.payable_fen == 18000
            more = again.send(add_line=_line("2"))
            assert _ids(more) == ["2"]
            done = again.send(commit=pb.SessionCommit(displayed_payable_fen=38000))
            assert done.committed.sale.payable_fen == 38000
        finally:
            again.close()

    def test_a_stream_commit_retried_by_unary_commit_replays(self, svc: Svc, till: Till) -> None:
        """The session commits the same request a unary Commit of that basket sends: a retry replays."""
        till.send(open=_opening())
        till.send(add_line=_line("1", category="A"))
        till.send(add_line=_line("2"))
        done = till.send(commit=pb.SessionCommit(displayed_payable_fen=38000))
        request = _opening()
        request.lines.extend([_line("1", category="A"), _line("2")])
        version = done.committed.sale.ruleset.version
        retry = svc.stub.Commit(
            pb.CommitRequest(
                transaction_id="S1", request=request, displayed_payable_fen=38000, ruleset_version=version
            ),
            timeout=T,
        )
        assert retry.replayed and retry.sale == done.committed.sale
        request.lines[1].quantity_milli = 1000  # another basket under the same sale id
        with pytest.raises(grpc.RpcError) as info:
            svc.stub.Commit(
                pb.CommitRequest(
                    transaction_id="S1", request=request, displayed_payable_fen=28000, ruleset_version=version
                ),
                timeout=T,
            )
        assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS

    def test_a_unary_commit_of_a_dropped_session_then_a_resume_is_not_found(
        self, svc: Svc, till: Till
    ) -> None:
        """Committing the dropped stream's basket with unary Commit drops the kept session."""
        till.send(open=_opening())
        till.send(add_line=_line("2"))
        till.close()
        till.rest()
        request = _opening()
        request.lines.append(_line("2"))
        quote = svc.stub.Evaluate(request, timeout=T)
        svc.stub.Commit(
            pb.CommitRequest(
                transaction_id="S1",
                request=request,
                displayed_payable_fen=quote.payable_fen,
                ruleset_version=quote.ruleset.version,
            ),
            timeout=T,
        )
        with pytest.raises(grpc.RpcError) as info:
            list(svc.stub.TillSession(iter([pb.SessionRequest(resume="S1")]), timeout=T))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_sessions_are_served_side_by_side(svc: Svc) -> None:
    """More open sessions than call threads: each stream holds a thread, the gate does not starve them."""
    svc.enroll()
    tills = [Till(svc) for _ in range(10)]
    try:
        for k, t in enumerate(tills):
            t.send(open=_opening(tid=f"S{k}"))
        errors: list[BaseException] = []

        def scan(t: Till) -> None:
            try:
                for n in range(3):
                    assert t.send(add_line=_line(str(n))).basket.quote.payable_fen == 20000 * (n + 1)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=scan, args=(t,)) for t in tills]
        for th in threads:
            th.start()
        for th in threads:
            th.join(T)
        assert not errors
    finally:
        for t in tills:
            t.close()


class TestTheBook:
    def test_more_sessions_than_the_limit_are_resource_exhausted(self, svc: Svc) -> None:
        """A full book refuses a new sale (RESOURCE_EXHAUSTED), not a sale it keeps already."""
        from server.rpc.session import session_status
        from server.sales.desk import SalesDesk
        from server.sales.session import SessionBook, TooManySessions

        desk, book = SalesDesk(svc.ledger, svc.registry), SessionBook(limit=1)
        book.keep(book.open(desk, _opening(tid="A", member=None)))
        book.keep(book.open(desk, _opening(tid="A", member=None)))  # the same sale opened again
        with pytest.raises(TooManySessions) as info:
            book.open(desk, _opening(tid="B", member=None))
        assert session_status(info.value, "r").code == grpc.StatusCode.RESOURCE_EXHAUSTED
        book.drop("A")
        book.open(desk, _opening(tid="B", member=None))

    def test_a_failed_open_keeps_nothing(self, svc: Svc) -> None:
        """An open refused (unknown member) cannot be resumed."""
        with pytest.raises(grpc.RpcError):
            list(svc.stub.TillSession(iter([pb.SessionRequest(open=_opening(member="NOPE"))]), timeout=T))
        with pytest.raises(grpc.RpcError) as info:
            list(svc.stub.TillSession(iter([pb.SessionRequest(resume="S1")]), timeout=T))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND

    def test_without_a_ledger_the_session_is_unimplemented(self, start_svc) -> None:  # type: ignore[no-untyped-def]
        bare = start_svc(None)
        with pytest.raises(grpc.RpcError) as info:
            list(bare.stub.TillSession(iter([pb.SessionRequest(open=_opening())]), timeout=T))
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


class TestLog:
    def test_scans_log_at_debug_and_the_end_counts_them(self, svc: Svc, till: Till) -> None:
        """Open and commit log at INFO; the scans between do not, and the stream's end counts them."""
        till.send(open=_opening())
        till.send(add_line=_line("1", category="A"))
        changed = till.send(change_line=_line("1", qty=3000))
        done = till.send(commit=pb.SessionCommit(displayed_payable_fen=changed.basket.quote.payable_fen))
        assert done.HasField("committed")
        assert till.rest() == []
        lines = [json.loads(text) for text in svc.log.getvalue().splitlines()]
        actions = [
            line["action"] for line in lines if line.get("method") == "TillSession" and "action" in line
        ]
        assert actions == ["open", "commit"]
        (end,) = [line for line in lines if line["event"] == "session_end"]
        assert (end["messages"], end["quiet"], end["transaction_id"]) == (4, 2, "S1")
