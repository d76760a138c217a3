"""The model's JSON form is reversible and keeps its documented shape; receipts are built from
their arguments only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ipfhir.mappings.errors import MappingError
from ipfhir.mappings.legacy import (
    AppRec,
    Message,
    model_from_json,
    model_to_json,
    read_message,
    receipt_for,
    write,
)
from ipfhir.mappings.legacy.model import Code
from tests.unit.legacy.conftest import FIXTURES, own_examples, reference_examples


@pytest.mark.parametrize("path", reference_examples() + own_examples(), ids=lambda p: p.name)
def test_json_round_trip(path: Path) -> None:
    model = read_message(path.read_bytes())
    text = json.dumps(model_to_json(model), ensure_ascii=False)
    assert model_from_json(json.loads(text)) == model


def test_shape_leaves_out_empty_fields_and_tags_content() -> None:
    shape = model_to_json(read_message((FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()))
    assert list(shape)[:4] == ["kind", "msg_type", "gen_date", "msg_id"]
    assert shape["gen_date"] == "2026-11-30T14:05:00+01:00"
    assert "conversation" not in shape and "other_receivers" not in shape
    content = shape["documents"][0]["content"]
    assert content["kind"] == "Dialogmelding" and content["version"] == "1.1"
    assert content["notes"][0]["date"] == "2026-11-30"
    assert content["notes"][0]["topic_code"] == {
        "v": "6",
        "s": "2.16.578.1.12.4.1.1.7322",
        "dn": "Henvendelse om pasient",
    }


def test_json_errors_point_at_the_field() -> None:
    shape = model_to_json(read_message((FIXTURES / "apprec-1.1-ok.xml").read_bytes()))
    shape["original"]["issue_date"] = "yesterday"
    with pytest.raises(MappingError) as caught:
        model_from_json(shape)
    assert "IP-6241" in str(caught.value) and "$.original.issue_date" in str(caught.value)


@pytest.mark.parametrize(
    ("outcome", "status"), [("ok", "1"), ("rejected", "2"), ("ok-with-errors", "3")]
)
def test_receipt_for_a_message(outcome: str, status: str) -> None:
    message = read_message((FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes())
    assert isinstance(message, Message)
    when = dt.datetime(2026, 11, 30, 14, 6, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    errors = () if outcome == "ok" else (Code(v="X99", s="2.16.578.1.12.4.1.1.8221", ot="Feil"),)
    receipt = receipt_for(
        message, receipt_id="kvittering-1", gen_date=when, outcome=outcome, errors=errors
    )
    assert receipt.status.v == status and receipt.outcome == outcome
    assert receipt.original.id == message.msg_id and receipt.original.issue_date == message.gen_date
    assert receipt.sender.institution is not None
    assert receipt.sender.institution.id == "9990010"  # the message's receiver answers
    assert receipt.sender.institution.departments[0].id == "9990011"
    again = read_message(write(receipt))
    assert isinstance(again, AppRec) and again == receipt
