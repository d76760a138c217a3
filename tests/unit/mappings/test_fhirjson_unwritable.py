"""A number JSON cannot carry (NaN, ±Infinity) is never written as ``NaN`` or ``Infinity``,
which FHIR readers refuse: writing it is IP-2008, for the whole value (no element to point at).
The reader refuses them on the way in (IP-2004), so only the server's own code could make one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ipfhir.mappings.errors import FormatError
from ipfhir.mappings.fhirjson import dump_json, number_text


@pytest.mark.parametrize(
    "value",
    [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), float("nan"), float("inf")],
    ids=str,
)
def test_a_number_json_cannot_carry_is_refused(value: Decimal | float) -> None:
    observation = {"resourceType": "Observation", "valueQuantity": {"value": value}}
    with pytest.raises(FormatError) as caught:
        dump_json(observation)
    [issue] = caught.value.issues
    assert (issue.message_id, issue.expression, issue.code) == ("IP-2008", (), "value")
    with pytest.raises(FormatError):
        number_text(value)


@pytest.mark.parametrize("value", [Decimal("1.50"), Decimal("-0"), 1e308, -7])
def test_finite_numbers_are_written(value: Decimal | float) -> None:
    assert number_text(value) in dump_json({"resourceType": "Observation", "v": value})
