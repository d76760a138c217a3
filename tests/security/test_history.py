"""Every version is judged with the current consent and the newest labels: a topic the owner
labels a resource with later hides its earlier versions too (vread, instance and type history),
and a label on an element (a CarePlan activity) removes that element from earlier versions."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.mappings.codes import ext_url
from tests.security.conftest import SecureWorld, message_ids
from tests.unit.consent.builders import TOPIC, topic_label

JSON_BODY = {"Content-Type": "application/fhir+json"}
RECIPIENTS = ("recipient", "teacher")


def _label_goal(world: SecureWorld, rid: str, topic: str) -> None:
    owner = {**world.as_("owner"), **JSON_BODY}
    goal = world.client.get(f"/Goal/{rid}", headers=owner).json()
    goal["meta"] = {"security": [{"system": TOPIC, "code": topic}]}
    put = world.client.put(f"/Goal/{rid}", json=goal, headers=owner)
    assert put.status_code == 200, put.text


def _history_ids(world: SecureWorld, actor: str, path: str) -> list[tuple[str, str]]:
    r = world.client.get(path, headers=world.as_(actor))
    assert r.status_code == 200, r.text
    return [
        (e["fullUrl"].rsplit("/", 1)[1], e["response"]["etag"]) for e in r.json().get("entry", [])
    ]


@pytest.mark.parametrize("actor", RECIPIENTS)
def test_a_label_added_later_hides_every_earlier_version(world: SecureWorld, actor: str) -> None:
    who = world.as_(actor)
    before = world.client.get("/Goal/ip1-g1/_history/1", headers=who)
    assert before.status_code == 200  # seen while unlabelled
    _label_goal(world, "ip1-g1", "rus")  # refused topic
    assert world.client.get("/Goal/ip1-g1", headers=who).status_code == 404
    for vid in ("1", "2"):
        old = world.client.get(f"/Goal/ip1-g1/_history/{vid}", headers=who)
        assert old.status_code == 404, old.text
        assert message_ids(old.json()) == ["IP-4203"]
        assert "klare meg selv" not in old.text
    inst = world.client.get("/Goal/ip1-g1/_history", headers=who)
    assert inst.status_code == 404 and message_ids(inst.json()) == ["IP-4201"]
    shown = _history_ids(world, actor, "/Goal/_history")
    assert "ip1-g1" not in {rid for rid, _ in shown}
    assert "ip1-g3" in {rid for rid, _ in shown}  # still shown: it is not labelled


def test_the_owner_still_gets_every_version_as_stored(world: SecureWorld) -> None:
    _label_goal(world, "ip1-g1", "rus")
    owner = world.as_("owner")
    first = world.client.get("/Goal/ip1-g1/_history/1", headers=owner).json()
    assert "meta" not in first or "security" not in first["meta"]  # not relabelled on the way
    assert _history_ids(world, "owner", "/Goal/ip1-g1/_history") == [
        ("ip1-g1", 'W/"2"'),
        ("ip1-g1", 'W/"1"'),
    ]


def _activity(plan: dict[str, Any], key: str) -> dict[str, Any]:
    return next(a for a in plan["activity"] if a["id"] == key)


def test_an_element_labelled_later_leaves_earlier_versions(world: SecureWorld) -> None:
    owner = {**world.as_("owner"), **JSON_BODY}
    plan = world.client.get("/CarePlan/ip1", headers=owner).json()
    before = world.client.get("/CarePlan/ip1/_history/1", headers=world.as_("recipient")).json()
    assert "m1" in {a["id"] for a in before["activity"]}
    _activity(plan, "m1").setdefault("extension", []).append(topic_label("rus"))
    assert world.client.put("/CarePlan/ip1", json=plan, headers=owner).status_code == 200
    for vid in ("1", "2"):
        seen = world.client.get(f"/CarePlan/ip1/_history/{vid}", headers=world.as_("recipient"))
        assert seen.status_code == 200
        assert "m1" not in {a["id"] for a in seen.json().get("activity", [])}, vid
    history = world.client.get("/CarePlan/ip1/_history", headers=world.as_("recipient")).json()
    for entry in history["entry"]:
        assert "m1" not in {a["id"] for a in entry["resource"].get("activity", [])}
    stored = world.client.get("/CarePlan/ip1/_history/1", headers=owner).json()
    assert "extension" not in _activity(stored, "m1")  # the owner gets version 1 as stored


def test_a_revoked_consent_hides_every_version(world: SecureWorld) -> None:
    owner = {**world.as_("owner"), **JSON_BODY}
    sharing = world.client.get("/Consent/ip1-sharing", headers=owner).json()
    sharing["status"] = "inactive"  # withdrawn: the profile asks when (ip-consent-revoked)
    revoked = {"url": ext_url("ip-consent-revoked"), "valueDate": "2026-11-30"}
    sharing["extension"] = [*sharing.get("extension", []), revoked]
    put = world.client.put("/Consent/ip1-sharing", json=sharing, headers=owner)
    assert put.status_code == 200, put.text
    who = world.as_("recipient")
    assert world.client.get("/Goal/ip1-g1/_history/1", headers=who).status_code == 404
    assert world.client.get("/CarePlan/ip1/_history/1", headers=who).status_code == 404
    assert _history_ids(world, "recipient", "/Goal/_history") == []


def _pages(world: SecureWorld, actor: str, path: str) -> list[list[str]]:
    """Every page of a history, following the next links: the ids of each page."""
    out: list[list[str]] = []
    url: str | None = path
    while url is not None:
        r = world.client.get(url.removeprefix("http://testserver"), headers=world.as_(actor))
        assert r.status_code == 200, r.text
        body = r.json()
        out.append([e["fullUrl"].split("/Goal/")[1] for e in body.get("entry", [])])
        url = next((x["url"] for x in body.get("link", []) if x["relation"] == "next"), None)
        assert len(out) < 50
    return out


@pytest.mark.parametrize("actor", (*RECIPIENTS, "outsider"))
def test_type_history_pages_are_full_whatever_is_hidden(world: SecureWorld, actor: str) -> None:
    """A page of ``/Goal/_history`` had hidden versions cut out of it after the store cut the
    page: its size (and a next link after an empty or short page) told how many versions of
    hidden goals lay between. Pages are now filled to ``_count`` from visible versions, a next
    link only when one more visible version exists — as a store without the hidden ones."""
    owner = {**world.as_("owner"), **JSON_BODY}
    for n in range(4):  # interleave versions of the hidden goal and of a visible one
        for rid in ("ip1-g2", "ip1-g1"):
            goal = world.client.get(f"/Goal/{rid}", headers=owner).json()
            goal["description"] = {"text": f"Versjon {n} av målet, på Øvre Årdal"}
            assert world.client.put(f"/Goal/{rid}", json=goal, headers=owner).status_code == 200
    pages = _pages(world, actor, "/Goal/_history?_count=3")
    seen = [rid for page in pages for rid in page]
    visible = {"recipient": 6, "teacher": 6}.get(actor, 0)  # g1: 5 versions, g3: 1
    assert "ip1-g2" not in seen
    assert len(seen) == visible, pages
    assert all(len(page) == 3 for page in pages[:-1]), pages
    assert len(pages[-1]) == (visible % 3 or min(3, visible)), pages
