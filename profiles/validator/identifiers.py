"""Norwegian identifier checksums (mod 11) for the identifier systems of no-basis.

- fødselsnummer ``urn:oid:2.16.578.1.12.4.1.4.1``: DDMMYY + individual number + 2 control digits.
- D-nummer ``urn:oid:2.16.578.1.12.4.1.4.2``: as fødselsnummer, with 4 added to the first digit.
- organisasjonsnummer ``urn:oid:2.16.578.1.12.4.1.4.101``: 8 digits + 1 control digit.

Synthetic test numbers (month + 40 or + 80, as issued for test data) are accepted.
"""

from __future__ import annotations

__all__ = ["CHECKS", "valid_dnummer", "valid_fodselsnummer", "valid_orgnr"]

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
ENH = "urn:oid:2.16.578.1.12.4.1.4.101"

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG = (3, 2, 7, 6, 5, 4, 3, 2)


def _control(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    return 0 if rest == 11 else None if rest == 10 else rest


def _mod11_person(value: str, day_offset: int) -> bool:
    if len(value) != 11 or not value.isdigit():
        return False
    digits = [int(c) for c in value]
    day = int(value[0:2]) - day_offset
    month = int(value[2:4]) % 40  # synthetic numbers add 40 or 80 to the month
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    k1 = _control(digits[:9], _K1)
    if k1 is None or k1 != digits[9]:
        return False
    k2 = _control(digits[:10], _K2)
    return k2 is not None and k2 == digits[10]


def valid_fodselsnummer(value: str) -> bool:
    return _mod11_person(value, 0)


def valid_dnummer(value: str) -> bool:
    return _mod11_person(value, 40)


def valid_orgnr(value: str) -> bool:
    if len(value) != 9 or not value.isdigit():
        return False
    digits = [int(c) for c in value]
    control = _control(digits[:8], _ORG)
    return control is not None and control == digits[8]


# identifier system -> (check, message id)
CHECKS = {
    FNR: (valid_fodselsnummer, "IP-3019"),
    DNR: (valid_dnummer, "IP-3020"),
    ENH: (valid_orgnr, "IP-3021"),
}
