"""Stored requests back to protobuf messages, fast: a replay reads a million of them.

``json_format.ParseDict`` walks the JSON in pure Python (~150 us for a five-line basket);
building the message with keyword arguments runs in protobuf's C core. :func:`parse_stored`
does that for the shapes the sales desk stores (camelCase keys, int64 as strings, nested and
repeated messages), reading field names and types from the message descriptors, and falls
back to ``ParseDict`` for anything else (an enum, a well-known type, an unknown key), so it is
never less exact. tests/backtest/test_requests.py holds it equal to ``ParseDict``.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from server._pb.promo.v1 import promo_pb2 as pb

__all__ = ["parse_stored"]

_INTS = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_SFIXED32,
    }
)
_PLAIN = frozenset({FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BOOL})

# descriptor full name -> {json key: (python name, kind, message class, repeated)}
_FIELDS: dict[str, dict[str, tuple[str, str, Any, bool]]] = {}


class _Unsupported(Exception):
    pass


def _fields(descriptor: Descriptor, cls: Any) -> dict[str, tuple[str, str, Any, bool]]:
    known = _FIELDS.get(descriptor.full_name)
    if known is not None:
        return known
    out = {}
    for f in descriptor.fields:
        repeated = f.is_repeated
        if f.type in _INTS:
            kind, sub = "int", None
        elif f.type in _PLAIN:
            kind, sub = "plain", None
        elif f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.full_name.startswith("promo."):
            kind, sub = "message", getattr(cls, f.message_type.name, None) or getattr(pb, f.message_type.name)
        else:
            kind, sub = "other", None
        out[f.json_name] = out[f.name] = (f.name, kind, sub, repeated)
    _FIELDS[descriptor.full_name] = out
    return out


def _build(cls: Any, data: dict[str, Any]) -> Any:
    fields = _fields(cls.DESCRIPTOR, cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        spec = fields.get(key)
        if spec is None:
            raise _Unsupported(key)
        name, kind, sub, repeated = spec
        if kind == "int":
            kwargs[name] = [int(v) for v in value] if repeated else int(value)
        elif kind == "plain":
            kwargs[name] = value
        elif kind == "message":
            kwargs[name] = [_build(sub, v) for v in value] if repeated else _build(sub, value)
        else:
            raise _Unsupported(key)
    return cls(**kwargs)


def parse_stored(data: dict[str, Any]) -> pb.EvaluateRequest:
    """The ``EvaluateRequest`` of a stored request's JSON (``MessageToDict`` output)."""
    try:
        return _build(pb.EvaluateRequest, data)
    except (_Unsupported, TypeError, ValueError):
        return json_format.ParseDict(data, pb.EvaluateRequest())
