"""The Organizations and the Patient a received notification is filed under, bound on the
receiver's write transaction.

- **Organizations** (the sender, ``requester``; the addressee, ``owner``): never one found by
  organisasjonsnummer among the store's Organizations — any caller with the scope may create
  one bearing any number, and staff following the Task's reference would call whoever wrote
  it. Each organisation has one system resource with an id derived from its number
  (:func:`organisation_id`), written from this adapter's directory (its number, its name): a
  resource found there with other content (written there by a caller) is overwritten first.
- **The Patient**: the one with the same fødselsnummer or D-nummer, looked up after a lock on
  that identifier (the store's criteria lock of conditional create), so concurrent messages
  about one person find the Patient the first one created instead of creating one each.

What is written here is returned, for the message's AuditEvent.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import Connection

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store.conditional import lock_criteria
from ipfhir.adapter.store.driver_sql import read_current
from ipfhir.adapter.store.repository import SqlRepository
from ipfhir.mappings.codes import REVOKED_LABEL
from ipfhir.mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM, ORGNR_SYSTEM

__all__ = ["bind_organisation", "bind_patient", "is_sealed", "organisation_id"]

Resource = dict[str, Any]
_ORGANISATIONS = uuid.UUID("5b0f8e51-2d7c-4c5e-9a63-1f3c0d8e7a42")  # namespace of their ids


def organisation_id(orgnr: str) -> str:
    return str(uuid.uuid5(_ORGANISATIONS, f"{ORGNR_SYSTEM}|{orgnr}"))


def _lock(conn: Connection, rtype: str, name: str, value: str) -> None:
    lock_criteria(conn, SearchQuery(rtype, (SearchParam(name, (value,)),)))


def bind_organisation(
    repository: SqlRepository, conn: Connection, orgnr: str, name: str
) -> tuple[str, list[Resource]]:
    """``Organization/<id>`` of ``orgnr`` (with ``name`` from the directory), and what was
    written for it (nothing when the system resource is as it should be)."""
    rid = organisation_id(orgnr)
    wanted: Resource = {
        "resourceType": "Organization",
        "identifier": [{"system": ORGNR_SYSTEM, "value": orgnr}],
        "name": name,
    }
    _lock(conn, "Organization", "_id", rid)
    current = read_current(conn, "Organization", rid)
    if current is not None and not current[0]:
        body = orjson.loads(current[1])
        if {k: v for k, v in body.items() if k not in ("id", "meta")} == wanted:
            return f"Organization/{rid}", []
    stored, _created = repository.writer.update(conn, "Organization", rid, wanted, None)
    return f"Organization/{rid}", [stored]


def is_sealed(resource: Resource) -> bool:
    """Labelled :data:`~mappings.codes.REVOKED_LABEL` (:mod:`adapter.sync.revocation`)."""
    wanted = (REVOKED_LABEL["system"], REVOKED_LABEL["code"])
    labels = dicts(as_dict(resource.get("meta")).get("security"))
    return any((s.get("system"), s.get("code")) == wanted for s in labels)


def bind_patient(
    repository: SqlRepository, conn: Connection, patient: Resource
) -> tuple[str, Resource, list[Resource]]:
    """``Patient/<id>`` the person of ``patient`` (the message's copy) is filed under, the
    stored Patient, and what was written (the message's copy, when the person is new here)."""
    for ident in dicts(patient.get("identifier")):
        system, value = ident.get("system"), ident.get("value")
        if system in (FNR_SYSTEM, DNR_SYSTEM) and isinstance(value, str):
            query = SearchQuery(
                "Patient", (SearchParam("identifier", (f"{system}|{value}",)),), count=20
            )
            lock_criteria(conn, query)
            # one received under a consent since withdrawn stays sealed: never filed under again
            found = [p for p in repository._search(conn, query).matches if not is_sealed(p)]
            if found:
                return f"Patient/{found[0]['id']}", found[0], []
    received = {k: v for k, v in patient.items() if k not in ("id", "meta")}
    if dicts(as_dict(patient.get("meta")).get("security")):  # the sender's REDACTED label stays
        received["meta"] = {"security": patient["meta"]["security"]}
    stored = repository.writer.create(conn, received, str(uuid.uuid4()))
    return f"Patient/{stored['id']}", stored, [stored]
