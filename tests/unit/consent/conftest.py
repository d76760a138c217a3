from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from ipfhir.adapter.audit import InMemoryAuditSink, InMemoryLedger
from ipfhir.adapter.consent.enforce import ConsentRepositoryFactory
from ipfhir.adapter.consent.operation import Enforcement
from ipfhir.adapter.consent.policy import OWNER_ROLE
from ipfhir.adapter.ports import Actor
from ipfhir.mappings.identifiers import synthetic_orgnr
from tests.unit.consent.builders import Item, Org, PlanSpec, Prac, Sharing, build
from tests.unit.consent.fakes import FixedClock, MemoryRepository

_rng = random.Random(2026)
ORGNR = {key: synthetic_orgnr(_rng) for key in ("kommune", "sykehus", "nav", "skole", "annen")}
HPR = {"koord": "9100001", "fysio": "9100002", "lege": "9100003", "laerer": "9100004"}
OWNER = (OWNER_ROLE,)  # the role claim of the owning organisation's coordinating unit


def standard_spec(**sharing: object) -> PlanSpec:
    """Bærum kommune owns the plan; the hospital, NAV and a teacher are recipients; the person
    refused «rus» (topic), NAV (environment) and one hospital doctor (individual)."""
    defaults: dict[str, object] = {
        "recipients": ("org:sykehus", "org:nav", "prac:laerer"),
        "refused_topics": ("rus",),
        "refused_orgs": ("nav",),
        "refused_pracs": ("lege",),
    }
    defaults.update(sharing)
    return PlanSpec(
        orgs=[
            Org("kommune", ORGNR["kommune"], "Bærum kommune"),
            Org("sykehus", ORGNR["sykehus"], "Vestre Viken HF"),
            Org("nav", ORGNR["nav"], "NAV Bærum"),
            Org("skole", ORGNR["skole"], "Høvik skole"),
        ],
        pracs=[
            Prac("koord", HPR["koord"], "kommune", "Åse Sørli"),
            Prac("fysio", HPR["fysio"], "sykehus", "Máret Gaup"),
            Prac("lege", HPR["lege"], "sykehus", "Øystein Lærum"),
            Prac("laerer", HPR["laerer"], "skole", "Bjørg Ås"),
        ],
        coordinator="koord",
        team=("prac:fysio", "prac:lege", "org:nav"),
        goals=[Item("g1"), Item("g2", "rus"), Item("g3", "psykisk-helse")],
        measures=[
            Item("m1", goals=("g1",), performer="prac:fysio"),  # the physiotherapist's measure
            Item("m2", "rus", goals=("g2",)),
            Item("m3", goals=("g2",)),
        ],
        needs=[Item("n1", "okonomi"), Item("n2", "rus")],
        strengths=[Item("s1")],
        sharing=Sharing(**defaults),  # type: ignore[arg-type]
    )


@dataclass
class World:
    spec: PlanSpec
    repo: MemoryRepository
    factory: ConsentRepositoryFactory
    audit: InMemoryAuditSink
    ledger: InMemoryLedger

    def as_org(
        self,
        key: str,
        practitioner: str | None = None,
        purpose: str | None = "COC",
        roles: tuple[str, ...] = (),
    ) -> object:
        actor = Actor(
            organisation=ORGNR[key],
            practitioner=HPR.get(practitioner or ""),
            roles=roles,
            purpose=purpose,
        )
        return self.factory.repository_for(actor)

    def as_owner(self) -> object:
        """The owning organisation's coordinating unit (its orgnr and the role claim)."""
        return self.as_org(self.spec.owner, roles=OWNER)


def make_world(spec: PlanSpec, enforce_scopes: bool = False) -> World:
    repo = MemoryRepository()
    for res in build(spec):
        repo.put(res)
    audit, ledger = InMemoryAuditSink(), InMemoryLedger()
    factory = ConsentRepositoryFactory(
        Enforcement(repo, audit, ledger, FixedClock(), enforce_scopes=enforce_scopes)
    )
    return World(spec, repo, factory, audit, ledger)


@pytest.fixture
def world() -> World:
    return make_world(standard_spec())
