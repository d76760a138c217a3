"""An in-memory ResourceRepository (versions, history, simple search with paging, includes,
$everything, transaction/batch, change stamps as ``adapter.ports.ChangeStamps`` describes them)
and a fixed clock — enough to drive the enforcement point without a database."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ipfhir.adapter.consent.context import references_in
from ipfhir.adapter.errors import Conflict, Gone, NotFound, PreconditionFailed, issue
from ipfhir.adapter.fhir.person_ties import CONTEXT_TYPES
from ipfhir.adapter.ports import (
    HistoryEntry,
    HistoryPage,
    SearchQuery,
    SearchResult,
    WriteOutcome,
)

Resource = dict[str, Any]
_REF_PARAMS = {
    "subject": "subject",
    "patient": "patient",
    "care-team": "careTeam",
    "practitioner": "practitioner",
    "organization": "organization",
    "participant": "participant.member",
    "actor": "provision.actor.reference",
}
_DIRECTORY = {
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Endpoint",
    "HealthcareService",
    "Location",
}


def stamp_keys(rtype: str, rid: str, resource: Resource | None) -> set[str]:
    """What a write of ``rtype/rid`` (as ``resource``) changes: the directory, the Patient, or
    the person its ``subject``/``patient``/``beneficiary``/``for`` or a Provenance's target
    names — for the types a cached context holds only (``CONTEXT_TYPES``), as the store."""
    if rtype in _DIRECTORY:
        return {"*"}
    if rtype == "Patient":
        return {f"Patient/{rid}"}
    keys: set[str] = set()
    if rtype not in CONTEXT_TYPES:
        return keys
    for name in ("subject", "patient", "beneficiary", "for", "target"):
        value = (resource or {}).get(name) or {}
        for item in value if isinstance(value, list) else [value]:
            ref = str(item.get("reference", "")) if isinstance(item, dict) else ""
            if ref.startswith("Patient/"):
                keys.add(ref.split("/_history/")[0])
    return keys


def _references_at(resource: Resource, path: str) -> list[str]:
    """The ``reference`` strings at a dotted path (lists followed at every step)."""
    nodes: list[Any] = [resource]
    for key in path.split("."):
        step: list[Any] = []
        for node in nodes:
            value = node.get(key) if isinstance(node, dict) else None
            step += value if isinstance(value, list) else [value] if value is not None else []
        nodes = step
    return [str(n.get("reference")) for n in nodes if isinstance(n, dict) and n.get("reference")]


@dataclass
class FixedClock:
    instant: str = "2026-06-01T10:00:00Z"

    def now_iso(self) -> str:
        return self.instant


class MemoryRepository:
    def __init__(self) -> None:
        self.current: dict[tuple[str, str], Resource | None] = {}
        self.versions: list[HistoryEntry] = []
        self._ids = itertools.count(1)
        self.stamp_table: dict[str, int] = {}
        self.stamp_reads = 0

    def _bump(self, rtype: str, rid: str, *versions: Resource | None) -> None:
        for key in set().union(*(stamp_keys(rtype, rid, v) for v in versions)):
            self.stamp_table[key] = self.stamp_table.get(key, 0) + 1

    def stamps(self, patient_refs: Sequence[str]) -> dict[str, int]:
        self.stamp_reads += 1
        return {k: self.stamp_table.get(k, 0) for k in ("*", *patient_refs)}

    # --- helpers ---------------------------------------------------------------------------
    def put(self, resource: Resource) -> Resource:
        rtype, rid = resource["resourceType"], resource.get("id") or f"gen{next(self._ids)}"
        version = sum(1 for v in self.versions if (v.resource_type, v.resource_id) == (rtype, rid))
        stored = copy.deepcopy(resource)
        stored["id"] = rid
        stored["meta"] = {**stored.get("meta", {}), "versionId": str(version + 1)}
        self._bump(rtype, rid, self.current.get((rtype, rid)), stored)
        self.current[(rtype, rid)] = stored
        method = "PUT" if version else "POST"
        entry = HistoryEntry(rtype, rid, str(version + 1), "2026-01-01T00:00:00Z", method, stored)
        self.versions.append(entry)
        return copy.deepcopy(stored)

    def _nf(self, rtype: str, rid: str) -> NotFound:
        return NotFound([issue("IP-4201", rtype, "not-found", rtype=rtype, rid=rid)])

    # --- ResourceRepository ----------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> Resource:
        found = self.current.get((resource_type, resource_id))
        if found is None:
            if (resource_type, resource_id) in self.current:
                raise Gone(
                    [
                        issue(
                            "IP-4202",
                            resource_type,
                            "deleted",
                            rtype=resource_type,
                            rid=resource_id,
                        )
                    ]
                )
            raise self._nf(resource_type, resource_id)
        return copy.deepcopy(found)

    def _version(self, rtype: str, rid: str) -> int | None:
        found = [
            int(v.version_id)
            for v in self.versions
            if (v.resource_type, v.resource_id) == (rtype, rid)
        ]
        return max(found) if found else None

    def _check_match(self, rtype: str, rid: str, if_match: str | None) -> None:
        current = self._version(rtype, rid)
        if if_match is not None and str(current) != if_match:
            raise PreconditionFailed(
                [
                    issue(
                        "IP-4402",
                        "Resource.meta.versionId",
                        "conflict",
                        expected=if_match,
                        current=current,
                    )
                ]
            )

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource:
        for v in self.versions:
            if (v.resource_type, v.resource_id, v.version_id) == (
                resource_type,
                resource_id,
                version_id,
            ) and v.resource is not None:
                return copy.deepcopy(v.resource)
        raise self._nf(resource_type, resource_id)

    def history(
        self,
        resource_type: str,
        resource_id: str | None = None,
        *,
        count: int = 20,
        since: str | None = None,
        cursor: str | None = None,
    ) -> HistoryPage:
        rows = [
            v
            for v in reversed(self.versions)
            if v.resource_type == resource_type and resource_id in (None, v.resource_id)
        ]
        start = int(cursor or 0)
        page = rows[start : start + count]
        nxt = str(start + count) if start + count < len(rows) else None
        return HistoryPage(copy.deepcopy(page), len(rows), nxt, None)

    def _matches(self, res: Resource, query: SearchQuery) -> bool:
        for p in query.params:
            if p.name == "_id":
                ok = res.get("id") in p.values
            elif p.name in _REF_PARAMS:
                ok = any(r in p.values for r in _references_at(res, _REF_PARAMS[p.name]))
            else:
                raise AssertionError(f"fake search has no parameter {p.name}")
            if not ok:
                return False
        return True

    def search(self, query: SearchQuery) -> SearchResult:
        rows = sorted(
            (r for (t, _), r in self.current.items() if t == query.resource_type and r),
            key=lambda r: r["id"],
        )
        rows = [r for r in rows if self._matches(r, query)]
        if query.summary_count:
            return SearchResult([], [], len(rows))
        start = int(query.cursor or 0)
        page = rows[start : start + query.count]
        nxt = str(start + query.count) if start + query.count < len(rows) else None
        includes: list[Resource] = []
        if query.include or query.revinclude:
            refs = {ref for r in page for ref in references_in(r)}
            includes = [r for (t, i), r in self.current.items() if r and f"{t}/{i}" in refs]
            mine = {f"{r['resourceType']}/{r['id']}" for r in page}
            includes += [
                r
                for r in self.current.values()
                if r and set(references_in(r)) & mine and r not in page
            ]
        if query.binding is None:
            return SearchResult(copy.deepcopy(page), copy.deepcopy(includes), len(rows), nxt, None)
        # a bound search (the enforcement point): each row's tokens, offsets in this fake
        tokens = tuple((str(j), str(j + 1)) for j in range(start, start + len(page)))
        return SearchResult(copy.deepcopy(page), copy.deepcopy(includes), None, nxt, None, tokens)

    def everything(self, careplan_id: str) -> list[Resource]:
        plan = self.read("CarePlan", careplan_id)
        patient = plan["subject"]["reference"]
        out = [plan]
        for (_t, _i), res in sorted(self.current.items()):
            if res and res is not None and (t := res["resourceType"]) != "CarePlan":
                refs = set(references_in(res))
                if patient in refs or f"{t}/{res['id']}" in set(references_in(plan)):
                    out.append(copy.deepcopy(res))
        return out

    def create(self, resource: Resource) -> Resource:
        resource = dict(resource)
        resource.pop("id", None)
        return self.put(resource)

    def conditional_create(self, resource: Resource, criteria: SearchQuery) -> WriteOutcome:
        found = self.search(criteria).matches
        if found:
            return WriteOutcome(found[0], False)
        return WriteOutcome(self.create(resource), True)

    def update(
        self,
        resource_type: str,
        resource_id: str,
        resource: Resource,
        if_match: str | None = None,
        *,
        create_only: bool = False,
    ) -> WriteOutcome:
        self._check_match(resource_type, resource_id, if_match)
        created = self.current.get((resource_type, resource_id)) is None
        if create_only and not created:
            raise Conflict([issue("IP-4404", "Resource.id", "conflict")])
        return WriteOutcome(self.put({**resource, "id": resource_id}), created)

    def delete(self, resource_type: str, resource_id: str, if_match: str | None = None) -> None:
        if (resource_type, resource_id) not in self.current:
            raise self._nf(resource_type, resource_id)
        self._check_match(resource_type, resource_id, if_match)
        if self.current[(resource_type, resource_id)] is None:
            return  # already deleted
        old = self.read(resource_type, resource_id)
        version = str(int(old["meta"]["versionId"]) + 1)
        self._bump(resource_type, resource_id, old)
        self.current[(resource_type, resource_id)] = None
        self.versions.append(
            HistoryEntry(
                resource_type, resource_id, version, "2026-01-02T00:00:00Z", "DELETE", None
            )
        )

    def transaction(self, bundle: Resource) -> Resource:
        out = []
        for entry in bundle.get("entry", []):
            method = entry["request"]["method"]
            url = entry["request"]["url"]
            if method == "GET":
                rtype, rid = url.split("/")
                res = self.read(rtype, rid)
                out.append({"resource": res, "response": {"status": "200 OK"}})
            elif method == "PUT":
                rtype, rid = url.split("/")
                res = self.update(rtype, rid, entry["resource"]).resource
                out.append({"resource": res, "response": {"status": "200 OK"}})
            elif method == "POST":
                out.append(
                    {
                        "resource": self.create(entry["resource"]),
                        "response": {"status": "201 Created"},
                    }
                )
            else:
                rtype, rid = url.split("/")
                self.delete(rtype, rid)
                out.append({"response": {"status": "204 No Content"}})
        kind = "batch-response" if bundle.get("type") == "batch" else "transaction-response"
        return {"resourceType": "Bundle", "type": kind, "entry": out}
