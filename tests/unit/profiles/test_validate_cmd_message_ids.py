"""``ipfhir validate`` names its refusals by message id: a file it cannot read is IP-3030 (with
no element to point at), an installation without the profile definitions is IP-4604 and checks
nothing (rather than calling every resource invalid)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.cli.main import main
from ipfhir.profiles.validator.api import Validator


def _records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize(
    ("text", "why"),
    [("{ikke json", "not JSON"), ('["Åse", "Ødegård"]', "not a JSON object")],
)
def test_a_file_that_is_no_json_object_is_ip_3030(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, why: str
) -> None:
    path = tmp_path / "ødelagt.json"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", "--format", "json", str(path)]) == 1
    [record] = _records(capsys.readouterr().out)
    [issue] = record["outcome"]["issue"]
    assert record["valid"] is False and issue["severity"] == "error"
    assert issue["details"]["coding"][0]["code"] == "IP-3030"
    assert "expression" not in issue  # the file as a whole: no element to name
    assert why in issue["details"]["text"]


def test_an_installation_without_the_definitions_checks_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lacking = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient"
    monkeypatch.setattr(Validator, "missing_definitions", lambda _self: [lacking])
    path = tmp_path / "pasient.json"
    path.write_text(json.dumps({"resourceType": "Patient", "gender": "female"}), encoding="utf-8")
    assert main(["validate", "--format", "json", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("ipfhir validate: IP-4604: ") and lacking in captured.err
