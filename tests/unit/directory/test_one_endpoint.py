"""One endpoint per organisation, decided: a directory file with a second Endpoint managed by one
of its organisations is refused whole (IP-6122, at that Endpoint's managingOrganization) —
neither silently dropped nor silently chosen, so where plan data goes is always the address
the Organization names; an Endpoint several organisations name (one adapter serving them) is
fine; a later load of an organisation replaces its entry (its old endpoint gets nothing)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.cli.main import main
from ipfhir.adapter.directory import DirectoryFileError, SqlDirectory, parse_directory
from ipfhir.adapter.store import make_engine, migrate
from tests.unit.directory.test_parse import TROMSO_KE, UNN, fixture

SECOND = "https://ip-ny.tromso.kommune.example.no/fhir"


def _with_second_endpoint(name_it: bool = True) -> dict[str, Any]:
    bundle = fixture()
    [endpoint] = [
        e["resource"] for e in bundle["entry"] if e["resource"]["id"] == f"endpoint-{TROMSO_KE}"
    ]
    second = copy.deepcopy(endpoint)
    second.update(id="endpoint-tromso-ny", address=SECOND)
    bundle["entry"].append({"resource": second})
    if not name_it:  # the Organization names no endpoint at all
        for e in bundle["entry"]:
            if e["resource"]["id"] == f"org-{TROMSO_KE}":
                e["resource"].pop("endpoint")
    return bundle


def test_a_second_endpoint_for_one_organisation_is_refused() -> None:
    with pytest.raises(DirectoryFileError) as refused:
        parse_directory(_with_second_endpoint())
    [issue] = refused.value.issues
    assert issue.message_id == "IP-6122"
    assert issue.expression == ("Bundle.entry[8].resource.managingOrganization",)
    assert TROMSO_KE in issue.text and SECOND in issue.text


def test_an_organisation_naming_no_endpoint_gets_none_of_its_endpoints() -> None:
    entries = {e.orgnr: e for e in parse_directory(_with_second_endpoint(name_it=False))}
    assert entries[TROMSO_KE].endpoint is None and not entries[TROMSO_KE].routable


def test_one_endpoint_named_by_two_organisations_is_one_adapter_serving_both() -> None:
    bundle = fixture()
    for e in bundle["entry"]:
        if e["resource"]["id"] == f"org-{UNN}":
            e["resource"]["endpoint"] = [{"reference": f"Endpoint/endpoint-{TROMSO_KE}"}]
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] != f"endpoint-{UNN}"]
    entries = {e.orgnr: e for e in parse_directory(bundle)}
    assert entries[UNN].endpoint is not None and entries[TROMSO_KE].endpoint is not None
    assert entries[UNN].endpoint.address == entries[TROMSO_KE].endpoint.address


def test_the_cli_loads_nothing_of_such_a_file_and_a_later_load_replaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    good, bad = tmp_path / "katalog.json", tmp_path / "to-adresser.json"
    good.write_text(json.dumps(fixture(), ensure_ascii=False), encoding="utf-8")
    bad.write_text(json.dumps(_with_second_endpoint(), ensure_ascii=False), encoding="utf-8")
    assert main(["directory", "load", str(bad), *data]) == 1
    assert capsys.readouterr().err.startswith("ipfhir: IP-6122: ")
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'ipfhir.sqlite3'}")
    migrate(engine)
    assert SqlDirectory(engine).entries() == []
    assert main(["directory", "load", str(good), *data]) == 0
    moved = fixture()
    for e in moved["entry"]:
        if e["resource"]["id"] == f"endpoint-{TROMSO_KE}":
            e["resource"]["address"] = SECOND
    good.write_text(json.dumps(moved, ensure_ascii=False), encoding="utf-8")
    assert main(["directory", "load", str(good), *data]) == 0
    entry = SqlDirectory(engine).route(kommunenummer="5501")
    assert entry.endpoint is not None and entry.endpoint.address == SECOND
    engine.dispose()
