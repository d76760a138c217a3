"""Explanations: what an actor would get of a resource and why, as a FHIR ``Parameters``.

One ``decision`` parameter per resource with parts ``resource`` (reference), ``effect``
(permit / deny / redact), ``basis`` (owner, coordinator, consent, directory, none), one ``reason``
per reason (``consent``, ``provision`` FHIRPath, ``text``) and one ``removed`` per element
removed (FHIRPath and why).
"""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.consent.context import ref_of
from ipfhir.adapter.consent.policy import Decision
from ipfhir.adapter.ports import Actor

__all__ = ["explanation"]

Resource = dict[str, Any]


def _actor_part(actor: Actor) -> Resource:
    parts = [
        {"name": name, "valueString": value}
        for name, value in (
            ("organisation", actor.organisation),
            ("practitioner", actor.practitioner),
            ("purpose", actor.purpose),
        )
        if value
    ]
    return {"name": "actor", "part": parts}


def _decision_part(resource: Resource, decision: Decision) -> Resource:
    parts: list[Resource] = [
        {"name": "resource", "valueReference": {"reference": ref_of(resource)}},
        {"name": "effect", "valueCode": decision.effect},
        {"name": "basis", "valueCode": decision.basis},
    ]
    for reason in decision.reasons:
        sub: list[Resource] = [{"name": "text", "valueString": reason.text}]
        if reason.consent:
            sub.append({"name": "consent", "valueReference": {"reference": reason.consent}})
        if reason.provision:
            sub.append({"name": "provision", "valueString": reason.provision})
        parts.append({"name": "reason", "part": sub})
    for removal in decision.removed:
        parts.append(
            {
                "name": "removed",
                "part": [
                    {"name": "path", "valueString": removal.path},
                    {"name": "why", "valueString": removal.reason},
                ],
            }
        )
    return {"name": "decision", "part": parts}


def explanation(actor: Actor, judged: list[tuple[Resource, Decision]]) -> Resource:
    return {
        "resourceType": "Parameters",
        "parameter": [_actor_part(actor)] + [_decision_part(r, d) for r, d in judged],
    }
