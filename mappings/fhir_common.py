"""Shared pieces of the plan ⇄ FHIR mapping: ids, references, extensions, periods, contacts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ipfhir.mappings import codes
from ipfhir.mappings.model import Address, Contact, Identifier, Period

__all__ = [
    "IDENTIFIER_SYSTEMS",
    "SYSTEM_NAMES",
    "Json",
    "address_from_fhir",
    "contact_to_fhir",
    "date_or_none",
    "ext",
    "ext_values",
    "find_ext",
    "full_url",
    "contact_from_fhir",
    "identifier_to_fhir",
    "patient_id",
    "period_from_fhir",
    "period_to_fhir",
    "ref",
    "scoped_id",
    "telecom_from_fhir",
]

Json = dict[str, Any]

IDENTIFIER_SYSTEMS = {
    "fnr": "urn:oid:2.16.578.1.12.4.1.4.1",
    "dnr": "urn:oid:2.16.578.1.12.4.1.4.2",
    "hpr": "urn:oid:2.16.578.1.12.4.1.4.4",
    "orgnr": "urn:oid:2.16.578.1.12.4.1.4.101",
    "resh": "urn:oid:2.16.578.1.12.4.1.4.102",
}
SYSTEM_NAMES = {v: k for k, v in IDENTIFIER_SYSTEMS.items()}
_NAMESPACE = uuid.UUID("6f1c3a52-8c55-5f0e-9a51-7b3c1f0a4e21")


def patient_id(plan_id: str) -> str:
    """The id of the plan's Patient: scoped to the plan like every other id of it, so that it
    says nothing of the person (an id derived from the fødselsnummer let anyone compute it and
    probe for the person's record, issue 9). The person is found by identifier
    (``Patient?identifier=``), never by id."""
    return scoped_id(plan_id, "person")


def scoped_id(plan_id: str, local_id: str) -> str:
    return f"{plan_id}-{local_id}"


def full_url(resource_type: str, resource_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{resource_type}/{resource_id}')}"


def ref(resource_type: str, resource_id: str) -> Json:
    return {"reference": f"{resource_type}/{resource_id}"}


def ext(name: str, value_key: str, value: Any) -> Json:
    return {"url": codes.ext_url(name), value_key: value}


def find_ext(element: Json, name: str) -> list[Json]:
    url = codes.ext_url(name)
    return [e for e in element.get("extension", []) if e.get("url") == url]


def ext_values(element: Json, name: str, value_key: str) -> list[Any]:
    return [e[value_key] for e in find_ext(element, name) if value_key in e]


def identifier_to_fhir(identifier: Identifier) -> Json:
    return {"system": IDENTIFIER_SYSTEMS[identifier.system], "value": identifier.value}


def period_to_fhir(period: Period) -> Json:
    out: Json = {}
    if period.start is not None:
        out["start"] = period.start.isoformat()
    if period.end is not None:
        out["end"] = period.end.isoformat()
    return out


def date_or_none(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value[:10])


def period_from_fhir(period: Json | None) -> Json:
    period = period or {}
    return {k: period[k][:10] for k in ("start", "end") if k in period}


def contact_to_fhir(contact: Contact | None) -> Json:
    """telecom and address of a person or organisation (empty dict when nothing is known)."""
    out: Json = {}
    if contact is None:
        return out
    telecom = []
    if contact.phone is not None:
        telecom.append({"system": "phone", "value": contact.phone})
    if contact.email is not None:
        telecom.append({"system": "email", "value": contact.email})
    if telecom:
        out["telecom"] = telecom
    if contact.address is not None:
        out["address"] = [_address_to_fhir(contact.address)]
    return out


def _address_to_fhir(address: Address) -> Json:
    out: Json = {}
    if address.lines:
        out["line"] = list(address.lines)
    if address.postal_code is not None:
        out["postalCode"] = address.postal_code
    if address.city is not None:
        out["city"] = address.city
    return out


def telecom_from_fhir(resource: Json) -> Json:
    out: Json = {}
    for point in resource.get("telecom", []):
        if point.get("system") in ("phone", "email") and point.get("system") not in out:
            out[point["system"]] = point.get("value")
    return out


def address_from_fhir(resource: Json) -> Json | None:
    addresses = resource.get("address")
    if not addresses:
        return None
    a = addresses[0]
    out: Json = {}
    if "line" in a:
        out["lines"] = list(a["line"])
    if "postalCode" in a:
        out["postal_code"] = a["postalCode"]
    if "city" in a:
        out["city"] = a["city"]
    return out


def contact_from_fhir(*resources: Json) -> Json | None:
    """The plan's contact object from telecom/address found on the given resources."""
    out: Json = {}
    for resource in resources:
        for key, value in telecom_from_fhir(resource).items():
            out.setdefault(key, value)
        address = address_from_fhir(resource)
        if address is not None:
            out.setdefault("address", address)
    return out or None
