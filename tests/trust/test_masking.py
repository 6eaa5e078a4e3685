"""Personal data never reaches a log line in clear: member ids, phone-like ids, birthdays, passwords."""

from __future__ import annotations

import io
import json

from server.rpc.logs import configure_logging, get_logger
from server.rpc.status import status_for
from server.storage.errors import MemberNotFound
from server.trust.masking import mask_text, mask_url


def _logged(**fields: object) -> str:
    out = io.StringIO()
    configure_logging(out)
    get_logger().info("rpc", **fields)
    return out.getvalue()


def test_a_not_found_error_text_is_masked_in_the_log() -> None:
    details = status_for(MemberNotFound("13800138000"), "rid").details
    assert "13800138000" in details  # the caller is told the id it sent
    line = _logged(error=details, request_id="rid")
    assert "13800138000" not in line and "13*******00" in line


def test_phone_like_ids_anywhere_and_birthdays_in_a_request_dump() -> None:
    line = _logged(
        error="ValueError('bad 138-0013-8000 and +86 13800138000')",
        request={"member": {"id": "M1", "birthday": "1990-03-02"}, "time": "2026-11-15T10:00:00+08:00"},
    )
    data = json.loads(line)
    assert "13800138000" not in line and "138-0013-8000" not in line
    assert data["request"]["member"]["birthday"] == "****-**-**"
    assert data["request"]["time"] == "2026-11-15T10:00:00+08:00"  # a sale time is not personal


def test_a_traceback_is_masked_too() -> None:
    out = io.StringIO()
    configure_logging(out)
    try:
        raise RuntimeError("member '13912345678' broke it")
    except RuntimeError as exc:
        get_logger().error("rpc", exc_info=exc)
    assert "13912345678" not in out.getvalue()


def test_database_url_passwords_are_never_printed() -> None:
    assert (
        mask_url("postgresql://promo:s3cret@db.internal/promo") == "postgresql://promo:***@db.internal/promo"
    )
    assert "s3cret" not in _logged(db="postgresql+psycopg://promo:s3cret@db/promo")
    assert mask_text("birthday: 1990-03-02") == "birthday: ****-**-**"
