"""The secure server over HTTP (SQLite, dev key): bearer tokens, scopes, consent filtering in
JSON and XML, explanation, audit searchable by the person, revocation on the next request."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.bootstrap import Wiring, build_secure_app, build_wiring
from ipfhir.adapter.fhir.validation import default_validator
from ipfhir.adapter.settings import Settings
from tests.unit.consent.builders import Sharing, build, sharing_consent
from tests.unit.consent.conftest import HPR, ORGNR, standard_spec

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TestClient, Wiring, Path]]:
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    wiring = build_wiring(settings, validate=_accept_all)
    for res in build(standard_spec()):
        wiring.repository.update(res["resourceType"], res["id"], res)
    with TestClient(build_secure_app(settings, wiring)) as client:
        yield client, wiring, tmp_path


def _auth(data: Path, org: str, hpr: str | None = None, *scopes: str) -> dict[str, str]:
    token = mint_token(
        data, ORGNR[org], hpr=HPR.get(hpr or ""), scopes=scopes or ("system/*.cruds",)
    )
    return {"Authorization": f"Bearer {token}"}


def _ids(outcome: dict[str, Any]) -> list[str]:
    return [i["details"]["coding"][0]["code"] for i in outcome["issue"]]


def test_requests_need_a_valid_token(server: tuple[TestClient, Wiring, Path]) -> None:
    client, _w, data = server
    assert client.get("/metadata").status_code == 200
    missing = client.get("/CarePlan/ip1")
    assert missing.status_code == 401 and _ids(missing.json()) == ["IP-5001"]
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    forged = client.get("/CarePlan/ip1", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401 and _ids(forged.json()) == ["IP-5002"]
    narrow = client.get("/CarePlan/ip1", headers=_auth(data, "kommune", None, "system/Goal.rs"))
    assert narrow.status_code == 403 and _ids(narrow.json()) == ["IP-5003"]


def test_server_refuses_to_start_without_jwks_outside_dev_mode(tmp_path: Path) -> None:
    from ipfhir.adapter.auth.http import AuthNotConfigured

    with pytest.raises(AuthNotConfigured) as err:
        build_secure_app(Settings(data_dir=tmp_path), build_wiring(Settings(data_dir=tmp_path)))
    assert err.value.issues[0].message_id == "IP-5005"


def test_recipient_gets_the_consented_part_in_json_and_xml(
    server: tuple[TestClient, Wiring, Path],
) -> None:
    client, _w, data = server
    hospital = _auth(data, "sykehus", "fysio")
    plan = client.get("/CarePlan/ip1", headers=hospital).json()
    assert [a["id"] for a in plan["activity"]] == ["m1", "m3"]
    xml = client.get("/CarePlan/ip1?_format=xml", headers=hospital)
    assert xml.status_code == 200 and 'value="rus"' not in xml.text and "REDACTED" in xml.text
    goals = client.get("/Goal?patient=Patient/ip1-pt", headers=hospital).json()
    assert sorted(e["resource"]["id"] for e in goals.get("entry", [])) == ["ip1-g1", "ip1-g3"]
    assert goals.get("total") in (None, 2)
    assert client.get("/Goal/ip1-g2", headers=hospital).status_code == 404
    assert client.get("/CarePlan/ip1", headers=_auth(data, "sykehus", "lege")).status_code == 404


def test_explanation_audit_and_revocation(server: tuple[TestClient, Wiring, Path]) -> None:
    client, wiring, data = server
    owner = _auth(data, "kommune", "koord")
    hospital = _auth(data, "sykehus", "fysio")
    assert client.get("/CarePlan/ip1", headers=hospital).status_code == 200
    why = client.get(f"/CarePlan/ip1/$disclosure?organisation={ORGNR['sykehus']}", headers=owner)
    assert why.status_code == 200
    text = why.text
    assert "Consent/ip1-sharing" in text and "CarePlan.activity[1]" in text and "redact" in text
    assert (
        client.get(
            f"/CarePlan/ip1/$disclosure?organisation={ORGNR['kommune']}", headers=hospital
        ).status_code
        == 403
    )
    fnr = standard_spec().fnr()
    audit = client.get("/AuditEvent?patient=Patient/ip1-pt&_count=100", headers=owner).json()
    events = [e["resource"] for e in audit.get("entry", [])]
    assert any(
        a["who"].get("identifier", {}).get("value") == ORGNR["sykehus"]
        for e in events
        for a in e["agent"]
    )
    assert all(e["entity"][0]["what"]["identifier"]["value"] == fnr for e in events)
    _name, validate, _missing = default_validator()
    errors = [
        i for e in events[:3] for i in validate(e)["issue"] if i["severity"] in ("error", "fatal")
    ]
    assert [i for i in errors if "IP-3019" not in i["diagnostics"]] == []  # synthetic fnr aside
    assert (
        client.get("/AuditEvent?patient=Patient/ip1-pt", headers=hospital).json().get("entry")
        is None
    )
    assert (
        client.post("/AuditEvent", json={"resourceType": "AuditEvent"}, headers=owner).status_code
        == 403
    )
    spec = standard_spec()
    revoked = sharing_consent(spec, Sharing(**{**vars(spec.sharing), "status": "inactive"}))
    put = client.put(
        "/Consent/ip1-sharing",
        json=revoked,
        headers={**owner, "Content-Type": "application/fhir+json"},
    )
    assert put.status_code == 200, put.text
    assert client.get("/CarePlan/ip1", headers=hospital).status_code == 404
    from ipfhir.adapter.store.ledger import SqlLedger

    recipients = SqlLedger(wiring.engine).recipients("Consent/ip1-sharing")
    assert [r.organisation for r in recipients] == [ORGNR["sykehus"]]


def test_real_plan_through_the_secure_server_in_json_and_xml(tmp_path: Path) -> None:
    """rus-psykisk-helse as mapped by the project (fixtures/bundles), posted as a transaction by
    the owning municipality's coordinator into the real store; every egress path of a permitted
    hospital doctor and of the refused child-welfare service, in JSON and XML."""
    from ipfhir.adapter.consent.context import DIRECTORY_TYPES
    from tests.unit.consent.fakes import FixedClock
    from tests.unit.consent.real_plans import fixture_bundle, identifier, one

    settings = Settings(data_dir=tmp_path, dev_mode=True)
    bundle = fixture_bundle("rus-psykisk-helse")
    app = build_secure_app(settings, build_wiring(settings, validate=_accept_all))
    app.state.ctx.factory.enforcement.clock = FixedClock("2026-06-01T10:00:00Z")

    def token(org: str, prac: str | None = None) -> dict[str, str]:
        orgnr = identifier(one(bundle, "Organization", org), "4.101")
        hpr = identifier(one(bundle, "Practitioner", prac), "4.4") if prac else None
        return {"Authorization": f"Bearer {mint_token(tmp_path, orgnr, hpr=hpr)}"}

    plan, patient = one(bundle, "CarePlan")["id"], f"Patient/{one(bundle, 'Patient')['id']}"
    paths = [
        f"/CarePlan/{plan}",
        f"/CarePlan/{plan}/$everything",
        f"/Goal?patient={patient}",
        f"/CarePlan?subject={patient}&_include=CarePlan:goal&_include=CarePlan:care-team",
        f"/CareTeam?subject={patient}",
        f"/Consent?patient={patient}",
        "/Goal/_history",
        f"/Goal/{one(bundle, 'Goal', 'emma')['id']}",
        f"/Goal/{one(bundle, 'Goal', 'sove')['id']}",
    ]
    with TestClient(app) as client:
        owner = token("krs-kommune", "koordinator")
        posted = client.post(
            "/", json=bundle, headers={**owner, "Content-Type": "application/fhir+json"}
        )
        assert posted.status_code == 200, posted.text
        assert "familie" in client.get(f"/CarePlan/{plan}", headers=owner).text
        doctor, refused = token("sshf", "lar-lege"), token("barnevern")
        for path in paths:
            sep = "&" if "?" in path else "?"
            as_json = client.get(path, headers=doctor)
            as_xml = client.get(f"{path}{sep}_format=xml", headers=doctor)
            assert as_json.status_code in (200, 404) and as_xml.status_code == as_json.status_code
            for code in ("psykisk-helse", "familie"):
                assert f'"{code}"' not in as_json.text, path
                assert f'value="{code}"' not in as_xml.text, path
            assert "Consent/" not in as_json.text.replace("Consent/$", ""), path
            body = client.get(path, headers=refused).json()
            shown = [e["resource"] for e in body.get("entry", []) if "resource" in e]
            shown += (
                [body] if body.get("resourceType") not in ("Bundle", "OperationOutcome") else []
            )
            assert [r for r in shown if r["resourceType"] not in DIRECTORY_TYPES] == [], path
        got = client.get(f"/CarePlan/{plan}", headers=doctor).json()
        assert {"lar", "boligoppfolging", "kvp"} <= {a["id"] for a in got["activity"]}
