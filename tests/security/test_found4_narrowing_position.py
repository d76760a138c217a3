"""A consent change that truly takes a topic away from a recipient escapes the revocation notice
when it only moves provisions (:func:`adapter.consent.narrowing.narrowing`).

The policy is positional (:mod:`adapter.consent.provisions`: the deepest rule decides, at equal
depth deny beats permit, an actor-less node applies to its parent's actors), but
``narrowing`` compares provisions "without position and without their nested provisions". So
the same node moved to another depth, or copied under another parent, is "no change" to it —
while the policy now refuses the recipient what it gave before. The recipient is never told
(no ``ip-revocation``), keeps and may pass on what the person no longer lets it have."""

from __future__ import annotations

import copy
from typing import Any

from ipfhir.adapter.consent.narrowing import narrowing
from ipfhir.adapter.consent.provisions import judge, rules_for
from ipfhir.adapter.ports import Actor
from ipfhir.mappings.codes import cs_url
from tests.api.notify_world import hospital_resources

TODAY = "2026-12-01"
RUS = {"system": cs_url("ip-information-topic"), "code": "rus"}
KE_REF = "Organization/ip1-ke"
KE_ACTOR = {
    "role": {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}
        ]
    },
    "reference": {"reference": KE_REF},
}


def _sharing() -> dict[str, Any]:
    [consent] = [r for r in hospital_resources() if r.get("id") == "ip1-sharing"]
    return copy.deepcopy(consent)


def _ke_gets_rus(consent: dict[str, Any]) -> bool:
    rules = rules_for([consent], Actor(organisation="ke", purpose="COC"), {KE_REF}, TODAY)
    allowed, _rule = judge(rules, frozenset({(RUS["system"], RUS["code"])}), TODAY)
    return allowed


def _old() -> dict[str, Any]:
    """The person refused «rus» to everyone but gave it to the coordinating unit: a permit
    naming KE nested under the actor-less «rus» deny (the deepest rule decides)."""
    old = _sharing()
    deny_rus = old["provision"]["provision"][0]
    assert deny_rus["type"] == "deny" and deny_rus["securityLabel"][0]["code"] == "rus"
    deny_rus["provision"] = [{"type": "permit", "actor": [KE_ACTOR], "securityLabel": [RUS]}]
    assert _ke_gets_rus(old)
    return old


def test_a_permit_moved_up_beside_the_deny_takes_the_topic_away_unnoticed() -> None:
    """The attacker (a careless or malicious consent edit, or a client that rewrites the
    Consent) moves KE's «rus» permit from under the deny to beside it: at equal depth deny
    beats permit, so KE no longer gets «rus». Correct: a narrowing ("permit narrowed") and a
    revocation notice to KE; today: ``()``, nobody told."""
    old = _old()
    new = copy.deepcopy(old)
    moved = new["provision"]["provision"][0].pop("provision")
    new["provision"]["provision"].extend(moved)
    assert not _ke_gets_rus(new)  # the policy takes «rus» away from KE
    assert narrowing(old, new, TODAY) != ()


def test_a_deny_copied_under_another_permit_takes_the_topic_away_unnoticed() -> None:
    """The same actor-less «rus» deny, copied under KE's permit (depth 2), now applies to KE
    and wins. Every deny node of the new version equals one of the old, so "deny added" is not
    found. Correct: a narrowing and a notice to KE; today: ``()``."""
    old = _old()
    new = copy.deepcopy(old)
    permit = new["provision"]["provision"][0]["provision"][0]
    permit["provision"] = [{"type": "deny", "securityLabel": [RUS]}]
    assert not _ke_gets_rus(new)
    assert narrowing(old, new, TODAY) != ()


def test_a_source_environment_added_to_the_base_permit_takes_everything_else_away() -> None:
    """An actor of role AUT (author) does not widen a permit: it limits it to items *from*
    that environment («fra nærmere bestemte fagmiljø», :mod:`adapter.consent.provisions`).
    ``narrowing`` counts every added actor as "more" (``_WIDER_IF_MORE``), so adding the
    hospital as a source to the base permit reads as giving as much — while every recipient
    now gets only what came from the hospital, and KE loses the items of no source (here
    an undated, unlabelled item such as a Goal). Correct: "permit narrowed" and a notice to
    every recipient; today ``()``."""
    old = _sharing()
    new = copy.deepcopy(old)
    source = {
        "role": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "AUT",
                }
            ]
        },
        "reference": {"reference": "Organization/ip1-sykehus"},
    }
    new["provision"]["actor"].append(source)

    def ke_gets_plain_item(consent: dict[str, Any]) -> bool:
        rules = rules_for([consent], Actor(organisation="ke", purpose="COC"), {KE_REF}, TODAY)
        return judge(rules, frozenset(), None)[0]

    assert ke_gets_plain_item(old) and not ke_gets_plain_item(new)
    assert narrowing(old, new, TODAY) != ()
