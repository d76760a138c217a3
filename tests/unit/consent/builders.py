"""Small FHIR plans for consent tests, shaped as profiles/mapping-table.md describes (Consent
provisions, topics on Goal.meta.security and on activity / need / resource / CareTeam participant
extensions, the coordinator as a CareTeam participant with code 9034#8). Synthetic persons only."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from ipfhir.mappings.codes import SYSTEM_9034, SYSTEM_9602, cs_url, ext_url
from ipfhir.mappings.identifiers import FNR_SYSTEM, HPR_SYSTEM, ORGNR_SYSTEM, synthetic_fnr

Resource = dict[str, Any]
TOPIC = cs_url("ip-information-topic")
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC_CONSENT = {"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}
IP_PLAN_CATEGORY = {"coding": [{"system": SYSTEM_9602, "code": "A02-2"}]}
IRCP = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}
    ]
}


# The sharing consent of a built plan runs to the end of the year after next: tests that judge it
# on the real clock (the server as built, tests/security, tests/api) hold whatever day they run;
# tests that judge it on a fixed day (FixedClock, 2026-06-01) see it in force as well.
CONSENT_END = f"{dt.date.today().year + 2}-12-31"


@dataclass
class Org:
    key: str
    orgnr: str
    name: str = "Bærum kommune"


@dataclass
class Prac:
    key: str
    hpr: str
    org: str  # Org.key
    name: str = "Åse Sørli"


@dataclass
class Item:
    key: str
    topic: str | None = None
    start: str | None = None  # YYYY-MM-DD
    goals: tuple[str, ...] = ()
    performer: str | None = None  # a measure's responsible party ("org:key" / "prac:key")


@dataclass
class Sharing:
    status: str = "active"
    start: str | None = "2026-01-01"
    end: str | None = CONSENT_END
    revoked_on: str | None = None
    recipients: tuple[str, ...] = ()  # "org:key" / "prac:key" / "careteam"
    refused_topics: tuple[str, ...] = ()
    refused_orgs: tuple[str, ...] = ()
    refused_pracs: tuple[str, ...] = ()
    data_period: tuple[str | None, str | None] | None = None
    performers: tuple[tuple[str, str], ...] = (("person", "self"),)  # (party, capacity)


@dataclass
class Relative:
    key: str
    parental: bool = False
    guardian_covers: tuple[str, ...] = ()  # non-empty → a guardian with this mandate


@dataclass
class PlanSpec:
    plan: str = "ip1"
    born: dt.date = dt.date(1990, 5, 17)
    owner: str = "kommune"
    orgs: list[Org] = field(default_factory=list)
    pracs: list[Prac] = field(default_factory=list)
    coordinator: str | None = None  # Prac.key
    team: tuple[str, ...] = ()  # "org:key" / "prac:key" members besides the coordinator
    # topic of a participation: "person" or a team member → ip-information-topic code
    team_topics: dict[str, str] = field(default_factory=dict)
    relatives: list[Relative] = field(default_factory=list)
    goals: list[Item] = field(default_factory=list)
    measures: list[Item] = field(default_factory=list)
    needs: list[Item] = field(default_factory=list)
    strengths: list[Item] = field(default_factory=list)
    sharing: Sharing | None = None
    seed: int = 1

    @property
    def patient_id(self) -> str:
        return f"{self.plan}-pt"

    def fnr(self) -> str:
        return synthetic_fnr(self.born, random.Random(self.seed))

    def party_ref(self, party: str) -> str:
        kind, _, key = party.partition(":")
        if kind == "org":
            return f"Organization/{self.plan}-{key}"
        if kind == "prac":
            return f"Practitioner/{self.plan}-{key}"
        if kind == "role":
            return f"PractitionerRole/{self.plan}-{key}-role"
        if kind == "careteam":
            return f"CareTeam/{self.plan}"
        return f"RelatedPerson/{self.plan}-{key}"


def topic_label(topic: str) -> Resource:
    return {"url": ext_url("ip-security-label"), "valueCoding": {"system": TOPIC, "code": topic}}


def _capacity(capacity: str) -> Resource:
    return {"url": ext_url("ip-consent-capacity"), "valueCode": capacity}


def _role(code: str) -> list[Resource]:
    return [{"coding": [{"system": cs_url("ip-participant-role"), "code": code}]}]


def _actor(ref: str) -> Resource:
    return {"role": IRCP, "reference": {"reference": ref}}


def build(spec: PlanSpec) -> list[Resource]:
    """Every resource of the plan (Patient first)."""
    p, pt = spec.plan, f"Patient/{spec.patient_id}"
    out: list[Resource] = [
        {
            "resourceType": "Patient",
            "id": spec.patient_id,
            "identifier": [{"system": FNR_SYSTEM, "value": spec.fnr()}],
            "name": [{"family": "Nilsen Áilu", "given": ["Kåre"]}],
            "birthDate": spec.born.isoformat(),
        }
    ]
    for org in spec.orgs:
        out.append(
            {
                "resourceType": "Organization",
                "id": f"{p}-{org.key}",
                "identifier": [{"system": ORGNR_SYSTEM, "value": org.orgnr}],
                "name": org.name,
            }
        )
    for prac in spec.pracs:
        out.append(
            {
                "resourceType": "Practitioner",
                "id": f"{p}-{prac.key}",
                "identifier": [{"system": HPR_SYSTEM, "value": prac.hpr}],
                "name": [{"text": prac.name}],
            }
        )
        out.append(
            {
                "resourceType": "PractitionerRole",
                "id": f"{p}-{prac.key}-role",
                "practitioner": {"reference": f"Practitioner/{p}-{prac.key}"},
                "organization": {"reference": f"Organization/{p}-{prac.org}"},
            }
        )
    out += [_relative(spec, rel) for rel in spec.relatives]
    out += [_goal(spec, g, pt) for g in spec.goals]
    out += _consents(spec, pt)
    out.append(_careteam(spec, pt))
    out.append(_careplan(spec, pt))
    return out


def _relative(spec: PlanSpec, rel: Relative) -> Resource:
    res: Resource = {
        "resourceType": "RelatedPerson",
        "id": f"{spec.plan}-{rel.key}",
        "patient": {"reference": f"Patient/{spec.patient_id}"},
        "name": [{"text": "Ingrid Bjørnstad"}],
    }
    if rel.guardian_covers:
        res["relationship"] = [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GUARD"}
                ]
            }
        ]
        res["extension"] = [
            {
                "url": ext_url("ip-guardian-mandate"),
                "extension": [{"url": "description", "valueString": "Økonomi og helse"}]
                + [{"url": "covers", "valueCode": c} for c in rel.guardian_covers],
            }
        ]
    else:
        res["relationship"] = [
            {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9033", "code": "MO"}]}
        ]
        res["extension"] = [
            {"url": ext_url("ip-parental-responsibility"), "valueBoolean": rel.parental}
        ]
    return res


def _goal(spec: PlanSpec, goal: Item, pt: str) -> Resource:
    res: Resource = {
        "resourceType": "Goal",
        "id": f"{spec.plan}-{goal.key}",
        "lifecycleStatus": "active",
        "description": {"text": f"Jeg vil klare meg selv på kjøkkenet ({goal.key})"},
        "subject": {"reference": pt},
    }
    if goal.topic:
        res["meta"] = {"security": [{"system": TOPIC, "code": goal.topic}]}
    if goal.start:
        res["startDate"] = goal.start
    return res


def _consents(spec: PlanSpec, pt: str) -> list[Resource]:
    owner = {"reference": f"Organization/{spec.plan}-{spec.owner}"}
    base: Resource = {
        "resourceType": "Consent",
        "patient": {"reference": pt},
        "dateTime": "2026-01-01",
        "organization": [owner],
        "performer": [{"reference": pt, "extension": [_capacity("self")]}],
        "policyRule": {
            "coding": [{"system": cs_url("ip-consent-domain"), "code": "health-and-care"}]
        },
    }
    plan_consent = {
        **base,
        "id": f"{spec.plan}-plan",
        "status": "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "treatment"}]},
        "category": [
            LOINC_CONSENT,
            {"coding": [{"system": cs_url("ip-consent-category"), "code": "plan-consent"}]},
        ],
        "provision": {"type": "permit"},
    }
    if spec.sharing is None:
        return [plan_consent]
    return [plan_consent, sharing_consent(spec, spec.sharing, base)]


def sharing_consent(spec: PlanSpec, s: Sharing, base: Resource | None = None) -> Resource:
    pt = f"Patient/{spec.patient_id}"
    provision: Resource = {
        "type": "permit",
        "actor": [_actor(spec.party_ref(r)) for r in s.recipients],
    }
    if s.start or s.end:
        provision["period"] = {k: v for k, v in (("start", s.start), ("end", s.end)) if v}
    if s.data_period:
        provision["dataPeriod"] = {
            k: v for k, v in zip(("start", "end"), s.data_period, strict=True) if v
        }
    nested = []
    if s.refused_topics:
        nested.append(
            {
                "type": "deny",
                "securityLabel": [{"system": TOPIC, "code": t} for t in s.refused_topics],
            }
        )
    if s.refused_orgs:
        nested.append(
            {"type": "deny", "actor": [_actor(spec.party_ref(f"org:{o}")) for o in s.refused_orgs]}
        )
    if s.refused_pracs:
        nested.append(
            {
                "type": "deny",
                "actor": [_actor(spec.party_ref(f"prac:{k}")) for k in s.refused_pracs],
            }
        )
    if nested:
        provision["provision"] = nested
    performers = []
    for party, capacity in s.performers:
        ref = pt if party == "person" else f"RelatedPerson/{spec.plan}-{party}"
        performers.append({"reference": ref, "extension": [_capacity(capacity)]})
    res: Resource = {
        **(
            base
            or {"resourceType": "Consent", "patient": {"reference": pt}, "dateTime": "2026-01-01"}
        ),
        "id": f"{spec.plan}-sharing",
        "status": s.status,
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [
            LOINC_CONSENT,
            {"coding": [{"system": cs_url("ip-consent-category"), "code": "sharing-consent"}]},
        ],
        "performer": performers,
        "provision": provision,
    }
    if s.revoked_on:
        res["extension"] = [{"url": ext_url("ip-consent-revoked"), "valueDate": s.revoked_on}]
    return res


def _member(spec: PlanSpec, key: str, ref: str) -> Resource:
    role = "tjenestemottaker" if key == "person" else "tjenesteyter"
    participant: Resource = {"role": _role(role), "member": {"reference": ref}}
    if key in spec.team_topics:
        participant["extension"] = [topic_label(spec.team_topics[key])]
    return participant


def _careteam(spec: PlanSpec, pt: str) -> Resource:
    participants: list[Resource] = [_member(spec, "person", pt)]
    if spec.coordinator:
        participants.append(
            {
                "id": "koord",
                "role": [{"coding": [{"system": SYSTEM_9034, "code": "8"}]}],
                "member": {"reference": spec.party_ref(f"role:{spec.coordinator}")},
                "period": {"start": "2026-01-01"},
            }
        )
    for member in spec.team:
        kind, _, key = member.partition(":")
        ref = spec.party_ref(f"role:{key}" if kind == "prac" else member)
        participants.append(_member(spec, member, ref))
    return {
        "resourceType": "CareTeam",
        "id": spec.plan,
        "subject": {"reference": pt},
        "managingOrganization": [{"reference": f"Organization/{spec.plan}-{spec.owner}"}],
        "participant": participants,
    }


def _as_role(party: str) -> str:
    kind, _, key = party.partition(":")
    return f"role:{key}" if kind == "prac" else party


def _careplan(spec: PlanSpec, pt: str) -> Resource:
    p = spec.plan
    activities = []
    for m in spec.measures:
        performer = spec.party_ref(_as_role(m.performer) if m.performer else f"org:{spec.owner}")
        act: Resource = {
            "id": m.key,
            "detail": {
                "status": "in-progress",
                "code": {"text": f"Tiltak {m.key}: støttekontakt"},
                "performer": [{"reference": performer}],
            },
        }
        if m.topic:
            act["extension"] = [topic_label(m.topic)]
        if m.start:
            act["detail"]["scheduledPeriod"] = {"start": m.start}
        if m.goals:
            act["detail"]["goal"] = [{"reference": f"Goal/{p}-{g}"} for g in m.goals]
        activities.append(act)
    extensions = []
    for url, items in (("ip-need", spec.needs), ("ip-resource", spec.strengths)):
        for item in items:
            sub: list[Resource] = [{"url": "text", "valueString": f"Behov/ressurs {item.key}: æøå"}]
            if item.topic:
                sub.append(topic_label(item.topic))
            extensions.append({"url": ext_url(url), "id": item.key, "extension": sub})
    res: Resource = {
        "resourceType": "CarePlan",
        "id": p,
        "status": "active",
        "intent": "plan",
        "category": [IP_PLAN_CATEGORY],
        "subject": {"reference": pt},
        "period": {"start": "2026-01-01"},
        "created": "2026-01-01",
        "author": {"reference": f"Organization/{p}-{spec.owner}"},
        "careTeam": [{"reference": f"CareTeam/{p}"}],
        "supportingInfo": [{"reference": f"Consent/{p}-plan"}],
    }
    if spec.sharing is not None:
        res["supportingInfo"].append({"reference": f"Consent/{p}-sharing"})
    if spec.goals:
        res["goal"] = [{"reference": f"Goal/{p}-{g.key}"} for g in spec.goals]
    if activities:
        res["activity"] = activities
    if extensions:
        res["extension"] = extensions
    return res
