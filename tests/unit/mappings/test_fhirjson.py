"""Strict FHIR JSON reading and writing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from ipfhir.mappings.errors import FormatError
from ipfhir.mappings.fhirjson import dump_json, number_text, parse_json


def _refused(data: bytes | str, message_id: str, **kwargs: Any) -> FormatError:
    with pytest.raises(FormatError) as caught:
        parse_json(data, **kwargs)
    assert caught.value.issues[0].message_id == message_id
    return caught.value


def test_reads_an_object_with_decimals_kept() -> None:
    data = '{"resourceType":"Observation","valueQuantity":{"value":1.50},"n":3,"x":1e3}'
    value = parse_json(data.encode("utf-8"))
    assert value["valueQuantity"]["value"] == Decimal("1.50")
    assert str(value["valueQuantity"]["value"]) == "1.50"
    assert value["n"] == 3 and type(value["n"]) is int
    assert dump_json(value) == data.replace("1e3", "1E+3")


def test_norwegian_and_sami_text_is_kept_unescaped() -> None:
    text = "Bjørn Ærø Åsgård – Ŋ ŋ Š š Ž ž Č č Đ đ Ŧ ŧ Á á"
    value = parse_json(json.dumps({"resourceType": "Patient", "t": text}).encode("utf-8"))
    assert value["t"] == text
    assert text in dump_json(value)
    assert parse_json(dump_json(value, pretty=True)) == value


def test_invalid_utf8_refused() -> None:
    _refused(b'{"a":"\xc3\x28"}', "IP-2001")


def test_duplicate_keys_refused() -> None:
    error = _refused('{"resourceType":"Patient","id":"a","id":"b"}', "IP-2003")
    assert "'id'" in error.issues[0].text


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_refused(constant: str) -> None:
    _refused(f'{{"a":{constant}}}', "IP-2004")


def test_nesting_limit() -> None:
    ok = '{"a":' * 63 + "[1]" + "}" * 63  # 64 levels
    assert parse_json(ok, max_depth=64)
    _refused('{"a":' * 64 + "[1]" + "}" * 64, "IP-2005", max_depth=64)
    _refused("[" * 100_000, "IP-2005")  # refused before the recursive parser sees it


def test_brackets_in_strings_do_not_count_as_nesting() -> None:
    assert parse_json('{"a":"[[[[{{{{\\"[[["}', max_depth=2) == {"a": '[[[[{{{{"[[['}


@pytest.mark.parametrize("data", ["[]", '"x"', "1", "null"])
def test_top_level_must_be_an_object(data: str) -> None:
    _refused(data, "IP-2006")


def test_size_limit() -> None:
    body = json.dumps({"resourceType": "Patient", "id": "x" * 100})
    assert parse_json(body, max_bytes=len(body))
    _refused(body, "IP-2007", max_bytes=len(body) - 1)
    _refused("{" + '"æ":1}', "IP-2007", max_bytes=7)  # counted in UTF-8 bytes, not characters


@pytest.mark.parametrize("data", ["{", '{"a":}', '{"a":1,}', "{'a':1}", '{"a":' + "9" * 5000 + "}"])
def test_malformed_refused(data: str) -> None:
    _refused(data, "IP-2002")


def test_bom_is_tolerated() -> None:
    assert parse_json(b'\xef\xbb\xbf{"resourceType":"Patient"}') == {"resourceType": "Patient"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1.50"), "1.50"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("-0.0"), "-0.0"),
        (Decimal("1E+3"), "1E+3"),
        (Decimal("1E-100000"), "1E-100000"),  # not expanded to 100000 digits
        (0.1, "0.1"),
        (12, "12"),
    ],
)
def test_number_text(value: Decimal | float | int, text: str) -> None:
    assert number_text(value) == text


def test_dump_refuses_non_finite_and_unknown_values() -> None:
    with pytest.raises(FormatError):
        dump_json({"a": float("nan")})
    with pytest.raises(FormatError):
        dump_json({"a": Decimal("Infinity")})
    with pytest.raises(TypeError):
        dump_json({"a": {1, 2}})


def test_dump_matches_json_module_for_plain_data() -> None:
    value = {"a": [1, 2.5, None, True, False, 'x\n"y"\u0001'], "b": {}, "c": []}
    assert dump_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert dump_json(value, pretty=True) == json.dumps(value, ensure_ascii=False, indent=2)
