"""The project's own plans (fixtures/plans) mapped to FHIR by ``mappings.to_fhir`` and stored
through the enforcement point, and every egress path a caller has, rendered as JSON and XML.

Refused elements are found here independently of the engine: by walking the resources for
topic codes of ``cs:ip-information-topic`` (``meta.security`` and any ``valueCoding``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipfhir.adapter.audit import InMemoryAuditSink, InMemoryLedger
from ipfhir.adapter.consent.enforce import ConsentRepository, ConsentRepositoryFactory
from ipfhir.adapter.consent.operation import Enforcement
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, SearchParam, SearchQuery
from ipfhir.mappings.codes import cs_url
from ipfhir.mappings.fhirxml import to_xml
from ipfhir.mappings.plan_io import plan_from_json
from ipfhir.mappings.to_fhir import plan_to_bundle
from tests.unit.consent.fakes import FixedClock, MemoryRepository

Resource = dict[str, Any]
ROOT = Path(__file__).resolve().parents[3] / "fixtures"
TOPIC = cs_url("ip-information-topic")
BY_PATIENT = {
    "CarePlan": "subject",
    "CareTeam": "subject",
    "Goal": "subject",
    "Consent": "patient",
    "RelatedPerson": "patient",
}


def fixture_bundle(name: str) -> Resource:
    return json.loads((ROOT / "bundles" / f"{name}.bundle.json").read_text("utf-8"))  # type: ignore[no-any-return]


def mapped_bundle(name: str, edit: Callable[[Resource], None]) -> Resource:
    """The plan ``name`` with ``edit`` applied to its plan JSON, mapped by the project mapping."""
    data = json.loads((ROOT / "plans" / f"{name}.plan.json").read_text("utf-8"))
    edit(data)
    return plan_to_bundle(plan_from_json(json.dumps(data, ensure_ascii=False)))


def resources_of(bundle: Resource) -> list[Resource]:
    return [e["resource"] for e in bundle["entry"]]


def one(bundle: Resource, rtype: str, suffix: str = "") -> Resource:
    return next(
        r for r in resources_of(bundle) if r["resourceType"] == rtype and r["id"].endswith(suffix)
    )


def identifier(resource: Resource, system_suffix: str) -> str:
    return next(
        str(i["value"]) for i in resource["identifier"] if i["system"].endswith(system_suffix)
    )


def topics(node: Any) -> set[str]:
    """Every topic code anywhere in ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get("system") == TOPIC and "code" in node:
            found.add(str(node["code"]))
        for value in node.values():
            found |= topics(value)
    elif isinstance(node, list):
        for item in node:
            found |= topics(item)
    return found


def refused_parts(bundle: Resource, refused: set[str]) -> set[str]:
    """Ids of the Goals and of the CarePlan elements (activities, needs, resources) that carry a
    refused topic."""
    out: set[str] = set()
    for res in resources_of(bundle):
        if res["resourceType"] == "Goal" and topics(res.get("meta")) & refused:
            out.add(res["id"])
        if res["resourceType"] == "CarePlan":
            for element in [*res.get("activity", []), *res.get("extension", [])]:
                if "id" in element and topics(element) & refused:
                    out.add(element["id"])
    return out


@dataclass
class Place:
    """One stored plan behind the enforcement point, on a fixed day."""

    bundle: Resource
    today: str
    repo: MemoryRepository = field(default_factory=MemoryRepository)
    audit: InMemoryAuditSink = field(default_factory=InMemoryAuditSink)
    ledger: InMemoryLedger = field(default_factory=InMemoryLedger)

    def __post_init__(self) -> None:
        clock = FixedClock(f"{self.today}T10:00:00Z")
        self.factory = ConsentRepositoryFactory(
            Enforcement(self.repo, self.audit, self.ledger, clock, enforce_scopes=False)
        )

    def as_actor(
        self, orgnr: str | None, hpr: str | None = None, roles: tuple[str, ...] = ()
    ) -> ConsentRepository:
        return self.factory.repository_for(Actor(organisation=orgnr, practitioner=hpr, roles=roles))

    @property
    def patient(self) -> str:
        return f"Patient/{one(self.bundle, 'Patient')['id']}"

    @property
    def plan_id(self) -> str:
        return str(one(self.bundle, "CarePlan")["id"])


def egress(place: Place, repo: ConsentRepository) -> list[Resource]:
    """Everything ``repo`` hands out about the plan: read and vread of every resource, searches
    by person (with includes and every page), ``_id`` searches, history, ``$everything`` and a
    batch of GETs."""
    out: list[Resource] = []
    for res in resources_of(place.bundle):
        rtype, rid = res["resourceType"], res["id"]
        with contextlib.suppress(NotFound):
            out.append(repo.read(rtype, rid))
        with contextlib.suppress(NotFound):
            out.append(repo.vread(rtype, rid, "1"))
    for rtype, param in BY_PATIENT.items():
        query = SearchQuery(rtype, (SearchParam(param, (place.patient,)),), count=2)
        out += _pages(repo, query)
        with_includes = SearchQuery(rtype, query.params, include=(f"{rtype}:{param}",))
        out += repo.search(with_includes).includes
    for rtype in {r["resourceType"] for r in resources_of(place.bundle)}:
        ids = tuple(r["id"] for r in resources_of(place.bundle) if r["resourceType"] == rtype)
        out += _pages(repo, SearchQuery(rtype, (SearchParam("_id", ids),)))
        out += [e.resource for e in repo.history(rtype, count=500).entries if e.resource]
    with contextlib.suppress(NotFound):
        out += repo.everything(place.plan_id)
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources_of(place.bundle)
        ],
    }
    out += [e["resource"] for e in repo.transaction(batch)["entry"] if "resource" in e]
    return out


def _pages(repo: ConsentRepository, query: SearchQuery) -> Iterator[Resource]:
    page = repo.search(query)
    while True:
        yield from page.matches
        if page.next_cursor is None:
            return
        page = repo.search(
            SearchQuery(query.resource_type, query.params, 2, cursor=page.next_cursor)
        )


def shown_parts(resources: list[Resource]) -> set[str]:
    """Ids of the Goals and CarePlan elements in what was handed out."""
    out: set[str] = set()
    for res in resources:
        if res.get("resourceType") == "Goal":
            out.add(res["id"])
        if res.get("resourceType") == "CarePlan":
            out |= {
                e["id"] for e in [*res.get("activity", []), *res.get("extension", [])] if "id" in e
            }
    return out


def as_text(resources: list[Resource]) -> tuple[str, str]:
    """(JSON, XML) of what was handed out, as the API would render each resource."""
    return (
        json.dumps(resources, ensure_ascii=False),
        "\n".join(to_xml(r) for r in resources),
    )
