"""The server's CapabilityStatement (``GET /metadata``), built from the same registries the
server runs on, so it cannot drift from what the server does."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.fhir.plan_rules import DELETABLE_TYPES, IP_PROFILES, READ_ONLY_TYPES
from ipfhir.adapter.fhir.search_params import COMMON_PARAMS, SEARCH_PARAMS

__all__ = ["capability_statement"]

_NO_BASIS = "http://hl7.no/fhir/StructureDefinition/no-basis-"
_NO_BASIS_TYPES = {
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "RelatedPerson",
    "Endpoint",
}
_READS = ("read", "vread", "history-instance", "history-type", "search-type")
_SP_DOC = "http://hl7.org/fhir/SearchParameter/"


def _interactions(rtype: str) -> list[dict[str, str]]:
    codes = list(_READS)
    if rtype not in READ_ONLY_TYPES:
        codes += ["create", "update"]
        if rtype in DELETABLE_TYPES:
            codes.append("delete")
    return [{"code": c} for c in codes]


def _resource(rtype: str, base: str) -> dict[str, Any]:
    params = COMMON_PARAMS + SEARCH_PARAMS[rtype]
    refs = [p.name for p in SEARCH_PARAMS[rtype] if p.kind == "reference"]
    entry: dict[str, Any] = {
        "type": rtype,
        "interaction": _interactions(rtype),
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": rtype not in READ_ONLY_TYPES,
        "conditionalCreate": rtype not in READ_ONLY_TYPES,
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchInclude": [f"{rtype}:{r}" for r in refs],
        "searchRevInclude": sorted(
            f"{other}:{p.name}"
            for other, ps in SEARCH_PARAMS.items()
            for p in ps
            if p.kind == "reference" and (not p.targets or rtype in p.targets)
        ),
        "searchParam": [{"name": p.name, "type": p.kind} for p in params],
        "operation": [
            {
                "name": "validate",
                "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
            }
        ],
    }
    profiles = list(IP_PROFILES.get(rtype, ()))
    if rtype in _NO_BASIS_TYPES:
        profiles.append(_NO_BASIS + rtype)
    if profiles:
        entry["supportedProfile"] = profiles
    if rtype == "CarePlan":
        entry["operation"].append(
            {"name": "everything", "definition": f"{base}/OperationDefinition/CarePlan-everything"}
        )
    return entry


_SECURITY: dict[str, Any] = {
    "cors": False,
    "service": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "OAuth",
                    "display": "OAuth",
                }
            ],
            "text": "OAuth 2.0 bearer tokens (JWT) from the configured issuer, e.g. HelseID",
        }
    ],
    "description": "Every request but /metadata needs Authorization: Bearer <JWT> signed by the "
    "configured issuer's keys (JWKS); the organisation is the token's organisasjonsnummer claim, "
    "the practitioner its HPR number claim, the interactions its SMART system scopes and the "
    "purpose of use its purpose_of_use claim. Every disclosure is checked against the person's "
    "consent.",
}


def capability_statement(base: str, validator: str, date: str) -> dict[str, Any]:
    """The CapabilityStatement for a server at ``base`` (``validator`` names the wiring)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "ip-fhir-adapter",
        "kind": "instance",
        "software": {"name": "ip-fhir-adapter", "version": "0.1.0"},
        "implementation": {
            "description": f"Individual plan FHIR server (validator: {validator})",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml", "json", "xml"],
        "patchFormat": [],
        "rest": [
            {
                "mode": "server",
                "security": _SECURITY,
                "resource": [_resource(t, base) for t in SEARCH_PARAMS],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }
