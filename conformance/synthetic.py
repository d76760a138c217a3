"""The kit's own synthetic plans: built in code from the plan model (no files), for synthetic
persons only (valid-checksum test fødselsnummer, month + 80, never a real person).

Each plan belongs to a new person, so runs never collide and "one person, one plan" holds. The
owner is the organisation the main token speaks for; the second actor's organisation is named in
the sharing Consent as a recipient (``permit``) or as a refused environment (``deny``). The person
refuses the topic «rus»: the goal :data:`REFUSED_GOAL` carries it, :data:`SHARED_GOAL` does not.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from ipfhir.mappings.fhir_common import patient_id, scoped_id
from ipfhir.mappings.identifiers import is_synthetic, synthetic_fnr, synthetic_orgnr
from ipfhir.mappings.model import (
    ConsentGiver,
    Cooperation,
    CoordinatorAssignment,
    Frequency,
    Goal,
    Identifier,
    Measure,
    NeedOrResource,
    Party,
    Period,
    Person,
    Plan,
    PlanConsent,
    SharingConsent,
)
from ipfhir.mappings.rules import check_plan
from ipfhir.mappings.to_fhir import plan_to_bundle

__all__ = [
    "REFUSED_GOAL",
    "REFUSED_TOPIC",
    "SHARED_GOAL",
    "SyntheticPlan",
    "revoked_sharing_consent",
    "synthetic_plan",
]

REFUSED_TOPIC = "rus"
SHARED_GOAL = "bolig"
REFUSED_GOAL = "rusfri"
Json = dict[str, Any]


@dataclass(frozen=True)
class SyntheticPlan:
    """One synthetic person's plan, as the model and as FHIR ids the checks look for."""

    plan: Plan
    fnr: str
    patient_id: str

    def bundle(self) -> Json:
        return plan_to_bundle(self.plan)

    def resource_id(self, local_id: str) -> str:
        return scoped_id(self.plan.id, local_id)

    @property
    def care_plan_id(self) -> str:
        return self.plan.id

    def resource(self, rtype: str, local_id: str) -> Json:
        rid = self.resource_id(local_id) if rtype != "CarePlan" else self.plan.id
        for entry in self.bundle()["entry"]:
            res: Json = entry["resource"]
            if res["resourceType"] == rtype and res["id"] == rid:
                return res
        raise KeyError(f"{rtype}/{rid}")


def _org(pid: str, name: str, orgnr: str, kind: str, **extra: Any) -> Party:
    return Party(
        id=pid,
        kind="organisation",
        name=name,
        identifiers=[Identifier(system="orgnr", value=orgnr)],
        organisation_type=kind,
        **extra,
    )


