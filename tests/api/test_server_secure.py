"""The server as production builds it (``adapter.bootstrap.build_app``): refused without a token,
the CRUD/search/history mechanics for an actor who owns the plan, nothing for another
organisation, and the person's right to know who saw their plan (audit by fødselsnummer)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.auth.http import AuthNotConfigured
from ipfhir.adapter.bootstrap import Wiring, build_app, build_wiring
from ipfhir.adapter.consent.enforce import ConsentRepositoryFactory
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.settings import Settings
from ipfhir.mappings.identifiers import ORGNR_SYSTEM, synthetic_orgnr
from tests.api.conftest import FNR_SYSTEM, JSON, OWNER_ORGNR, TestClient, careplan, patient

OTHER_ORGNR = synthetic_orgnr(random.Random(1312))
# what ip-careplan requires besides careplan(): the plan's team and consents (written later)
IP_PLAN_PARTS = {
    "created": "2024-03-01",
    "careTeam": [{"reference": "CareTeam/ip-team"}],
    "supportingInfo": [{"reference": "Consent/ip-samtykke"}],
}


def organisation(orgnr: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": ORGNR_SYSTEM, "value": orgnr}],
        "name": name,
    }


def _post(client: TestClient, res: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/{res['resourceType']}", json=res, headers=JSON)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def owned_plan(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Patient, CarePlan) with the owner's organisation as the plan's author."""
    org = _post(client, organisation(OWNER_ORGNR, "Kárášjoga gielda – tjenestekontoret"))
    person = _post(client, patient())
    plan = careplan(person["id"])
    plan["author"] = {"reference": f"Organization/{org['id']}"}
    plan.update(IP_PLAN_PARTS)  # an IP CarePlan is written in its profile (ip-careplan)
    return person, _post(client, plan)


def _other(settings: Settings) -> dict[str, str]:
    token = mint_token(settings.data_dir, OTHER_ORGNR, scopes=("system/*.cruds",))
    return {"Authorization": f"Bearer {token}"}


def test_build_app_is_the_enforced_app(wiring: Wiring, settings: Settings) -> None:
    app = build_app(settings.model_copy(update={"dev_mode": True}), wiring)
    assert isinstance(app.state.ctx.factory, ConsentRepositoryFactory)
    with pytest.raises(AuthNotConfigured) as err:  # no issuer/JWKS, not dev mode: refuses
        build_app(settings, wiring)
    assert err.value.issues[0].message_id == "IP-5005"


def test_no_token_no_data(secure_client: TestClient) -> None:
    _person, plan = owned_plan(secure_client)
    anonymous = {"Authorization": ""}
    for path in (f"/CarePlan/{plan['id']}", "/CarePlan", f"/CarePlan/{plan['id']}/_history"):
        r = secure_client.get(path, headers=anonymous)
        assert r.status_code == 401, path
        assert r.json()["resourceType"] == "OperationOutcome"
    r = secure_client.post("/Patient", json=patient(), headers={**JSON, **anonymous})
    assert r.status_code == 401
    for path in ("/Patient/$validate", f"/CarePlan/{plan['id']}/$validate"):
        r = secure_client.post(path, json=patient(), headers={**JSON, **anonymous})
        assert r.status_code == 401, path
        assert r.json()["issue"][0]["details"]["coding"][0]["code"].startswith("IP-5")
    r = secure_client.post("/Patient/$validate", json=patient(), headers=JSON)
    assert r.status_code == 200 and r.json()["resourceType"] == "OperationOutcome"
    assert secure_client.get("/metadata", headers=anonymous).status_code == 200


def test_owner_crud_search_history(secure_client: TestClient) -> None:
    person, plan = owned_plan(secure_client)
    got = secure_client.get(f"/CarePlan/{plan['id']}")
    assert got.status_code == 200 and got.json()["title"] == plan["title"]
    assert got.headers["ETag"] == 'W/"1"'
    changed = {**got.json(), "title": "Individuell plan — mål: å gå på skole i Guovdageaidnu"}
    put = secure_client.put(
        f"/CarePlan/{plan['id']}", json=changed, headers={**JSON, "If-Match": 'W/"1"'}
    )
    assert put.status_code == 200, put.text
    assert put.json()["meta"]["versionId"] == "2"
    hist = secure_client.get(f"/CarePlan/{plan['id']}/_history").json()
    assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["2", "1"]
    found = secure_client.get(f"/CarePlan?patient={person['id']}").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [plan["id"]]
    assert secure_client.get(f"/Patient/{person['id']}").status_code == 200
    again = secure_client.post(
        "/CarePlan",
        json={**careplan(person["id"]), **IP_PLAN_PARTS},
        headers={**JSON, "If-None-Exist": f"patient={person['id']}"},
    )
    assert again.status_code == 200 and again.json()["id"] == plan["id"]


def test_another_organisation_sees_nothing(secure_client: TestClient, settings: Settings) -> None:
    person, plan = owned_plan(secure_client)
    other = _other(settings)
    assert secure_client.get(f"/CarePlan/{plan['id']}", headers=other).status_code == 404
    assert secure_client.get(f"/Patient/{person['id']}", headers=other).status_code == 404
    found = secure_client.get(f"/CarePlan?patient={person['id']}", headers=other).json()
    assert found.get("entry") is None and found.get("total") in (None, 0)


def test_person_finds_who_saw_the_plan_by_fodselsnummer(
    secure_client: TestClient, settings: Settings
) -> None:
    person, plan = owned_plan(secure_client)
    fnr = person["identifier"][0]["value"]
    assert secure_client.get(f"/CarePlan/{plan['id']}").status_code == 200
    assert secure_client.get(f"/CarePlan/{plan['id']}", headers=_other(settings)).status_code == 404
    for query in (
        f"patient.identifier={FNR_SYSTEM}|{fnr}",
        f"entity-identifier={FNR_SYSTEM}|{fnr}",
    ):
        bundle = secure_client.get(f"/AuditEvent?{query}&_count=100").json()
        events = [e["resource"] for e in bundle.get("entry", [])]
        who = {
            (a["who"]["identifier"]["value"], e["outcome"])
            for e in events
            for a in e["agent"]
            if "identifier" in a["who"]
        }
        assert (OWNER_ORGNR, "0") in who, query  # the owner's read, disclosed
        assert (OTHER_ORGNR, "4") in who, query  # the other organisation, refused
        assert all(e["entity"][0]["what"]["identifier"]["value"] == fnr for e in events)
    other_person = _post(secure_client, patient())
    none = secure_client.get(
        f"/AuditEvent?patient.identifier={FNR_SYSTEM}|{other_person['identifier'][0]['value']}"
    ).json()
    assert none.get("entry") is None


def test_secure_app_over_a_fresh_database(tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    with TestClient(build_app(settings, build_wiring(settings))) as client:
        token = mint_token(tmp_path, OWNER_ORGNR, scopes=("system/*.cruds",), roles=(OWNER_ROLE,))
        client.headers["Authorization"] = f"Bearer {token}"
        _person, plan = owned_plan(client)
        assert client.get(f"/CarePlan/{plan['id']}").json()["id"] == plan["id"]


def test_consent_cache_size_comes_from_settings(wiring: Wiring, settings: Settings) -> None:
    dev = settings.model_copy(update={"dev_mode": True, "consent_cache_size": 0})
    app = build_app(dev, wiring)
    assert app.state.ctx.factory.enforcement.cache.size == 0
    assert Settings(data_dir=settings.data_dir).consent_cache_size == 512
