"""A directory file → :class:`DirectoryEntry` list, every rule checked before anything is stored.

The file is a FHIR Bundle (``collection`` or ``transaction``) of Organization and Endpoint
resources; each Organization names its one Endpoint in ``Organization.endpoint`` (``Endpoint/id``
or the Endpoint entry's ``fullUrl``). See :mod:`adapter.directory.model` for where each field
sits. One endpoint per organisation: a second Endpoint managed by an organisation of the file is
refused (IP-6122), never silently dropped; a later load of the organisation replaces its entry.
Refusals are IP-6010–6020 and IP-6122 with the FHIRPath of the offending element.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import urlsplit

import jwt

from ipfhir.adapter.directory.guard_messages import issue_guard
from ipfhir.adapter.directory.messages import DirectoryFileError, issue6
from ipfhir.adapter.directory.model import (
    JWKS_EXTENSION,
    LEGACY_CONNECTION_SYSTEM,
    LEGACY_CONNECTION_TYPES,
    DirectoryEntry,
    Endpoint,
    as_dict,
    dicts,
    her_id_of,
    is_coordinating_unit,
    kommunenummer_of,
    orgnr_of,
    usable_url,
)

__all__ = ["endpoint_of", "entry_of", "parse_directory", "public_jwks"]

Resource = dict[str, Any]
CONNECTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
CONNECTION_TYPES = ("hl7-fhir-rest", "hl7-fhir-msg")
ENDPOINT_STATUS = ("active", "suspended", "error", "off", "entered-in-error", "test")
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def _refuse(message_id: str, where: str | None, **kw: object) -> DirectoryFileError:
    return DirectoryFileError([issue6(message_id, where, "invalid", **kw)])


def parse_directory(bundle: Any) -> list[DirectoryEntry]:
    """Every organisation of ``bundle`` with its endpoint; :class:`DirectoryFileError` on the
    first rule broken (nothing is stored then)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise _refuse("IP-6011", None, detail="the file is not a Bundle")
    if bundle.get("type") not in ("collection", "transaction"):
        raise _refuse("IP-6011", "Bundle.type", detail=f"not type {bundle.get('type')!r}")
    orgs: list[tuple[str, Resource, tuple[str, ...]]] = []
    endpoints: dict[str, tuple[str, Resource]] = {}
    items = bundle.get("entry")
    for n, item in enumerate(items if isinstance(items, list) else []):
        where = f"Bundle.entry[{n}].resource"
        res = as_dict(as_dict(item).get("resource"))
        rtype = res.get("resourceType")
        keys = tuple(
            k
            for k in (f"{rtype}/{res.get('id')}", as_dict(item).get("fullUrl"))
            if isinstance(k, str)
        )
        if rtype == "Organization":
            orgs.append((where, res, keys))
        elif rtype == "Endpoint":
            for key in keys:
                endpoints[key] = (where, res)
        else:
            raise _refuse("IP-6011", where, detail=f"not a {rtype or 'resource'}")
    entries = [_entry(where, org, endpoints) for where, org, _keys in orgs]
    _check_unique(entries, [where for where, _org, _keys in orgs])
    _check_one_endpoint(entries, [keys for _where, _org, keys in orgs], endpoints)
    return entries


def _check_one_endpoint(
    entries: list[DirectoryEntry],
    org_keys: list[tuple[str, ...]],
    endpoints: dict[str, tuple[str, Resource]],
) -> None:
    """One endpoint per organisation: an Endpoint whose ``managingOrganization`` is an
    organisation of the file must be the one that organisation names (IP-6122) — a second
    address for it is refused, never silently dropped or chosen; the one to use is the one
    ``Organization.endpoint`` names. (One Endpoint named by several organisations — one
    adapter serving them — is allowed.)"""
    by_key = {key: entry for entry, keys in zip(entries, org_keys, strict=True) for key in keys}
    for where, res in {id(r): (w, r) for w, r in endpoints.values()}.values():
        managing = str(as_dict(res.get("managingOrganization")).get("reference"))
        entry = by_key.get(managing)
        if entry is None or entry.endpoint is None or entry.endpoint.resource is res:
            continue  # (an organisation naming none has no endpoint: not routable, listed so)
        detail = f"{str(res.get('address'))[:80]} besides {entry.endpoint.address[:80]}"
        raise DirectoryFileError(
            [
                issue_guard(
                    "IP-6122", f"{where}.managingOrganization", orgnr=entry.orgnr, detail=detail
                )
            ]
        )


