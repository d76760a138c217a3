"""``ipfhir validate``: JSON lines per resource, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfhir.adapter.cli.main import main

PATIENT = {
    "resourceType": "Patient",
    "id": "ande",
    "name": [{"family": "Áslat", "given": ["Ánde"]}],
}


def _write(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_valid_file_exits_0_with_one_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "pasient.json", PATIENT)
    assert main(["validate", "--format", "json", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    record = json.loads(lines[0])
    assert len(lines) == 1
    assert (record["file"], record["resourceType"], record["id"], record["valid"]) == (
        str(path),
        "Patient",
        "ande",
        True,
    )
    assert record["outcome"]["resourceType"] == "OperationOutcome"


def test_folder_and_bundle_give_one_line_per_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = dict(PATIENT, id="brita", gender="kvinne")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:7d5a1c1e-8a4e-4f0e-9b7a-1f2e3d4c5b6a", "resource": broken}],
    }
    _write(tmp_path, "a.json", PATIENT)
    _write(tmp_path, "b.json", bundle)
    assert main(["validate", "--format", "json", str(tmp_path)]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["resourceType"], r["valid"]) for r in records] == [
        ("Patient", True),
        ("Bundle", True),
        ("Patient", False),
    ]
    issue = records[2]["outcome"]["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "IP-3010"
    assert issue["expression"] == ["Patient.gender"]


def test_unusable_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "finnes-ikke.json")]) == 2
    path = _write(tmp_path, "p.json", PATIENT)
    assert main(["validate", "--profile", "https://ip-fhir-adapter.no/fhir/x", str(path)]) == 2
    assert "unknown profile" in capsys.readouterr().err


def test_unreadable_json_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ødelagt.json"
    path.write_text("{ikke json", encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    assert "INVALID" in capsys.readouterr().out
