"""Strict FHIR JSON in and out (pure, standard library only).

:func:`parse_json` is the JSON reader of a FHIR server: it refuses invalid UTF-8, duplicate keys,
``NaN``/``Infinity``, nesting deeper than ``max_depth``, a top level that is not an object, and
input larger than ``max_bytes``. Numbers with a fraction or exponent are read as
:class:`decimal.Decimal`, so ``1.50`` keeps its precision through
:func:`mappings.fhir_r4.check_resource` and :func:`dump_json` (which writes a Decimal in its
own lexical form; a Decimal read from an exponent form such as ``1e3`` is written as ``1E+3``).

Every refusal is a :class:`~mappings.errors.FormatError` with a message id IP-2001..IP-2008.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any, NoReturn

from ipfhir.mappings.errors import FormatError, Issue
from ipfhir.mappings.fhir_r4 import MESSAGES

__all__ = ["dump_json", "number_text", "parse_json"]

_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _fail(message_id: str, detail: str = "", code: str = "structure") -> NoReturn:
    text = MESSAGES[message_id] + (f" {detail}" if detail else "")
    raise FormatError([Issue(message_id, text, (), code)])


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dupes = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
        _fail("IP-2003", f"Key {dupes[0]!r}.")
    return obj


def _no_constant(name: str) -> NoReturn:
    _fail("IP-2004", f"Got {name}.", "value")


def _check_depth(text: str, max_depth: int) -> None:
    """Refuse deep nesting before the recursive parser sees it (strings are skipped)."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                _fail("IP-2005", f"More than {max_depth} levels.", "too-costly")
        elif token in "]}":
            depth -= 1


def parse_json(
    data: bytes | str, max_depth: int = 64, max_bytes: int | None = None
) -> dict[str, Any]:
    """Read one FHIR JSON resource strictly; decimals as :class:`~decimal.Decimal`."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if max_bytes is not None and size > max_bytes:
        _fail("IP-2007", f"{size} bytes, at most {max_bytes}.", "too-costly")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            _fail("IP-2001", f"At byte {error.start}.")
    else:
        text = data
    text = text.removeprefix("\ufeff")
    _check_depth(text, max_depth)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=Decimal,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as error:
        _fail("IP-2002", f"{error.msg} (line {error.lineno}, column {error.colno}).")
    except (ValueError, RecursionError) as error:  # e.g. an integer with too many digits
        _fail("IP-2002", str(error))
    if not isinstance(value, dict):
        _fail("IP-2006", f"Got {type(value).__name__}.")
    return value


def number_text(value: int | float | Decimal) -> str:
    """The JSON/XML lexical form of a number (a Decimal as it was read)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            _fail("IP-2008", f"Got {value}.", "value")
        exponent = value.as_tuple().exponent
        # Plain literals have exponent <= 0 and round-trip with 'f'; keep huge exponents short.
        return (
            format(value, "f") if isinstance(exponent, int) and -64 <= exponent <= 0 else str(value)
        )
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            _fail("IP-2008", f"Got {value}.", "value")
        return repr(value)
    return int.__repr__(value)


def _write(value: Any, out: list[str], indent: str | None, level: int) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif isinstance(value, int | float | Decimal):
        out.append(number_text(value))
    elif isinstance(value, dict):
        _write_container(list(value.items()), "{", "}", out, indent, level)
    elif isinstance(value, list | tuple):
        _write_container(list(value), "[", "]", out, indent, level)
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _write_container(
    items: list[Any], start: str, end: str, out: list[str], indent: str | None, level: int
) -> None:
    if not items:
        out.append(start + end)
        return
    inner = "" if indent is None else "\n" + indent * (level + 1)
    out.append(start)
    for i, item in enumerate(items):
        out.append(("," if i else "") + inner)
        if start == "{":
            key, item = item
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {type(key).__name__}")
            out.append(encode_basestring(key) + (": " if indent is not None else ":"))
        _write(item, out, indent, level + 1)
    out.append(("" if indent is None else "\n" + indent * level) + end)


def dump_json(resource: dict[str, Any], pretty: bool = False) -> str:
    """Write a resource as JSON text (non-ASCII kept as is; Decimals in their lexical form)."""
    out: list[str] = []
    _write(resource, out, "  " if pretty else None, 0)
    return "".join(out)