def _entry(where: str, org: Resource, endpoints: dict[str, tuple[str, Resource]]) -> DirectoryEntry:
    refs = [r.get("reference") for r in dicts(org.get("endpoint"))]
    if len(refs) > 1:
        raise _refuse("IP-6016", f"{where}.endpoint", ref=", ".join(map(str, refs))[:80])
    endpoint = None
    if refs:
        found = endpoints.get(str(refs[0]))
        if found is None:
            raise _refuse("IP-6016", f"{where}.endpoint[0]", ref=str(refs[0])[:80])
        endpoint = endpoint_of(found[1], found[0])
    entry = entry_of(org, endpoint, where)
    if entry.coordinating_unit and entry.kommunenummer is None:
        raise _refuse("IP-6015", f"{where}.address", detail=f"{entry.orgnr} names none")
    return entry


def entry_of(
    org: Resource, endpoint: Endpoint | None, where: str = "Organization"
) -> DirectoryEntry:
    """The entry an Organization (and its parsed Endpoint) describe."""
    return DirectoryEntry(
        orgnr=orgnr_of(org, where),
        name=str(org.get("name") or ""),
        kommunenummer=kommunenummer_of(org, where),
        coordinating_unit=is_coordinating_unit(org),
        active=org.get("active") is not False,
        organization=org,
        endpoint=endpoint,
        her_id=her_id_of(org, where),
    )


def _check_unique(entries: list[DirectoryEntry], wheres: list[str]) -> None:
    seen: set[str] = set()
    units: dict[str, str] = {}
    hers: dict[str, str] = {}
    for entry, where in zip(entries, wheres, strict=True):
        if entry.orgnr in seen:
            raise _refuse("IP-6013", f"{where}.identifier", orgnr=entry.orgnr)
        seen.add(entry.orgnr)
        if entry.her_id is not None:
            other = hers.setdefault(entry.her_id, entry.orgnr)
            if other != entry.orgnr:
                raise _refuse(
                    "IP-6023",
                    f"{where}.identifier",
                    her=entry.her_id,
                    other=other,
                    orgnr=entry.orgnr,
                )
        if entry.coordinating_unit and entry.kommunenummer is not None:
            other = units.setdefault(entry.kommunenummer, entry.orgnr)
            if other != entry.orgnr:
                detail = f"{other} and {entry.orgnr} both for {entry.kommunenummer}"
                raise _refuse("IP-6015", f"{where}.type", detail=detail)


def endpoint_of(res: Resource, where: str = "Endpoint") -> Endpoint:
    """The endpoint ``res`` describes, or IP-6017/6018/6020."""
    status = res.get("status")
    if status not in ENDPOINT_STATUS:
        raise _refuse("IP-6020", f"{where}.status", detail=f"status {status!r}")
    conn = as_dict(res.get("connectionType"))
    if (
        conn.get("system") == LEGACY_CONNECTION_SYSTEM
        and conn.get("code") in LEGACY_CONNECTION_TYPES
    ):
        return _legacy_endpoint(res, where, str(status), str(conn["code"]))
    if conn.get("system") != CONNECTION_SYSTEM or conn.get("code") not in CONNECTION_TYPES:
        detail = f"connectionType must be {' or '.join(CONNECTION_TYPES)} of {CONNECTION_SYSTEM}"
        raise _refuse("IP-6020", f"{where}.connectionType", detail=detail)
    payload = _payload(res, where)
    address = res.get("address")
    if not usable_url(address):
        raise _refuse("IP-6017", f"{where}.address", value=str(address)[:120])
    url, inline = _jwks(where, res)
    return Endpoint(str(address), str(status), str(conn["code"]), payload, url, inline, res)


