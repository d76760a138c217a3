"""HTTP answers whose message ids no test named before (tests/unit/test_message_ids.py): each
is provoked for real and its OperationOutcome carries the id, with the status the handler maps
its error to."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.bootstrap import build_app, build_wiring
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.settings import Settings
from tests.api.conftest import JSON, TestClient, create, message_ids, patient
from tests.unit.consent.builders import build
from tests.unit.consent.conftest import HPR, ORGNR, standard_spec


def _ids(r: Any) -> list[str]:
    return message_ids(r.json())


def test_a_body_of_another_type_is_ip_4005(client: TestClient) -> None:
    r = client.post("/Patient", json={"resourceType": "Goal"}, headers=JSON)
    assert (r.status_code, _ids(r)) == (400, ["IP-4005"])


def test_an_unknown_path_is_ip_4115(client: TestClient) -> None:
    r = client.get("/Patient/a/b/c/d")
    assert (r.status_code, _ids(r)) == (404, ["IP-4115"])


def test_a_method_not_served_is_ip_4302(client: TestClient) -> None:
    r = client.request("PATCH", "/metadata")
    assert (r.status_code, _ids(r)) == (405, ["IP-4302"])


def test_an_unsupported_modifier_is_ip_4103(client: TestClient) -> None:
    r = client.get("/Patient?identifier:above=x")
    assert (r.status_code, _ids(r)) == (400, ["IP-4103"])


def test_an_if_match_naming_no_version_is_ip_4405(client: TestClient) -> None:
    stored = create(client, patient(family="Ávžžá"))
    headers = JSON | {"If-Match": 'W/"v1"'}
    r = client.put(f"/Patient/{stored['id']}", json=stored, headers=headers)
    assert (r.status_code, _ids(r)) == (400, ["IP-4405"])


def test_a_conditional_create_matching_two_is_ip_4403(client: TestClient) -> None:
    for _ in range(2):
        create(client, patient(family="Ŧuolbmá-Ånestad"))
    headers = JSON | {"If-None-Exist": "family=" + quote("Ŧuolbmá-Ånestad")}
    r = client.post("/Patient", json=patient(family="Ŧuolbmá-Ånestad"), headers=headers)
    assert (r.status_code, _ids(r)) == (412, ["IP-4403"])


def _evaluate(client: TestClient, parameters: list[dict[str, Any]]) -> Any:
    body = {"resourceType": "Parameters", "parameter": parameters}
    return client.post("/Consent/$evaluate", json=body, headers=JSON)


def test_evaluate_without_an_organisation_is_ip_5301(secure_client: TestClient) -> None:
    r = _evaluate(secure_client, [{"name": "resource", "valueReference": {"reference": "Goal/x"}}])
    assert (r.status_code, _ids(r)) == (400, ["IP-5301"])


def test_evaluate_of_no_resource_reference_is_ip_5302(secure_client: TestClient) -> None:
    params = [
        {"name": "organisation", "valueString": "974760673"},
        {"name": "resource", "valueReference": {"reference": "Goal"}},
    ]
    r = _evaluate(secure_client, params)
    assert (r.status_code, _ids(r)) == (400, ["IP-5302"])


def test_only_the_owner_asks_who_is_disclosed_ip_5103(tmp_path: Path) -> None:
    """A hospital that sees the plan (the seed's sharing consent) may not ask what others are
    disclosed; the plan's coordinator may."""
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    wiring = build_wiring(settings, validate=minimal_structural_check)
    for res in build(standard_spec()):
        wiring.repository.update(res["resourceType"], res["id"], res)

    def auth(org: str, hpr: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(tmp_path, ORGNR[org], hpr=HPR[hpr])}"}

    url = f"/CarePlan/ip1/$disclosure?organisation={ORGNR['kommune']}"
    with TestClient(build_app(settings, wiring)) as client:
        assert client.get("/CarePlan/ip1", headers=auth("sykehus", "fysio")).status_code == 200
        assert client.get(url, headers=auth("kommune", "koord")).status_code == 200
        r = client.get(url, headers=auth("sykehus", "fysio"))
    assert (r.status_code, _ids(r)) == (403, ["IP-5103"])
