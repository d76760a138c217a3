"""Norwegian identifiers: checksums, birth dates and a generator of *synthetic* numbers.

- fødselsnummer (FNR) and D-nummer (DNR): 11 digits, two mod-11 control digits. A D-nummer adds 4
  to the first digit of the day. Synthetic numbers (Skatteetaten's test population, «syntetiske
  fødselsnummer») add 80 to the month, so they can never belong to a real person; fixtures use
  only those.
- organisasjonsnummer (ENH): 9 digits, one mod-11 control digit.
"""

from __future__ import annotations

import datetime as dt
import random

__all__ = [
    "FNR_SYSTEM",
    "DNR_SYSTEM",
    "HPR_SYSTEM",
    "ORGNR_SYSTEM",
    "RESH_SYSTEM",
    "birth_date",
    "is_synthetic",
    "is_valid_dnr",
    "is_valid_fnr",
    "is_valid_orgnr",
    "is_valid_person_number",
    "synthetic_fnr",
    "synthetic_orgnr",
]

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
RESH_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.102"

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG = (3, 2, 7, 6, 5, 4, 3, 2)


def _control(digits: str, weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    if rest == 11:
        return 0
    return None if rest == 10 else rest


def _checksum_ok(number: str) -> bool:
    if len(number) != 11 or not number.isdigit():
        return False
    c1 = _control(number[:9], _K1)
    if c1 is None or c1 != int(number[9]):
        return False
    c2 = _control(number[:10], _K2)
    return c2 is not None and c2 == int(number[10])


def _day_month(number: str) -> tuple[int, int]:
    day, month = int(number[0:2]), int(number[2:4])
    if day > 40:
        day -= 40  # D-nummer
    if month > 80:
        month -= 80  # synthetic (Skatteetaten)
    elif month > 40:
        month -= 40  # synthetic (NAV test persons)
    return day, month


def _year(number: str) -> int:
    yy, individual = int(number[4:6]), int(number[6:9])
    if individual < 500:
        return 1900 + yy
    if individual < 750 and yy >= 54:
        return 1800 + yy
    if yy < 40:
        return 2000 + yy
    return 1900 + yy  # 900-999 with yy >= 40


def birth_date(number: str) -> dt.date | None:
    """The birth date an FNR or D-nummer encodes, or None when the digits name no date."""
    if len(number) != 11 or not number.isdigit():
        return None
    day, month = _day_month(number)
    try:
        return dt.date(_year(number), month, day)
    except ValueError:
        return None


def is_valid_fnr(number: str) -> bool:
    return _checksum_ok(number) and int(number[0]) < 4 and birth_date(number) is not None


def is_valid_dnr(number: str) -> bool:
    return _checksum_ok(number) and int(number[0]) >= 4 and birth_date(number) is not None


def is_valid_person_number(number: str) -> bool:
    return is_valid_fnr(number) or is_valid_dnr(number)


def is_synthetic(number: str) -> bool:
    """True for synthetic test numbers (month + 80 or month + 40)."""
    return len(number) == 11 and number.isdigit() and int(number[2:4]) > 40


def is_valid_orgnr(number: str) -> bool:
    if len(number) != 9 or not number.isdigit():
        return False
    control = _control(number[:8], _ORG)
    return control is not None and control == int(number[8])


def _individual_number(year: int, rng: random.Random) -> int:
    if 1900 <= year <= 1999:
        return rng.randint(0, 499)
    if 2000 <= year <= 2039:
        return rng.randint(500, 999)
    raise ValueError("synthetic numbers are generated for birth years 1900-2039")


def synthetic_fnr(born: dt.date, rng: random.Random, *, d_number: bool = False) -> str:
    """A valid-checksum synthetic fødselsnummer (or D-nummer) for a birth date."""
    day = born.day + (40 if d_number else 0)
    for _ in range(200):
        individual = _individual_number(born.year, rng)
        base = f"{day:02d}{born.month + 80:02d}{born.year % 100:02d}{individual:03d}"
        c1 = _control(base, _K1)
        if c1 is None:
            continue
        c2 = _control(base + str(c1), _K2)
        if c2 is not None:
            return f"{base}{c1}{c2}"
    raise RuntimeError("no valid individual number found")  # pragma: no cover - 200 tries


def synthetic_orgnr(rng: random.Random) -> str:
    """A valid-checksum organisation number (random, not registered to anyone)."""
    while True:
        base = "9" + "".join(str(rng.randint(0, 9)) for _ in range(7))
        control = _control(base, _ORG)
        if control is not None:
            return base + str(control)
