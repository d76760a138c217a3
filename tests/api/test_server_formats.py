"""XML in and out, content negotiation, and hostile input (each refused, nothing stored)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import JSON, create, message_ids, patient

XML = {"Content-Type": "application/fhir+xml"}
PATIENT_XML = (
    '<Patient xmlns="http://hl7.org/fhir"><identifier>'
    '<system value="urn:oid:2.16.578.1.12.4.1.4.1"/>'
    '<value value="{fnr}"/></identifier><name><family value="Æsøy-Máret"/></name></Patient>'
)


def _count(client: Any, rtype: str = "Patient") -> int:
    total: int = client.get(f"/{rtype}?_summary=count").json()["total"]
    return total


def test_xml_in_and_out(client: Any) -> None:
    fnr = patient()["identifier"][0]["value"]
    r = client.post(
        "/Patient",
        content=PATIENT_XML.format(fnr=fnr).encode(),
        headers={**XML, "Accept": "application/fhir+xml"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/fhir+xml")
    assert '<family value="Æsøy-Máret"/>' in r.text
    pid = r.headers["location"].split("/")[-3]
    as_json = client.get(f"/Patient/{pid}").json()
    assert as_json["name"][0]["family"] == "Æsøy-Máret"
    by_format = client.get(f"/Patient/{pid}?_format=xml&_pretty=true")
    assert by_format.text.startswith("<Patient") and "\n" in by_format.text
    search = client.get("/Patient", headers={"Accept": "application/xml"})
    assert search.text.startswith("<Bundle")
    err = client.get("/Patient/mangler", headers={"Accept": "application/fhir+xml"})
    assert err.status_code == 404 and err.text.startswith("<OperationOutcome")


def test_not_acceptable_and_wrong_content_type(client: Any) -> None:
    r = client.get("/metadata", headers={"Accept": "text/csv"})
    assert r.status_code == 406 and "IP-4004" in message_ids(r.json())
    r = client.post("/Patient", content=b"name=Ola", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "IP-4003" in message_ids(r.json())
    assert _count(client) == 0


def test_oversized_and_deeply_nested_json_refused(client: Any) -> None:
    big = patient()
    big["text"] = {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">' + "ø" * 70_000 + "</div>",
    }
    r = client.post("/Patient", json=big, headers=JSON)
    assert r.status_code == 413 and "IP-4001" in message_ids(r.json())
    deep: dict[str, Any] = {"url": "http://example.org/x"}
    for _ in range(40):
        deep = {"url": "http://example.org/x", "extension": [deep]}
    r = client.post("/Patient", json={**patient(), "extension": [deep]}, headers=JSON)
    assert r.status_code == 400 and message_ids(r.json())[0].startswith("IP-2")
    r = client.post("/Patient", content=b'{"resourceType": "Patient", "id": ', headers=JSON)
    assert r.status_code == 400
    assert _count(client) == 0


def test_xxe_and_billion_laughs_refused(client: Any) -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Patient xmlns="http://hl7.org/fhir"><name><family value="&x;"/></name></Patient>'
    )
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<Patient xmlns="http://hl7.org/fhir"><name><family value="&c;"/></name></Patient>'
    )
    for body in (xxe, laughs):
        r = client.post("/Patient", content=body, headers=XML)
        assert r.status_code == 400, r.text
        assert message_ids(r.json())[0].startswith("IP-2")
        assert "root:" not in r.text
    assert _count(client) == 0


def test_unknown_type_and_path(client: Any) -> None:
    r = client.get("/Observation")
    assert r.status_code == 400 and "IP-4114" in message_ids(r.json())
    r = client.get("/CarePlan/a/b/c/d")
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    create(client, patient())
    assert _count(client) == 1
