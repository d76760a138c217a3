"""Directory entries read from FHIR Organization and Endpoint resources (pure: no I/O).

An entry is one organisation (organisasjonsnummer, kommunenummer, whether it is a coordinating
unit — koordinerende enhet, KE) and its one endpoint (FHIR base address, connection and payload
types, and the JWKS that signs the organisation's client assertions). Where each sits in FHIR:

- organisasjonsnummer: ``Organization.identifier`` with system ``urn:oid:2.16.578.1.12.4.1.4.101``
  (mod-11 checksum checked);
- kommunenummer: ``Organization.address.district`` extension ``no-basis-municipalitycode``
  (``_district.extension[].valueCoding.code``, as no-basis 2.2.0 defines it);
- KE: a coding ``koordinerende-enhet`` of CodeSystem ``ip-organisation-type``, in
  ``Organization.type`` or the ``ip-organisation-type`` extension (as the plan mapping writes it);
- JWKS: Endpoint extension ``ip-endpoint-jwks``, ``valueAttachment`` with ``url`` (fetched, and
  again for an unknown key id) or ``data`` (base64 of the JWKS itself). Public keys only;
- HER-id (Adresseregisteret, the address of legacy messaging over Norsk Helsenett):
  ``Organization.identifier`` with system ``urn:oid:2.16.578.1.12.4.1.2``, beside the
  organisasjonsnummer; at most one.

Legacy receivers: an Endpoint whose ``connectionType`` is ``kith-folder`` or ``kith-amqp`` of
CodeSystem ``ip-endpoint-connection-type`` takes MsgHead + Dialogmelding (KITH XML) instead of
FHIR messages: its ``address`` is ``file:///folder`` (the folder the EPJ's communication program
picks messages up from) or ``amqp://host[:port]/queue``; it has no JWKS (a legacy system never
logs in here). Routing picks the transport by this: :attr:`Endpoint.legacy`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ipfhir.adapter.directory.messages import DirectoryFileError, issue6
from ipfhir.mappings.codes import cs_url, ext_url
from ipfhir.mappings.identifiers import ORGNR_SYSTEM, is_valid_orgnr

__all__ = [
    "HER_SYSTEM",
    "JWKS_EXTENSION",
    "LEGACY_CONNECTION_SYSTEM",
    "LEGACY_CONNECTION_TYPES",
    "KE_CODE",
    "MUNICIPALITY_EXTENSION",
    "ORG_TYPE_SYSTEM",
    "TOKEN_PATH",
    "DirectoryEntry",
    "Endpoint",
    "as_dict",
    "dicts",
    "is_kommunenummer",
    "her_id_of",
    "kommunenummer_of",
    "is_coordinating_unit",
    "orgnr_of",
    "person_kommunenummer",
    "usable_url",
]

Resource = dict[str, Any]
JWKS_EXTENSION = ext_url("ip-endpoint-jwks")
MUNICIPALITY_EXTENSION = "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode"
ORG_TYPE_SYSTEM = cs_url("ip-organisation-type")
KE_CODE = "koordinerende-enhet"
HER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2"
LEGACY_CONNECTION_SYSTEM = cs_url("ip-endpoint-connection-type")
LEGACY_CONNECTION_TYPES = {"kith-folder": "file", "kith-amqp": "amqp"}  # -> address scheme
TOKEN_PATH = "/auth/token"  # the token endpoint under an adapter's FHIR base
_KOMMUNE = re.compile(r"(0[1-9]|[1-4][0-9]|5[0-6])(0[1-9]|[1-9][0-9])")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Endpoint:
    """Where an organisation receives (``address``: its FHIR base) and which keys sign for it."""

    address: str
    status: str
    connection_type: str
    payload_types: tuple[str, ...]
    jwks_url: str | None
    jwks: dict[str, Any] | None  # inline JWKS (public keys)
    resource: Resource

    @property
    def legacy(self) -> bool:
        """Does this endpoint take KITH XML (MsgHead + Dialogmelding) rather than FHIR?"""
        return self.connection_type in LEGACY_CONNECTION_TYPES

    @property
    def token_url(self) -> str:
        """The receiver's token endpoint: the audience of a client assertion sent to it."""
        return self.address.rstrip("/") + TOKEN_PATH


