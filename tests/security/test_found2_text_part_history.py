"""Failing reproduction: a label on a part of a free text (``ext:ip-text-part``) does not hide
the same words in an older version written before the part was labelled. History is judged
with the newest labels (adapter/consent/versions.py ``with_newest_labels``), but only
resource labels (``meta.security``) and element labels (``ip-security-label`` on an element
with an id) are carried back — text-part labels are not, so the older, unlabelled string is
shown whole to a recipient of a person who refused the topic «rus»."""

from __future__ import annotations

import copy
from typing import Any

from ipfhir.adapter.consent.redact_text import PART_URL
from ipfhir.mappings.codes import cs_url, ext_url
from tests.security.conftest import SecureWorld

JSON = {"Content-Type": "application/fhir+json"}
TOPIC = cs_url("ip-information-topic")
SECRET = "LAR-behandling på Åsgård hver fredag."
OPEN = "Jeg vil klare meg selv på kjøkkenet."


def _part(text: str, *topics: str) -> dict[str, Any]:
    labels = [
        {"url": ext_url("ip-security-label"), "valueCoding": {"system": TOPIC, "code": t}}
        for t in topics
    ]
    return {"url": PART_URL, "extension": [{"url": "text", "valueString": text}, *labels]}


def test_an_older_unlabelled_version_shows_a_refused_text_part(world: SecureWorld) -> None:
    owner = {**world.as_("owner"), **JSON}
    goal = world.client.get("/Goal/ip1-g1", headers=owner).json()
    goal.pop("meta", None)
    plain = copy.deepcopy(goal)  # v2: the whole text, not yet split into labelled parts
    plain["description"] = {"text": f"{OPEN} {SECRET}"}
    r = world.client.put("/Goal/ip1-g1", json=plain, headers=owner)
    assert r.status_code == 200, r.text
    parts = copy.deepcopy(goal)  # v3: the coordinator labels the part about «rus»
    parts["description"] = {
        "text": f"{OPEN} {SECRET}",
        "_text": {"extension": [_part(OPEN), _part(SECRET, "rus")]},
    }
    r = world.client.put("/Goal/ip1-g1", json=parts, headers=owner)
    assert r.status_code == 200, r.text
    recipient = world.as_("recipient")
    now = world.client.get("/Goal/ip1-g1", headers=recipient)
    assert now.status_code == 200 and OPEN in now.text and SECRET not in now.text, now.text
    history = world.client.get("/Goal/ip1-g1/_history", headers=recipient)
    assert history.status_code == 200
    assert SECRET not in history.text, history.text
    old = world.client.get("/Goal/ip1-g1/_history/2", headers=recipient)
    assert SECRET not in old.text, old.text
