"""The model's JSON form (``ipfhir legacy read``/``write``): stable, documented, reversible.

Shape: a JSON object with ``"kind": "MsgHead"`` or ``"kind": "AppRec"`` and the model's fields
by their Python names (:mod:`ipfhir.mappings.legacy.model`; each field names its KITH element).
Absent (None) fields and empty lists are left out; codes are ``{"v", "s", "dn", "ot"}``; dates and
date-times are ISO 8601 strings; lists are JSON arrays. A document's ``content`` carries its own
``"kind"``: ``"Dialogmelding"``, ``"AppRec"`` or ``"Base64"``. Markup kept as XML (``Node``) is
``{"tag": "{ns}local", "attributes": [[name, value], ...], "text", "children", "tail"}``.
Reading back refuses unknown fields (IP-6242), missing ones (IP-6243) and wrong types (IP-6241).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any

from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model import AppRec, Base64Content, Dialogmelding, Message

__all__ = ["model_from_json", "model_to_json"]

_KINDS: dict[str, type[Any]] = {
    "MsgHead": Message,
    "AppRec": AppRec,
    "Dialogmelding": Dialogmelding,
    "Base64": Base64Content,
}
_NAMES = {cls: name for name, cls in _KINDS.items()}


def model_to_json(model: Message | AppRec) -> dict[str, Any]:
    out = _to_json(model)
    assert isinstance(out, dict)
    return out


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        if type(value) in _NAMES:
            out["kind"] = _NAMES[type(value)]
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None or item == ():
                continue
            out[f.name] = _to_json(item)
        return out
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, dt.date):  # datetime too
        return value.isoformat()
    return value


def model_from_json(data: Any) -> Message | AppRec:
    """The model for a JSON value in the shape above (IP-624x otherwise)."""
    if not isinstance(data, dict) or data.get("kind") not in ("MsgHead", "AppRec"):
        refuse("IP-6240", "$.kind", 'Expected "kind": "MsgHead" or "AppRec".', "structure")
    built = _build(_KINDS[data["kind"]], data, "$")
    assert isinstance(built, Message | AppRec)
    return built


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:  # a race only computes the same dict twice
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _build(cls: type[Any], data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        refuse("IP-6241", path, f"Expected an object for {cls.__name__}.", "structure")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields and not (key == "kind" and cls in _NAMES):
            refuse("IP-6242", f"{path}.{key}", f"{cls.__name__} has no {key!r}.", "structure")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for name in fields:
        if name in data:
            values[name] = _value(hints[name], data[name], f"{path}.{name}")
    for name, f in fields.items():
        lacking = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if lacking and name not in data:
            refuse("IP-6243", f"{path}.{name}", f"{cls.__name__} needs {name!r}.", "required")
    return cls(**values)


def _value(hint: Any, data: Any, path: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in args if a is not type(None)]
        if data is None and len(options) < len(args):
            return None
        if len(options) == 1:
            return _value(options[0], data, path)
        kind = data.get("kind") if isinstance(data, dict) else None
        chosen = next((o for o in options if _NAMES.get(o) == kind), None)
        if chosen is None:
            names = ", ".join(_NAMES[o] for o in options)
            refuse("IP-6241", f"{path}.kind", f"Expected one of {names}.", "structure")
        return _build(chosen, data, path)
    if origin is tuple:
        if not isinstance(data, list):
            refuse("IP-6241", path, "Expected an array.", "structure")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, f"{path}[{i}]") for i, v in enumerate(data))
        if len(data) != len(args):
            refuse("IP-6241", path, f"Expected {len(args)} items.", "structure")
        return tuple(
            _value(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, data, path)
    return _scalar(hint, data, path)


def _scalar(hint: Any, data: Any, path: str) -> Any:
    if hint is str:
        if not isinstance(data, str):
            refuse("IP-6241", path, "Expected a string.", "structure")
        return data
    if hint in (dt.datetime, dt.date):
        if not isinstance(data, str):
            refuse("IP-6241", path, "Expected an ISO 8601 string.", "structure")
        try:
            return hint.fromisoformat(data)
        except ValueError:
            refuse("IP-6241", path, f"Not an ISO 8601 {hint.__name__}: {data[:40]!r}.")
    raise TypeError(f"no JSON form for {hint!r}")  # pragma: no cover - the model has no others
