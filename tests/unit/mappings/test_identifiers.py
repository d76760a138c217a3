"""Norwegian identifiers (mappings.identifiers): mod-11 checksums, birth dates, synthetic numbers.

Known-valid numbers are built here with an independent implementation of the published control
digit rules (Skatteetaten: weights 3 7 6 1 8 9 4 5 2 and 5 4 3 2 7 6 5 4 3 2; Brønnøysund:
weights 3 2 7 6 5 4 3 2), so the tests do not trust the code under test to make their inputs.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipfhir.mappings.identifiers import (
    birth_date,
    is_synthetic,
    is_valid_dnr,
    is_valid_fnr,
    is_valid_orgnr,
    is_valid_person_number,
    synthetic_fnr,
    synthetic_orgnr,
)


def _control(digits: str, weights: tuple[int, ...]) -> int | None:
    """11 - (weighted sum mod 11); 11 means 0, 10 means 'no valid number with these digits'."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return {0: 0, 1: None}.get(remainder, 11 - remainder)


def _person_number(nine: str) -> str | None:
    """The 11-digit number for the first nine digits, or None when no control digit exists."""
    c1 = _control(nine, (3, 7, 6, 1, 8, 9, 4, 5, 2))
    if c1 is None:
        return None
    c2 = _control(nine + str(c1), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    return None if c2 is None else f"{nine}{c1}{c2}"


def _first_valid(day: int, month: int, yy: int, individuals: range) -> str:
    for individual in individuals:
        number = _person_number(f"{day:02d}{month:02d}{yy:02d}{individual:03d}")
        if number is not None:
            return number
    raise AssertionError("no control digits in range")  # pragma: no cover


def test_worked_example_of_the_control_digits() -> None:
    # synthetic 1 January 1980 (month + 80), individual number 123:
    # k1 = 11 - (0*3+1*7+8*6+1*1+8*8+0*9+1*4+2*5+3*2 = 140 -> 140 % 11 = 8) = 3
    # k2 = 11 - (0*5+1*4+8*3+1*2+8*7+0*6+1*5+2*4+3*3+3*2 = 114 -> 114 % 11 = 4) = 7
    assert _person_number("018180123") == "01818012337"
    assert is_valid_fnr("01818012337")
    assert birth_date("01818012337") == dt.date(1980, 1, 1)


def test_worked_example_of_an_organisation_number() -> None:
    # 92772656: 9*3+2*2+7*7+7*6+2*5+6*4+5*3+6*2 = 183 -> 183 % 11 = 7 -> control 4
    assert _control("92772656", (3, 2, 7, 6, 5, 4, 3, 2)) == 4
    assert is_valid_orgnr("927726564")
    assert not is_valid_orgnr("927726565")


@pytest.mark.parametrize(
    ("day", "month", "yy", "individuals", "year"),
    [
        (1, 1, 0, range(0, 500), 1900),  # 000-499: 1900-1999
        (31, 12, 99, range(0, 500), 1999),
        (15, 6, 54, range(500, 750), 1854),  # 500-749 with 54-99: 1854-1899
        (15, 6, 99, range(500, 750), 1899),
        (29, 2, 0, range(500, 1000), 2000),  # 500-999 with 00-39: 2000-2039
        (1, 3, 39, range(500, 1000), 2039),
        (1, 3, 40, range(900, 1000), 1940),  # 900-999 with 40-99: 1940-1999
        (1, 3, 99, range(900, 1000), 1999),
    ],
)
def test_century_follows_the_individual_number(
    day: int, month: int, yy: int, individuals: range, year: int
) -> None:
    number = _first_valid(day, month + 80, yy, individuals)  # synthetic: never a real person
    assert is_valid_fnr(number)
    assert birth_date(number) == dt.date(year, month, day)


def test_d_number_adds_forty_to_the_day() -> None:
    number = _first_valid(17 + 40, 5 + 80, 85, range(0, 500))
    assert is_valid_dnr(number)
    assert not is_valid_fnr(number)
    assert is_valid_person_number(number)
    assert birth_date(number) == dt.date(1985, 5, 17)


@pytest.mark.parametrize(
    ("day", "month", "yy"),
    [(30, 2, 80), (29, 2, 81), (0, 5, 80), (32, 1, 80), (1, 13, 80), (1, 0, 80)],
)
def test_impossible_dates_are_not_valid(day: int, month: int, yy: int) -> None:
    number = _first_valid(day, month + 80, yy, range(0, 500))
    assert birth_date(number) is None
    assert not is_valid_fnr(number)
    assert not is_valid_person_number(number)


@pytest.mark.parametrize("text", ["", "0101801237", "010180123711", "0101801237a", "01018012371 "])
def test_wrong_length_or_non_digits_are_not_numbers(text: str) -> None:
    assert not is_valid_fnr(text)
    assert not is_valid_dnr(text)
    assert birth_date(text) is None
    assert not is_synthetic(text)


@pytest.mark.parametrize("text", ["", "92772656", "9277265640", "92772656x"])
def test_wrong_length_or_non_digits_are_not_organisation_numbers(text: str) -> None:
    assert not is_valid_orgnr(text)


def test_synthetic_numbers_are_recognised_by_the_month() -> None:
    # the real-format example is dated 1854: no living person has such a number
    skatteetaten = _first_valid(14, 5 + 80, 54, range(500, 750))
    nav = _first_valid(14, 5 + 40, 54, range(500, 750))
    real_format = _first_valid(14, 5, 54, range(500, 750))
    assert is_synthetic(skatteetaten) and is_synthetic(nav)
    assert not is_synthetic(real_format)
    assert birth_date(skatteetaten) == birth_date(nav) == birth_date(real_format)


DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2039, 12, 31))


