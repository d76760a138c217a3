"""FHIR date/dateTime/instant values as closed UTC ranges ``(low, high)`` of sortable strings.

A value stands for the whole interval its precision covers ("2024-03" is all of March 2024).
Strings have the fixed form ``YYYY-MM-DDTHH:MM:SS.ffffff`` (UTC), so comparing them as text
compares instants, in SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

__all__ = ["FAR_FUTURE", "FAR_PAST", "date_range", "format_instant"]

FAR_PAST = "0001-01-01T00:00:00.000000"
FAR_FUTURE = "9999-12-31T23:59:59.999999"
_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _text(moment: datetime) -> str:
    """Fixed-width text (``strftime('%Y')`` writes the year 1 as ``1``, not ``0001``)."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds")


def format_instant(moment: datetime) -> str:
    """``moment`` (aware) as the fixed-width UTC text used in the store."""
    return _text(moment.astimezone(UTC))


def _offset(tz: str | None) -> timedelta:
    if tz is None or tz == "Z":
        return timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    return sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))


def _shifted(moment: datetime, shift: timedelta) -> str:
    """``moment + shift`` as store text, cut at FAR_PAST/FAR_FUTURE when that leaves the
    calendar (9999-12-31T23:59-14:00 is in the year 10000 in UTC)."""
    try:
        return _text(moment + shift)
    except OverflowError:
        return FAR_FUTURE if shift > timedelta(0) else FAR_PAST


def date_range(value: str) -> tuple[str, str]:
    """The UTC range a FHIR date/dateTime/instant covers; ``ValueError`` when it is not one.
    Ranges reaching past the years 1-9999 are cut at :data:`FAR_PAST` / :data:`FAR_FUTURE`."""
    m = _DATETIME.match(value.strip())
    if not m:
        raise ValueError(f"not a FHIR date/dateTime: {value!r}")
    year, month, day, hour, minute, second, frac, tz = m.groups()
    y = int(year)
    if month is None:
        low, high = datetime(y, 1, 1), datetime(y, 12, 31, 23, 59, 59, 999999)
    elif day is None:
        mo = int(month)
        last = calendar.monthrange(y, mo)[1]
        low, high = datetime(y, mo, 1), datetime(y, mo, last, 23, 59, 59, 999999)
    elif hour is None:
        low = datetime(y, int(month), int(day))
        high = low.replace(hour=23, minute=59, second=59, microsecond=999999)
    else:
        low = datetime(y, int(month), int(day), int(hour), int(minute))
        if second is None:
            high = low.replace(second=59, microsecond=999999)
        elif frac is None:
            low = low.replace(second=int(second))
            high = low.replace(microsecond=999999)
        else:
            low = low.replace(second=int(second), microsecond=int(frac[:6].ljust(6, "0")))
            high = low
        shift = -_offset(tz)
        return _shifted(low, shift), _shifted(high, shift)
    return _text(low), _text(high)
