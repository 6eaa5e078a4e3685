"""A request in protobuf's JSON mapping (``promo eval``, request files) into the wire message.

Protobuf's own parser does the reading; what is added here is the error: the field path in
wire names (``lines[2].unit_price_fen``) and a sentence an integrator can act on, instead of
protobuf's nested "Failed to parse ... field" text. The message is then converted like any
other by :mod:`server.wire.request`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from google.protobuf import json_format

from engine.errors import InvalidRequest
from server._pb.promo.v1 import promo_pb2 as pb

__all__ = ["request_from_json"]


def request_from_json(text: str) -> pb.EvaluateRequest:
    """Parse a request in the canonical protobuf JSON mapping (int64 as numbers or strings).

    Unknown fields are refused; errors name the field path in wire names.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            "request", f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest("request", f"must be a JSON object {{...}}, not {type(data).__name__}")
    msg = pb.EvaluateRequest()
    rest = {k: v for k, v in data.items() if k != "lines"}
    _parse_into(rest, msg, "")
    lines = data.get("lines")
    if lines is not None:
        if not isinstance(lines, list):
            raise InvalidRequest("lines", "must be a JSON array of lines [...]")
        for i, item in enumerate(lines):
            _parse_into(item, msg.lines.add(), f"lines[{i}]")
    return msg


def _parse_into(data: Any, msg: Any, path: str) -> None:
    if not isinstance(data, dict):
        raise InvalidRequest(path or "request", f"must be a JSON object {{...}}, not {type(data).__name__}")
    try:
        json_format.ParseDict(data, msg)
    except json_format.ParseError as exc:
        field, message = _explain_parse_error(str(exc))
        raise InvalidRequest(".".join(p for p in (path, field) if p) or "request", message) from None


_FAILED = re.compile(r"Failed to parse (\w+) field: ")
_UNKNOWN = re.compile(r'Message type "[\w.]+" has no field named "([^"]+)"')
_AVAILABLE = re.compile(r"Available Fields\(except extensions\): \"\[(.*)\]\"", re.S)
_AT = re.compile(r"\s+at \"?[A-Z][\w.\[\]]*\"?\.*$")  # protobuf's " at Line.unitPriceFen" suffix


def _explain_parse_error(text: str) -> tuple[str, str]:
    """(field path, sentence) from protobuf's nested "Failed to parse x field: ..." message."""
    names = []
    while match := _FAILED.match(text):
        names.append(_snake(match[1]))
        text = text[match.end() :]
    text = text.strip()
    if unknown := _UNKNOWN.match(text):
        names.append(unknown[1])
        known = _AVAILABLE.search(text)
        fields = ", ".join(n.strip(" '") for n in known[1].split(",")) if known else ""
        return ".".join(
            names
        ), f"is not a field here; the fields are: {fields}" if fields else "unknown field"
    first = text.splitlines()[0] if text else "cannot be parsed"
    message = _AT.sub("", first).rstrip(".")
    for pattern, template in _FRIENDLY:
        if m := pattern.fullmatch(message):
            message = template.format(*m.groups())
            break
    return ".".join(names), message


_FRIENDLY = (
    (re.compile(r"invalid literal for int\(\) with base 10: (.*)"), "must be a whole number (got {0})"),
    (re.compile(r"Couldn't parse integer: (.*)"), "must be a whole number (got {0})"),
    (re.compile(r"Value out of range: (.*)"), "is out of range for a 64-bit integer (got {0})"),
)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
