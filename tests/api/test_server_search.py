"""Search parameters, includes, _summary=count, unknown parameters, paging under inserts."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.conftest import FNR_SYSTEM, JSON, careplan, create, message_ids, patient

SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def _ids(bundle: dict[str, Any], mode: str = "match") -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode}


def _world(client: Any) -> dict[str, Any]:
    p1, p2 = create(client, patient(family="Nordmann")), create(client, patient(family="Sámi"))
    team = create(
        client,
        {
            "resourceType": "CareTeam",
            "status": "active",
            "subject": {"reference": f"Patient/{p1['id']}"},
            "name": "Ansvarsgruppe",
        },
    )
    goal = create(
        client,
        {
            "resourceType": "Goal",
            "lifecycleStatus": "active",
            "description": {"text": "Jeg vil gå på skolen i Kautokeino"},
            "subject": {"reference": f"Patient/{p1['id']}"},
        },
    )
    consent = create(
        client,
        {
            "resourceType": "Consent",
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": SCOPE,
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{p1['id']}"},
            "policyRule": {"coding": [{"system": ACTCODE, "code": "OPTIN"}]},
        },
    )
    plan1 = {
        **careplan(p1["id"], start="2024-03-01"),
        "careTeam": [{"reference": f"CareTeam/{team['id']}"}],
        "goal": [{"reference": f"Goal/{goal['id']}"}],
        "supportingInfo": [{"reference": f"Consent/{consent['id']}"}],
    }
    c1 = create(client, plan1)
    plan2 = careplan(p2["id"], status="draft", start="2023-01-15")
    plan2["period"]["end"] = "2023-12-31"
    c2 = create(client, plan2)
    return {"p1": p1, "p2": p2, "team": team, "goal": goal, "consent": consent, "c1": c1, "c2": c2}


def test_search_parameters(client: Any) -> None:
    w = _world(client)
    c1, c2, p1 = w["c1"]["id"], w["c2"]["id"], w["p1"]

    def ids(q: str) -> set[str]:
        r = client.get(f"/CarePlan?{q}")
        assert r.status_code == 200, r.text
        return _ids(r.json())

    assert ids(f"_id={c1}") == {c1}
    assert ids(f"patient={p1['id']}") == {c1}
    assert ids(f"patient=Patient/{p1['id']}") == {c1}
    assert ids(f"subject=Patient/{w['p2']['id']}") == {c2}
    fnr = p1["identifier"][0]["value"]
    assert ids(f"patient.identifier={quote(FNR_SYSTEM)}|{fnr}") == {c1}
    assert ids("status=active") == {c1}
    assert ids("status=active,draft") == {c1, c2}
    assert ids("status:not=active") == {c2}
    assert ids("date=ge2024-01-01") == {c1}
    assert ids("date=lt2024-01-01") == {c2}
    assert ids("category=urn:oid:2.16.578.1.12.4.1.1.9602|A02-2") == {c1, c2}
    assert ids("category=http://example.org|A02-2") == set()
    assert ids(f"_lastUpdated=ge{w['p1']['meta']['lastUpdated'][:10]}") == {c1, c2}
    assert ids("_lastUpdated=lt2000-01-01") == set()
    pat = client.get(f"/Patient?identifier={quote(FNR_SYSTEM)}|{fnr}").json()
    assert _ids(pat) == {p1["id"]}


def test_sort_count_and_summary(client: Any) -> None:
    w = _world(client)
    asc = client.get("/CarePlan?_sort=date").json()
    assert [e["resource"]["id"] for e in asc["entry"]] == [w["c2"]["id"], w["c1"]["id"]]
    desc = client.get("/CarePlan?_sort=-date").json()
    assert [e["resource"]["id"] for e in desc["entry"]] == [w["c1"]["id"], w["c2"]["id"]]
    assert client.get("/CarePlan?_summary=count").json() == {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 2,
        "link": [{"relation": "self", "url": "http://testserver/CarePlan?_summary=count"}],
    }
    bad = client.get("/CarePlan?_sort=title")
    assert bad.status_code == 400 and "IP-4104" in message_ids(bad.json())


def test_include_and_revinclude(client: Any) -> None:
    w = _world(client)
    inc = "_include=CarePlan:care-team&_include=CarePlan:goal&_include=CarePlan:supporting-info"
    b = client.get(f"/CarePlan?_id={w['c1']['id']}&{inc}").json()
    assert _ids(b, "include") == {w["team"]["id"], w["goal"]["id"], w["consent"]["id"]}
    rev = client.get(f"/Patient?_id={w['p1']['id']}&_revinclude=Consent:patient").json()
    assert _ids(rev, "include") == {w["consent"]["id"]}
    bad = client.get("/CarePlan?_include=CarePlan:title")
    assert bad.status_code == 400 and "IP-4107" in message_ids(bad.json())


def test_unknown_parameters_reported_or_strict(client: Any) -> None:
    _world(client)
    lenient = client.get("/CarePlan?status=active&hårfarge=rød").json()
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert message_ids(outcome[0]["resource"]) == ["IP-4106"]
    assert "h%C3%A5rfarge" not in lenient["link"][0]["url"]
    assert lenient["total"] == 1
    strict = client.get("/CarePlan?hårfarge=rød", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400 and "IP-4101" in message_ids(strict.json())


def _follow(client: Any, url: str) -> dict[str, Any]:
    r = client.get(url.replace("http://testserver", ""))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_paging_stays_correct_under_concurrent_inserts(client: Any) -> None:
    made = {create(client, patient())["id"] for _ in range(7)}
    assert "total" not in client.get("/Patient?_count=3").json()  # counting every match: asked
    page = client.get("/Patient?_count=3&_total=accurate").json()
    assert page["total"] == 7
    assert not any(link["relation"] == "previous" for link in page["link"])
    first_ids = [e["resource"]["id"] for e in page["entry"]]
    page2 = _follow(client, next(lk["url"] for lk in page["link"] if lk["relation"] == "next"))
    prev = next(lk["url"] for lk in page2["link"] if lk["relation"] == "previous")
    assert [e["resource"]["id"] for e in _follow(client, prev)["entry"]] == first_ids
    seen = list(first_ids)
    for _ in range(5):  # others keep writing while we page
        create(client, patient())
    while nxt := next((lk["url"] for lk in page["link"] if lk["relation"] == "next"), None):
        page = _follow(client, nxt)
        seen += [e["resource"]["id"] for e in page["entry"]]
        create(client, patient())
    assert len(seen) == len(set(seen))  # no duplicates
    assert made <= set(seen)  # nothing that existed was skipped
    bad = client.get("/Patient?_count=3&_page_token=bm90LWEtdG9rZW4")
    assert bad.status_code == 400 and "IP-4105" in message_ids(bad.json())


def test_everything_returns_the_whole_plan(client: Any) -> None:
    w = _world(client)
    b = client.get(f"/CarePlan/{w['c1']['id']}/$everything").json()
    ids = [e["resource"]["id"] for e in b["entry"]]
    assert ids[0] == w["c1"]["id"]
    assert {w["p1"]["id"], w["team"]["id"], w["goal"]["id"], w["consent"]["id"]} <= set(ids)
    assert w["p2"]["id"] not in ids and len(ids) == len(set(ids))
    assert client.get("/CarePlan/ukjent/$everything").status_code == 404
    _ = JSON
