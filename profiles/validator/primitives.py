"""FHIR R4 primitive types: JSON representation and lexical format (spec §2.1.28 "Primitive Types").

``check(type_code, value)`` returns ``None`` when ``value`` (as found in JSON) is acceptable for the
primitive type, else a short hint saying what is wrong. Dates are also checked on the calendar.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["PRIMITIVES", "check", "is_primitive"]

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?"
_TZ = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_DATE = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?")
_DATETIME = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_TZ})?)?)?")
_INSTANT = re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_TZ}")
_TIME_RE = re.compile(_TIME)
_CODE = re.compile(r"[^\s]+( [^\s]+)*")
_ID = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
_OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_URI = re.compile(r"\S*")
_INT32 = (-(2**31), 2**31 - 1)


def _calendar_ok(text: str) -> bool:
    """A full date part (YYYY-MM-DD) must exist on the calendar (no 2023-02-30)."""
    if len(text) < 10:
        return True
    try:
        date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def _string(value: Any) -> str | None:
    if not isinstance(value, str):
        return "a JSON string is required"
    if not value or value.isspace():
        return "empty or blank strings are not allowed"
    return None


# Values of a pattern type found fine are remembered (codes, systems and URLs recur in almost
# every resource): at most this many per type, each at most this long; a full set is emptied.
_GOOD_MAX, _GOOD_LENGTH = 4096, 256


def _pattern(
    regex: re.Pattern[str], what: str, calendar: bool = False
) -> Callable[[Any], str | None]:
    # Shared by every thread: only values found fine are added, so a value found here is fine
    # whichever thread added it (``in``, ``add`` and ``clear`` are each atomic).
    good: set[str] = set()

    def check_text(value: Any) -> str | None:
        if type(value) is str:
            if value in good:
                return None
            problem = text_problem(value)
            if problem is None and len(value) <= _GOOD_LENGTH:
                if len(good) >= _GOOD_MAX:
                    good.clear()
                good.add(value)
            return problem
        if not isinstance(value, str):
            return "a JSON string is required"
        return text_problem(value)  # a str subclass: not remembered

    def text_problem(value: str) -> str | None:
        if not regex.fullmatch(value):
            return what
        if calendar and not _calendar_ok(value):
            return "no such day in the calendar"
        return None

    return check_text


def _integer(low: int) -> Callable[[Any], str | None]:
    def check_int(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "a JSON number without fraction is required"
        if value < max(low, _INT32[0]) or value > _INT32[1]:
            return f"must be between {max(low, _INT32[0])} and {_INT32[1]}"
        return None

    return check_int


def _decimal(value: Any) -> str | None:
    """A JSON number; ``Decimal`` too (JSON read with ``parse_float=Decimal``, FHIR XML reader)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return "a JSON number is required"
    return None


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "a JSON boolean (true/false) is required"


def _base64(value: Any) -> str | None:
    if not isinstance(value, str):
        return "a JSON string is required"
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return "not base64"
    return None


PRIMITIVES: dict[str, Callable[[Any], str | None]] = {
    "boolean": _boolean,
    "integer": _integer(_INT32[0]),
    "unsignedInt": _integer(0),
    "positiveInt": _integer(1),
    "decimal": _decimal,
    "string": _string,
    "markdown": _string,
    "xhtml": _string,
    "code": _pattern(_CODE, "codes have no leading/trailing or double whitespace"),
    "id": _pattern(_ID, "ids are 1-64 of A-Z a-z 0-9 - ."),
    "uri": _pattern(_URI, "URIs have no whitespace"),
    "url": _pattern(_URI, "URLs have no whitespace"),
    "canonical": _pattern(_URI, "canonical URLs have no whitespace"),
    "oid": _pattern(_OID, "expected urn:oid:n.n.n"),
    "uuid": _pattern(_UUID, "expected urn:uuid: and a lower-case UUID"),
    "date": _pattern(_DATE, "expected YYYY, YYYY-MM or YYYY-MM-DD", calendar=True),
    "dateTime": _pattern(
        _DATETIME, "expected YYYY[-MM[-DD[Thh:mm:ss[.s]+zz:zz]]]; a time needs a time zone", True
    ),
    "instant": _pattern(_INSTANT, "expected YYYY-MM-DDThh:mm:ss[.s] with a time zone", True),
    "time": _pattern(_TIME_RE, "expected hh:mm:ss"),
    "base64Binary": _base64,
    "http://hl7.org/fhirpath/System.String": _string,
}


def is_primitive(type_code: str) -> bool:
    return type_code in PRIMITIVES


def check(type_code: str, value: Any) -> str | None:
    """``None`` if ``value`` is a valid JSON form of primitive ``type_code``, else a hint."""
    checker = PRIMITIVES.get(type_code)
    return checker(value) if checker else None
