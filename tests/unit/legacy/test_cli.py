"""``ipfhir legacy read|write|validate``: exit codes 0/1/2, one line per refusal, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfhir.adapter.cli.main import main
from ipfhir.mappings.legacy import model_from_json, read_message
from tests.unit.legacy.conftest import FIXTURES

NOTICE = FIXTURES / "dialog-1.1-behov-for-ip.xml"
HOSTILE = FIXTURES / "hostile"


def test_read_then_write_gives_the_same_message(tmp_path: Path) -> None:
    as_json, as_xml = tmp_path / "m.json", tmp_path / "m.xml"
    assert main(["legacy", "read", "--model", str(NOTICE), "-o", str(as_json)]) == 0
    shape = json.loads(as_json.read_text(encoding="utf-8"))
    assert shape["kind"] == "MsgHead"
    assert shape["patient"]["idents"][0]["id"] == "12835708843"
    assert shape["documents"][0]["content"]["kind"] == "Dialogmelding"
    assert "Åse Kjærstin" in as_json.read_text(encoding="utf-8")  # not \u-escaped
    assert main(["legacy", "write", str(as_json), "-o", str(as_xml)]) == 0
    assert read_message(as_xml.read_bytes()) == read_message(NOTICE.read_bytes())
    assert model_from_json(shape) == read_message(NOTICE.read_bytes())


def test_read_prints_json_to_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["legacy", "read", "--model", str(FIXTURES / "apprec-1.1-avvist.xml")]) == 0
    shape = json.loads(capsysbinary.readouterr().out.decode("utf-8"))
    assert shape["kind"] == "AppRec" and shape["status"] == {"v": "2", "dn": "Avvist"}
    assert [e["v"] for e in shape["errors"]] == ["E35", "X99"]


def test_validate_one_line_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    good = FIXTURES / "apprec-1.1-ok.xml"
    assert main(["legacy", "validate", str(good), str(NOTICE)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{good}: OK (AppRec)",
        f"{NOTICE}: OK (MsgHead 1.2)",
    ]
    bad = [HOSTILE / n for n in ("xxe-file.xml", "schema-invalid.xml", "fnr-checksum.xml")]
    assert main(["legacy", "validate", str(good), *map(str, bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "OK (AppRec)",
        "IP-6202",
        "IP-6211",
        "IP-6220",
    ]


@pytest.mark.parametrize(
    ("name", "message_id"),
    [
        ("xxe-file.xml", "IP-6202"),
        ("billion-laughs.xml", "IP-6202"),
        ("wrong-namespace.xml", "IP-6210"),
        ("schema-invalid.xml", "IP-6211"),
    ],
)
def test_refusals_exit_1_with_one_line(
    name: str, message_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["legacy", "read", str(HOSTILE / name)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"ipfhir: {message_id}: ")
    assert "Traceback" not in captured.err


def test_oversize_file_is_refused_without_reading_it_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(NOTICE.read_bytes() + b" " * 2000)
    assert main(["legacy", "read", "--max-bytes", "1000", str(big)]) == 1
    assert capsys.readouterr().err.startswith("ipfhir: IP-6201: ")


@pytest.mark.parametrize(
    ("content", "message_id"),
    [
        ("not json", "IP-6240"),
        ('{"kind": "MsgHead", "kind": "AppRec"}', "IP-6240"),
        ('{"kind": "Plan"}', "IP-6240"),
        ('{"kind": "AppRec", "id": 7}', "IP-6241"),
        ('{"kind": "AppRec", "colour": "blue"}', "IP-6242"),
        ('{"kind": "AppRec"}', "IP-6243"),
    ],
)
def test_write_refuses_bad_json(
    content: str, message_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.json"
    path.write_text(content, encoding="utf-8")
    assert main(["legacy", "write", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ipfhir: {message_id}: ") and err.count("\n") == 1


def test_write_refuses_a_model_that_would_not_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shape = json.loads(main_read(NOTICE, tmp_path))
    shape["documents"][0]["content"]["requests"] = [{"type": {"v": "1"}}]  # notes and requests
    path = tmp_path / "both.json"
    path.write_text(json.dumps(shape), encoding="utf-8")
    assert main(["legacy", "write", str(path)]) == 1
    assert capsys.readouterr().err.startswith("ipfhir: IP-6230: ")


def main_read(path: Path, tmp_path: Path) -> str:
    out = tmp_path / "read.json"
    assert main(["legacy", "read", "--model", str(path), "-o", str(out)]) == 0
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv",
    [
        ["legacy"],
        ["legacy", "frob"],
        ["legacy", "read"],
        ["legacy", "read", "/no/such/file.xml"],
        ["legacy", "write", "/no/such/file.json"],
        ["legacy", "validate", "/no/such/file.xml"],
        ["legacy", "read", "--max-bytes", "many", "x.xml"],
    ],
)
def test_unusable_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_hostile_arguments_and_json_end_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "dyp.json"
    deep.write_text("[" * 100_000)
    assert main(["legacy", "write", str(deep)]) == 1
    assert capsys.readouterr().err.strip() == "ipfhir: IP-6240: Not JSON: nested too deep"
    message = str(FIXTURES / "apprec-1.1-ok.xml")
    for limit in ("99999999999999999999", "-1", "0", "²"):
        with pytest.raises(SystemExit) as done:
            main(["legacy", "read", message, "--max-bytes", limit])
        assert done.value.code == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert "--max-bytes" in line and "Traceback" not in line


@pytest.mark.parametrize(
    "name",
    ["dialog-1.1-behov-for-ip.xml", "apprec-1.1-avvist.xml", "dialog-1.1-dnummer-foresporsel.xml"],
)
def test_read_gives_the_fhir_message_bundle_and_write_takes_it_back(
    name: str, tmp_path: Path
) -> None:
    from ipfhir.mappings.legacy.fhir import to_fhir

    as_json, as_xml = tmp_path / "b.json", tmp_path / "m.xml"
    assert main(["legacy", "read", str(FIXTURES / name), "-o", str(as_json)]) == 0
    bundle = json.loads(as_json.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "message"
    assert main(["legacy", "write", str(as_json), "-o", str(as_xml)]) == 0
    assert to_fhir(read_message(as_xml.read_bytes())) == bundle


def test_write_refuses_a_bundle_without_xml_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection"}), encoding="utf-8")
    assert main(["legacy", "write", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ipfhir: IP-6140: ") and err.count("\n") == 1


def test_receive_needs_this_adapters_own_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "inn"
    folder.mkdir()
    argv = ["legacy", "receive", "--as", "974471612", "--folder", str(folder), "--once"]
    assert main([*argv, "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ipfhir: IP-6159: Organisation 974471612") and err.count("\n") == 1
