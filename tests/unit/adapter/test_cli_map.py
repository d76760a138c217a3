"""``ipfhir map``: both directions, both formats, and clear errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfhir.adapter.cli.main import main
from ipfhir.mappings.plan_io import plan_from_json

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
PLAN = sorted((FIXTURES / "plans").glob("*.plan.json"))[0]


def test_plan_to_fhir_json_then_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bundle.json"
    assert main(["map", "plan-to-fhir", str(PLAN), "-o", str(out)]) == 0
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    assert main(["map", "fhir-to-plan", str(out)]) == 0
    printed = capsys.readouterr().out
    assert plan_from_json(printed) == plan_from_json(PLAN.read_bytes())


def test_plan_to_fhir_xml_to_stdout_and_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["map", "plan-to-fhir", str(PLAN), "--format", "xml"]) == 0
    xml = capsys.readouterr().out
    assert xml.startswith('<Bundle xmlns="http://hl7.org/fhir">')
    path = tmp_path / "bundle.xml"
    path.write_text(xml, encoding="utf-8")
    assert main(["map", "fhir-to-plan", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == json.loads(PLAN.read_text("utf-8"))["id"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "IP-2002"),
        ('{"id": "x"}', "IP-1000"),
        ("[]", "IP-2006"),
    ],
)
def test_bad_plan_gives_message_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    assert main(["map", "plan-to-fhir", str(path)]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_missing_file_and_wrong_direction(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["map", "plan-to-fhir", str(tmp_path / "nope.json")]) == 1
    assert "No such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["map", "sideways", "x"])
    assert exit_info.value.code == 2


def test_plan_json_given_as_bundle_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", "fhir-to-plan", str(PLAN)]) == 1
    assert "IP-2101" in capsys.readouterr().err