@dataclass(frozen=True)
class DirectoryEntry:
    orgnr: str
    name: str
    kommunenummer: str | None
    coordinating_unit: bool
    active: bool
    organization: Resource
    endpoint: Endpoint | None
    her_id: str | None = None  # HER-id (Adresseregisteret)

    @property
    def routable(self) -> bool:
        """Active, with an active endpoint: something may be sent to it and it may log in."""
        return self.active and self.endpoint is not None and self.endpoint.status == "active"


def dicts(value: Any) -> list[Resource]:
    """The JSON objects of a list element (anything else in a file is skipped, not a crash)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def as_dict(value: Any) -> Resource:
    return value if isinstance(value, dict) else {}


def is_kommunenummer(value: str) -> bool:
    """Four digits: a county (fylke) 01–56 and a municipality 01–99 within it."""
    return bool(_KOMMUNE.fullmatch(value))


def usable_url(value: Any) -> bool:
    """An absolute https URL (http only to this machine, for dev mode), without user info,
    query or fragment: a key source or an address an attacker cannot swap on the way."""
    if not isinstance(value, str) or not value.isprintable():
        return False
    parts = urlsplit(value)
    if parts.username is not None or parts.query or parts.fragment or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


def orgnr_of(org: Resource, where: str) -> str:
    values = {
        str(i.get("value")) for i in dicts(org.get("identifier")) if i.get("system") == ORGNR_SYSTEM
    }
    if len(values) != 1:
        detail = "none given" if not values else "more than one given"
        raise DirectoryFileError([issue6("IP-6012", f"{where}.identifier", detail=detail)])
    [orgnr] = values
    if not is_valid_orgnr(orgnr):
        raise DirectoryFileError(
            [issue6("IP-6012", f"{where}.identifier", "value", detail=repr(orgnr)[:40])]
        )
    return orgnr


def her_id_of(org: Resource, where: str) -> str | None:
    """The organisation's HER-id (digits, at most one), or IP-6021."""
    values = {
        str(i.get("value")) for i in dicts(org.get("identifier")) if i.get("system") == HER_SYSTEM
    }
    if len(values) > 1 or any(not (v.isascii() and v.isdigit() and len(v) <= 12) for v in values):
        shown = ", ".join(sorted(values))[:60]
        raise DirectoryFileError([issue6("IP-6021", f"{where}.identifier", value=shown)])
    return values.pop() if values else None


def kommunenummer_of(org: Resource, where: str) -> str | None:
    codes: list[str] = []
    for address in dicts(org.get("address")):
        for ext in dicts(as_dict(address.get("_district")).get("extension")):
            if ext.get("url") == MUNICIPALITY_EXTENSION:
                codes.append(str(as_dict(ext.get("valueCoding")).get("code")))
    for code in codes:
        if not is_kommunenummer(code):
            path = f"{where}.address.district"
            raise DirectoryFileError([issue6("IP-6014", path, "value", value=code[:20])])
    if len(set(codes)) > 1:
        detail = f"the Organization names {len(set(codes))} kommunenummer"
        raise DirectoryFileError([issue6("IP-6015", f"{where}.address", detail=detail)])
    return codes[0] if codes else None


def person_kommunenummer(patient: Resource, today: str) -> str | None:
    """The kommunenummer to route a person's message by: of the home address in force on
    ``today`` (ISO date; ``use`` home, or no ``use``, and no ``period.end`` before today);
    ``None`` when no such address names exactly one valid kommunenummer."""
    found: set[str] = set()
    for address in dicts(patient.get("address")):
        ended = as_dict(address.get("period")).get("end")
        if address.get("use", "home") != "home" or (isinstance(ended, str) and ended < today):
            continue
        for ext in dicts(as_dict(address.get("_district")).get("extension")):
            code = as_dict(ext.get("valueCoding")).get("code")
            if ext.get("url") == MUNICIPALITY_EXTENSION and isinstance(code, str):
                found.add(code)
    valid = {code for code in found if is_kommunenummer(code)}
    return valid.pop() if len(valid) == 1 and len(found) == 1 else None


def is_coordinating_unit(org: Resource) -> bool:
    codings = [c for t in dicts(org.get("type")) for c in dicts(t.get("coding"))]
    codings += [
        as_dict(e.get("valueCoding"))
        for e in dicts(org.get("extension"))
        if e.get("url") == ext_url("ip-organisation-type")
    ]
    return any(c.get("system") == ORG_TYPE_SYSTEM and c.get("code") == KE_CODE for c in codings)
