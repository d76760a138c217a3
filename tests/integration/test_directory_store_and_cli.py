"""The directory in the database (SQLite and PostgreSQL) and ``ipfhir directory``: load, list,
show, route; refusals are one IP-60xx line on stderr and exit 1, never a traceback."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.cli.main import main
from ipfhir.adapter.directory import DirectoryFileError, NoRoute, SqlDirectory, parse_directory
from ipfhir.adapter.store import make_engine, migrate
from tests.pg import PG_URL, postgres_schema
from tests.unit.directory.test_parse import KAUTOKEINO_KE, TROMSO_KE, UNJARGA, UNN, fixture


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path / 'd.sqlite3'}")
        migrate(made)
        yield made
        made.dispose()
        return
    with postgres_schema("ipfhir_dir") as schema:
        made = make_engine(PG_URL, schema=schema)
        migrate(made)
        yield made
        made.dispose()


def _ids(err: Any) -> list[str]:
    return [i.message_id for i in err.issues]


def test_route_by_kommune_finds_the_coordinating_unit(engine: Engine) -> None:
    directory = SqlDirectory(engine)
    directory.load(parse_directory(fixture()))
    assert directory.route(kommunenummer="5501").orgnr == TROMSO_KE  # not UNN, also 5501
    assert directory.route(kommunenummer="5612").orgnr == KAUTOKEINO_KE
    entry = directory.route(orgnr=UNN)
    assert entry.endpoint is not None
    assert entry.endpoint.address == "https://ip.unn.example.no/fhir"
    assert [e.orgnr for e in directory.entries()] == sorted(
        [TROMSO_KE, KAUTOKEINO_KE, UNJARGA, UNN]
    )


@pytest.mark.parametrize(
    ("target", "message_id"),
    [
        ({"kommunenummer": "5636"}, "IP-6001"),  # Unjárga is in it, but not a KE
        ({"kommunenummer": "0301"}, "IP-6001"),
        ({"kommunenummer": "301"}, "IP-6003"),
        ({"orgnr": "923609016"}, "IP-6002"),  # valid checksum, not in the directory
        ({"orgnr": "953761107"}, "IP-6004"),
        ({}, "IP-6005"),
        ({"orgnr": UNN, "kommunenummer": "5501"}, "IP-6005"),
    ],
)
def test_no_route_is_a_clear_error(engine: Engine, target: Any, message_id: str) -> None:
    directory = SqlDirectory(engine)
    directory.load(parse_directory(fixture()))
    with pytest.raises(NoRoute) as caught:
        directory.route(**target)
    assert _ids(caught.value) == [message_id]


def test_a_suspended_endpoint_is_no_route(engine: Engine) -> None:
    bundle = fixture()
    bundle["entry"][1]["resource"]["status"] = "suspended"
    directory = SqlDirectory(engine)
    directory.load(parse_directory(bundle))
    with pytest.raises(NoRoute) as caught:
        directory.route(kommunenummer="5501")
    assert _ids(caught.value) == ["IP-6001"]
    stored = directory.get(TROMSO_KE)
    assert stored is not None and stored.routable is False


def test_a_load_replaces_an_organisation_and_refuses_a_second_unit(engine: Engine) -> None:
    directory = SqlDirectory(engine)
    directory.load(parse_directory(fixture()))
    moved = fixture()
    moved["entry"] = moved["entry"][4:6]  # Unjárga alone, now made the KE of Tromsø
    unjarga = moved["entry"][0]["resource"]
    unjarga["type"] = copy.deepcopy(fixture()["entry"][0]["resource"]["type"])
    unjarga["address"][0]["_district"]["extension"][0]["valueCoding"]["code"] = "5501"
    with pytest.raises(DirectoryFileError) as caught:
        directory.load(parse_directory(moved))
    assert _ids(caught.value) == ["IP-6015"]
    assert directory.route(kommunenummer="5501").orgnr == TROMSO_KE  # nothing of it stored
    directory.load(parse_directory(moved), replace=True)
    assert [e.orgnr for e in directory.entries()] == [UNJARGA]
    assert directory.route(kommunenummer="5501").orgnr == UNJARGA


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_load_list_show_and_route(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    file = tmp_path / "katalog.json"
    file.write_text(json.dumps(fixture(), ensure_ascii=False), encoding="utf-8")
    assert _cli(capsys, "directory", "load", str(file), *data)[0] == 0
    code, out, _ = _cli(capsys, "directory", "list", *data)
    assert code == 0 and len(out.splitlines()) == 4
    assert f"{TROMSO_KE}\t5501\tKE\troutable\thttps://ip.tromso.kommune.example.no/fhir" in out
    code, out, _ = _cli(capsys, "directory", "show", UNJARGA, *data)
    assert code == 0
    assert json.loads(out)["organization"]["name"] == "Unjárgga gielda – helse og omsorg"
    code, out, _ = _cli(capsys, "directory", "route", "--kommune", "5612", *data)
    assert code == 0 and out.startswith(KAUTOKEINO_KE)


@pytest.mark.parametrize(
    ("args", "message_id"),
    [
        (["show", "923609016"], "IP-6019"),
        (["route", "--kommune", "0301"], "IP-6001"),
        (["route", "--org", "12345"], "IP-6004"),
        (["load", "finnes-ikke.json"], "IP-6010"),
    ],
)
def test_cli_refusals_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message_id: str
) -> None:
    code, out, err = _cli(capsys, "directory", *args, "--data-dir", str(tmp_path / "d"))
    assert (code, out) == (1, "")
    assert err.startswith(f"ipfhir: {message_id}: ") and err.count("\n") == 1


@pytest.mark.parametrize("content", [b"{ikke json", b"[" * 100000, b"\xff\xfe", b'"tekst"'])
def test_cli_load_of_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    file = tmp_path / "katalog.json"
    file.write_bytes(content)
    code, _, err = _cli(capsys, "directory", "load", str(file), "--data-dir", str(tmp_path))
    assert code == 1 and err.startswith("ipfhir: IP-601") and err.count("\n") == 1
    assert "Traceback" not in err


def test_cli_entry_prints_a_file_another_adapter_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--org", UNJARGA, "--name", "Unjárgga gielda", "--base", "http://127.0.0.1:8081"]
    code, out, _ = _cli(capsys, "directory", "entry", *args, "--kommune", "5636", "--ke")
    assert code == 0
    file = tmp_path / "m.json"
    file.write_text(out, encoding="utf-8")
    assert _cli(capsys, "directory", "load", str(file), "--data-dir", str(tmp_path))[0] == 0
    entry = SqlDirectory(make_engine(f"sqlite:///{tmp_path / 'ipfhir.sqlite3'}")).get(UNJARGA)
    assert entry is not None and entry.endpoint is not None
    assert entry.endpoint.jwks_url == "http://127.0.0.1:8081/.well-known/jwks.json"
    assert entry.endpoint.token_url == "http://127.0.0.1:8081/auth/token"
    code, _, err = _cli(capsys, "directory", "entry", *args, "--kommune", "55")
    assert code == 1 and err.startswith("ipfhir: IP-6014")