def synthetic_plan(
    owner_org: str,
    second_org: str | None,
    second_as: Literal["permit", "deny"] = "permit",
    rng: random.Random | None = None,
) -> SyntheticPlan:
    """A new synthetic person's active plan owned by ``owner_org``; ``second_org`` (if any) is
    a recipient of the sharing Consent (``permit``) or a refused environment (``deny``)."""
    rng = rng or random.Random(secrets.randbits(64))
    # An adult, whatever the day the kit runs (born 1960-1999): the person consents alone, so no
    # age rule (under 16: parents consent) can refuse the kit's own plan.
    born = dt.date(1960 + rng.randint(0, 39), rng.randint(1, 12), rng.randint(1, 28))
    fnr = synthetic_fnr(born, rng)
    assert is_synthetic(fnr)
    second = second_org or synthetic_orgnr(rng)
    today = dt.date.today()
    parties = [
        _org("kommune", "Konformitetstest kommune, koordinerende enhet", owner_org, "kommune"),
        Party(
            id="koordinator",
            kind="practitioner",
            given="Åse",
            family="Prøvestølen",
            organisation="kommune",
            role="Koordinator (syntetisk testperson)",
        ),
        _org(
            "mottaker",
            "Konformitetstest mottaker (syntetisk)",
            second,
            "helseforetak",
            contribution="Følger opp bolig og hverdag; får se det personen har samtykket til.",
        ),
        _org(
            "fastlege",
            "Konformitetstest legekontor (syntetisk)",
            synthetic_orgnr(rng),
            "fastlegekontor",
        ),
    ]
    sharing = SharingConsent(
        id="samtykke-deling",
        status="active",
        date=today - dt.timedelta(days=1),
        given_by=[ConsentGiver(party="person", capacity="self")],
        period=Period(start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=365)),
        permitted_recipients=["fastlege", "mottaker"] if second_as == "permit" else ["fastlege"],
        refused_environments=["mottaker"] if second_as == "deny" else [],
        purpose="Syntetisk testdata fra ipfhir conformance: dele det nødvendige, ikke mer.",
        refused_topics=[REFUSED_TOPIC],
    )
    plan = Plan(
        id=f"ipkit-{secrets.token_hex(6)}",
        status="active",
        title="Individuell plan (syntetisk testperson, ipfhir conformance)",
        created=today - dt.timedelta(days=1),
        person=Person(
            identifier=Identifier(system="fnr", value=fnr),
            given="Øystein Bjørn",
            family="Testæsen",
            birth_date=born,
        ),
        situation="Syntetisk testperson. Jeg ønsker å bo for meg selv og få hjelp når jeg trenger.",
        responsible_organisation="kommune",
        parties=parties,
        coordinators=[
            CoordinatorAssignment(
                id="koord-1",
                party="koordinator",
                kind="koordinator",
                service_level="kommune",
                period=Period(start=today - dt.timedelta(days=1)),
            )
        ],
        goals=[
            Goal(id=SHARED_GOAL, text="Jeg vil bo i egen leilighet på Østbyen.", status="active"),
            Goal(
                id=REFUSED_GOAL,
                text="Jeg vil holde meg rusfri og møte på apoteket hver dag.",
                status="active",
                topic=REFUSED_TOPIC,
            ),
        ],
        needs=[NeedOrResource(id="n-bolig", text="Egen bolig med oppfølging de første månedene.")],
        resources=[
            NeedOrResource(id="r-nettverk", text="Søsteren min stiller opp når jeg ber om det.")
        ],
        measures=[
            Measure(
                id="boveiledning",
                title="Boveiledning i egen leilighet",
                responsible="kommune",
                how="Miljøterapeut kommer hjem til meg; vi går gjennom økonomi og måltider.",
                extent="2 timer per uke",
                frequency=Frequency(count=2, period=1, unit="wk"),
                status="in-progress",
                goals=[SHARED_GOAL],
            )
        ],
        cooperation=[
            Cooperation(party="mottaker", description="Samarbeid om utskrivning og bolig.")
        ],
        period=Period(start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=365)),
        evaluation_dates=[today + dt.timedelta(days=90)],
        revision_dates=[today + dt.timedelta(days=180)],
        plan_consent=PlanConsent(
            id="samtykke-plan",
            status="active",
            date=today - dt.timedelta(days=1),
            given_by=[ConsentGiver(party="person", capacity="self")],
        ),
        sharing_consent=sharing,
    )
    check_plan(plan)
    return SyntheticPlan(plan, fnr, patient_id(plan.id))


def revoked_sharing_consent(plan: SyntheticPlan, on: dt.date | None = None) -> Json:
    """The plan's sharing Consent as FHIR, withdrawn (``inactive`` + revoked date) today."""
    from ipfhir.mappings.to_fhir_consent import consent_resource

    sharing = plan.plan.sharing_consent
    assert sharing is not None
    revoked = sharing.model_copy(update={"status": "inactive", "revoked_on": on or dt.date.today()})
    return consent_resource(plan.plan.model_copy(update={"sharing_consent": revoked}), revoked)
