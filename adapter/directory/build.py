"""A directory file for one organisation, as ``ipfhir directory entry`` prints it: a Bundle
(collection) with its Organization and its Endpoint, in the shape
:func:`~adapter.directory.parse.parse_directory` reads (pure; no I/O)."""

from __future__ import annotations

import base64
import json
from typing import Any

from ipfhir.adapter.directory.model import (
    HER_SYSTEM,
    JWKS_EXTENSION,
    KE_CODE,
    LEGACY_CONNECTION_SYSTEM,
    MUNICIPALITY_EXTENSION,
    ORG_TYPE_SYSTEM,
)
from ipfhir.adapter.directory.parse import CONNECTION_SYSTEM
from ipfhir.mappings.identifiers import ORGNR_SYSTEM

__all__ = ["KOMMUNE_SYSTEM", "directory_bundle", "organisation_entry"]

KOMMUNE_SYSTEM = "https://register.geonorge.no/sosi-kodelister/kommunenummer"
Resource = dict[str, Any]


def organisation_entry(
    orgnr: str,
    name: str,
    address: str,
    *,
    kommunenummer: str | None = None,
    coordinating_unit: bool = False,
    jwks_url: str | None = None,
    jwks: dict[str, Any] | None = None,
    payload: tuple[str, ...] = ("ip-plan",),
    her_id: str | None = None,
    legacy: str | None = None,
) -> list[Resource]:
    """[Organization, Endpoint] of one organisation (JWKS by ``jwks_url`` or inline); with
    ``legacy`` (``kith-folder`` or ``kith-amqp``) a KITH XML receiver at ``address``, no JWKS."""
    org: Resource = {
        "resourceType": "Organization",
        "id": f"org-{orgnr}",
        "active": True,
        "identifier": [{"system": ORGNR_SYSTEM, "value": orgnr}],
        "name": name,
        "endpoint": [{"reference": f"Endpoint/endpoint-{orgnr}"}],
    }
    if her_id is not None:
        org["identifier"].append({"system": HER_SYSTEM, "value": her_id})
    if coordinating_unit:
        org["type"] = [{"coding": [{"system": ORG_TYPE_SYSTEM, "code": KE_CODE}]}]
    if kommunenummer is not None:
        coding = {"system": KOMMUNE_SYSTEM, "code": kommunenummer}
        district = {"extension": [{"url": MUNICIPALITY_EXTENSION, "valueCoding": coding}]}
        org["address"] = [{"_district": district}]
    attachment: Resource = {"contentType": "application/jwk-set+json"}
    if jwks_url is not None:
        attachment["url"] = jwks_url
    else:
        attachment["data"] = base64.b64encode(json.dumps(jwks).encode()).decode()
    endpoint: Resource = {
        "resourceType": "Endpoint",
        "id": f"endpoint-{orgnr}",
        "status": "active",
        "connectionType": {"system": CONNECTION_SYSTEM, "code": "hl7-fhir-rest"},
        "payloadType": [{"text": p} for p in payload],
        "address": address,
        "managingOrganization": {"reference": f"Organization/org-{orgnr}"},
        "extension": [{"url": JWKS_EXTENSION, "valueAttachment": attachment}],
    }
    if legacy is not None:
        endpoint["connectionType"] = {"system": LEGACY_CONNECTION_SYSTEM, "code": legacy}
        endpoint["payloadType"] = [{"text": "Dialogmelding-1.1"}]
        del endpoint["extension"]
    return [org, endpoint]


def directory_bundle(*resources: Resource) -> Resource:
    """A collection Bundle of ``resources`` (Organization.endpoint names ``Endpoint/id``)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
