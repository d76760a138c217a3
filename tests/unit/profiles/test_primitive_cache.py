"""Pattern primitives remember the values they found fine: a remembered answer is the answer the
lexical check gives, whatever came before (bad values, the set emptied when full, other types)."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.profiles.validator import primitives

# (type, a value it accepts, values it refuses)
CASES: list[tuple[str, str, list[Any]]] = [
    ("code", "final", ["final ", " final", "fi  nal", "", 7, None]),
    ("uri", "http://snomed.info/sct", ["http://a b", "\u00a0x"]),
    ("id", "abc-1.2", ["abc_1", "x" * 65]),
    ("dateTime", "2024-02-29T10:00:00+01:00", ["2023-02-29", "2024-02-29T10:00:00"]),
    ("date", "2024-02-29", ["2023-02-29", "2024-13-01"]),
]


@pytest.mark.parametrize(("type_code", "good", "bad"), CASES)
def test_answers_do_not_change_when_asked_again(type_code: str, good: str, bad: list[Any]) -> None:
    check = primitives.PRIMITIVES[type_code]
    first = [check(v) for v in [good, *bad]]
    assert first[0] is None and all(problem is not None for problem in first[1:])
    for _ in range(3):
        assert [check(v) for v in [good, *bad]] == first


def test_a_full_set_is_emptied_and_answers_stay_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(primitives, "_GOOD_MAX", 4)
    check = primitives._pattern(primitives._CODE, "bad code")  # a fresh, empty set
    values = [f"c{i}" for i in range(10)]
    for _ in range(2):
        assert [check(v) for v in values] == [None] * 10
        assert check("a  b") == "bad code"


def test_long_values_are_checked_every_time() -> None:
    check = primitives._pattern(primitives._URI, "bad uri")
    long_value = "x" * (primitives._GOOD_LENGTH + 1)
    assert check(long_value) is None
    assert check(long_value + " y") == "bad uri"


def test_a_str_subclass_is_checked_not_remembered() -> None:
    class Text(str):
        pass

    check = primitives._pattern(primitives._CODE, "bad code")
    assert check(Text("ok")) is None
    assert check(Text("not  ok")) == "bad code"