@given(born=DATES, seed=st.integers(0, 2**32), d_number=st.booleans())
def test_synthetic_fnr_validates_and_encodes_its_date(
    born: dt.date, seed: int, d_number: bool
) -> None:
    number = synthetic_fnr(born, random.Random(seed), d_number=d_number)
    assert is_synthetic(number)
    assert is_valid_dnr(number) if d_number else is_valid_fnr(number)
    assert birth_date(number) == born
    assert int(number[2:4]) == born.month + 80
    assert _person_number(number[:9]) == number  # the independent implementation agrees


def test_synthetic_fnr_is_reproducible_from_the_seed() -> None:
    born = dt.date(2018, 5, 14)
    assert synthetic_fnr(born, random.Random(1)) == synthetic_fnr(born, random.Random(1))


@pytest.mark.parametrize("born", [dt.date(1899, 12, 31), dt.date(2040, 1, 1)])
def test_synthetic_fnr_refuses_years_it_cannot_encode(born: dt.date) -> None:
    with pytest.raises(ValueError):
        synthetic_fnr(born, random.Random(0))


@given(born=DATES, seed=st.integers(0, 2**32), data=st.data())
def test_every_single_digit_error_is_detected(
    born: dt.date, seed: int, data: st.DataObject
) -> None:
    number = synthetic_fnr(born, random.Random(seed))
    position = data.draw(st.integers(0, 10))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    corrupted = number[:position] + digit + number[position + 1 :]
    assert not is_valid_fnr(corrupted)
    assert not is_valid_dnr(corrupted)


@given(seed=st.integers(0, 2**32))
def test_synthetic_orgnr_is_valid(seed: int) -> None:
    number = synthetic_orgnr(random.Random(seed))
    assert len(number) == 9 and number.isdigit()
    assert is_valid_orgnr(number)
    assert _control(number[:8], (3, 2, 7, 6, 5, 4, 3, 2)) == int(number[8])


@given(seed=st.integers(0, 2**32), data=st.data())
def test_every_single_digit_orgnr_error_is_detected(seed: int, data: st.DataObject) -> None:
    number = synthetic_orgnr(random.Random(seed))
    position = data.draw(st.integers(0, 8))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not is_valid_orgnr(number[:position] + digit + number[position + 1 :])


@given(
    nine=st.text("0123456789", min_size=9, max_size=9),
    last=st.text("0123456789", min_size=2, max_size=2),
)
def test_checksum_agrees_with_the_reference_implementation(nine: str, last: str) -> None:
    number = nine + last
    reference_ok = _person_number(nine) == number and birth_date(number) is not None
    assert is_valid_person_number(number) == reference_ok
