"""The R4B model round trip: the 101 examples, lexical forms kept, coercions refused."""

from __future__ import annotations

import copy
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ipfhir.mappings.errors import FormatError, MappingError
from ipfhir.mappings.fhir_r4 import (
    MESSAGES,
    check_resource,
    parse_resource,
    r4_elements,
    resource_to_dict,
)
from ipfhir.mappings.fhirjson import dump_json, parse_json

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = Path(
    os.environ.get("IPFHIR_R4_EXAMPLES", ROOT / "fixtures" / "third-party" / "r4-examples")
)
JSON_FILES = sorted((EXAMPLES / "json").glob("*.json"))


@pytest.mark.parametrize("json_file", JSON_FILES, ids=lambda p: p.stem)
def test_every_official_example_round_trips_exactly(json_file: Path) -> None:
    resource = parse_json(json_file.read_bytes())
    original = copy.deepcopy(resource)
    out = check_resource(resource)
    assert out == original
    assert dump_json(out) == dump_json(original)  # lexical forms, decimals included
    assert json.loads(dump_json(out)) == json.loads(json_file.read_bytes())
    assert resource == original  # the input is not modified


def test_there_are_101_examples() -> None:
    assert len(JSON_FILES) == 101


def test_gpvisit_keeps_its_utc_offset() -> None:
    resource = parse_json((EXAMPLES / "json" / "CarePlan-gpvisit.json").read_bytes())
    assert resource["period"]["start"] == "2013-01-01T10:30:00+00:00"
    assert check_resource(resource)["period"]["start"] == "2013-01-01T10:30:00+00:00"
    # what fhir.resources itself writes (the reason for keeping the input's form)
    assert resource_to_dict(parse_resource(resource))["period"]["start"] == "2013-01-01T10:30:00Z"


def _plan(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/ip-1", "display": "Ánne Ŋuolla Šaba"},
        **extra,
    }


def test_decimal_precision_and_temporal_forms_are_kept() -> None:
    text = json.dumps(
        _plan(
            period={"start": "2024-03-01T08:00:00.120+01:00", "end": "2024-12-31T23:59:59-00:00"},
            activity=[
                {"detail": {"status": "scheduled", "dailyAmount": {"value": 1.50, "unit": "l"}}}
            ],
        )
    ).replace("1.5,", "1.50,")
    out = check_resource(parse_json(text))
    assert out["period"] == {
        "start": "2024-03-01T08:00:00.120+01:00",
        "end": "2024-12-31T23:59:59-00:00",
    }
    amount = out["activity"][0]["detail"]["dailyAmount"]["value"]
    assert isinstance(amount, Decimal) and str(amount) == "1.50"
    assert '"value":1.50' in dump_json(out)
    assert out["subject"]["display"] == "Ánne Ŋuolla Šaba"


def test_floats_and_ints_are_accepted_for_decimals() -> None:
    out = check_resource(
        _plan(activity=[{"detail": {"status": "scheduled", "dailyAmount": {"value": 2}}}])
    )
    assert out["activity"][0]["detail"]["dailyAmount"]["value"] == 2


@pytest.mark.parametrize("value", ["yes", "true", "on", 1, 0, "1"])
def test_non_json_booleans_are_refused(value: Any) -> None:
    with pytest.raises(MappingError) as caught:
        parse_resource({"resourceType": "Patient", "active": value})
    issue = caught.value.issues[0]
    assert issue.message_id == "IP-2024"
    assert issue.expression == ("Patient.active",)


def test_booleans_deep_in_extensions_are_refused_too() -> None:
    patient = {
        "resourceType": "Patient",
        "_birthDate": {"extension": [{"url": "http://example.org/x", "valueBoolean": "no"}]},
    }
    with pytest.raises(MappingError) as caught:
        check_resource(patient)
    assert caught.value.issues[0].expression == ("Patient.birthDate.extension[0].valueBoolean",)


@pytest.mark.parametrize(("value", "message_id"), [("2", "IP-2025"), (2.0, "IP-2025")])
def test_integers_must_be_json_integers(value: Any, message_id: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_resource({"resourceType": "Patient", "multipleBirthInteger": value})
    assert caught.value.issues[0].message_id == message_id
    assert caught.value.issues[0].expression == ("Patient.multipleBirthInteger",)


@pytest.mark.parametrize(
    ("extra", "expression"),
    [
        ({"created": 20200101}, "CarePlan.created"),  # read as a Unix timestamp otherwise
        (
            {"activity": [{"detail": {"status": "scheduled", "dailyAmount": {"value": "1.5"}}}]},
            "CarePlan.activity[0].detail.dailyAmount.value",
        ),
    ],
)
def test_other_coercions_are_refused(extra: dict[str, Any], expression: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_resource(_plan(**extra))
    assert caught.value.issues[0].message_id == "IP-2025"
    assert caught.value.issues[0].expression == (expression,)


def test_validation_errors_carry_fhirpath_and_ids() -> None:
    patient = {
        "resourceType": "Patient",
        "contact": [{"name": {"family": 7}}],
        "name": [{"_given": [{"id": 5}]}],
        "kallenavn": "Per",
    }
    with pytest.raises(MappingError) as caught:
        parse_resource(patient)
    found = {(i.message_id, i.expression[0]) for i in caught.value.issues}
    assert found == {
        ("IP-2022", "Patient.contact[0].name.family"),
        ("IP-2022", "Patient.name[0].given[0].id"),
        ("IP-2023", "Patient.kallenavn"),
    }
    outcome = caught.value.outcome()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"]


def test_missing_required_element() -> None:
    with pytest.raises(MappingError) as caught:
        parse_resource({"resourceType": "CarePlan", "intent": "plan", "subject": {"display": "x"}})
    assert ("IP-2027", ("CarePlan.status",)) in {
        (i.message_id, i.expression) for i in caught.value.issues
    }


def test_elements_the_model_would_drop_are_refused() -> None:
    with pytest.raises(MappingError) as caught:
        check_resource({"resourceType": "Patient", "name": [{"given": []}]})
    assert caught.value.issues[0].message_id == "IP-2026"
    assert caught.value.issues[0].expression == ("Patient.name[0].given",)


@pytest.mark.parametrize(
    ("data", "message_id"),
    [
        ([], "IP-2020"),
        ({"id": "x"}, "IP-2020"),
        ({"resourceType": 5}, "IP-2020"),
        ({"resourceType": "Pasient"}, "IP-2021"),
        ({"resourceType": "HumanName"}, "IP-2021"),
        ({"resourceType": "DomainResource"}, "IP-2021"),
    ],
)
def test_not_a_resource(data: Any, message_id: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_resource(data)
    assert caught.value.issues[0].message_id == message_id


def test_catalogue_and_table() -> None:
    assert all(key.startswith("IP-20") for key in MESSAGES)
    table = r4_elements()
    assert table["fhirVersion"] == "4.0.1"
    assert "CarePlan" in table["resources"] and "DomainResource" not in table["resources"]
    assert table["types"]["Extension"]["url"] == "@uri"
    assert table["types"]["Questionnaire.item"]["item"] == "Questionnaire.item*"