def _payload(res: Resource, where: str) -> tuple[str, ...]:
    payload = tuple(
        str(c.get("code") or t.get("text"))
        for t in dicts(res.get("payloadType"))
        for c in (dicts(t.get("coding")) or [{}])
        if c.get("code") or t.get("text")
    )
    if not payload:
        raise _refuse("IP-6020", f"{where}.payloadType", detail="payloadType is required (1..*)")
    return payload


def _legacy_endpoint(res: Resource, where: str, status: str, kind: str) -> Endpoint:
    """A KITH XML receiver (see adapter.directory.model): a file:/// folder or an amqp:// queue,
    and no JWKS (it never logs in here)."""
    payload = _payload(res, where)
    address = res.get("address")
    parts = urlsplit(address) if isinstance(address, str) and address.isprintable() else None
    scheme = LEGACY_CONNECTION_TYPES[kind]
    usable = (
        parts is not None
        and parts.scheme == scheme
        and parts.username is None
        and not parts.query
        and not parts.fragment
        and (
            (scheme == "file" and not parts.netloc and parts.path.startswith("/"))
            or (scheme == "amqp" and bool(parts.hostname) and len(parts.path.strip("/")) > 0)
        )
    )
    if not usable:
        raise _refuse("IP-6022", f"{where}.address", value=str(address)[:120])
    if any(e.get("url") == JWKS_EXTENSION for e in dicts(res.get("extension"))):
        detail = "a legacy endpoint has no JWKS: it never logs in"
        raise _refuse("IP-6018", f"{where}.extension", detail=detail)
    return Endpoint(str(address), status, kind, payload, None, None, res)


def _jwks(where: str, res: Resource) -> tuple[str | None, dict[str, Any] | None]:
    found = [e for e in dicts(res.get("extension")) if e.get("url") == JWKS_EXTENSION]
    path = f"{where}.extension('{JWKS_EXTENSION}')"
    if len(found) != 1 or not isinstance(found[0].get("valueAttachment"), dict):
        raise _refuse("IP-6018", path, detail="exactly one is required, with a valueAttachment")
    attachment = found[0]["valueAttachment"]
    if "url" in attachment and "data" not in attachment:
        if not usable_url(attachment["url"]):
            raise _refuse("IP-6018", path, detail="url must be https (http only to 127.0.0.1)")
        return str(attachment["url"]), None
    try:
        keys = json.loads(base64.b64decode(str(attachment.get("data")), validate=True))
    except (binascii.Error, ValueError) as err:
        raise _refuse("IP-6018", path, detail=f"data is not base64 of JSON ({err})") from None
    return None, public_jwks(keys, path)


def public_jwks(keys: Any, path: str | None = None) -> dict[str, Any]:
    """``keys`` if it is a JWKS of public signing keys (RSA or EC) PyJWT can use, else
    IP-6018. A private or symmetric key is refused: it would be a secret in a shared file."""
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list) or not keys["keys"]:
        raise _refuse("IP-6018", path, detail="not a JWKS with at least one key")
    for key in keys["keys"]:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            raise _refuse("IP-6018", path, detail="only RSA and EC public keys are accepted")
        if any(member in key for member in _PRIVATE_MEMBERS):
            raise _refuse(
                "IP-6018", path, detail="it holds a private key: publish public keys only"
            )
    try:
        jwt.PyJWKSet.from_dict(keys)
    except jwt.PyJWTError as err:
        raise _refuse("IP-6018", path, detail=str(err)[:120]) from None
    return keys
