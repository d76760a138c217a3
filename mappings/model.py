"""The individual plan (individuell plan, IP) as a typed model — the content list (items a–i)
of forskrift om individuell plan ved ytelse av velferdstjenester.

Plain data only: shapes and value types are checked here (pydantic), the plan's domain rules
(one coordinator at a time, consent before an active plan, competence to consent, ...) live in
:mod:`mappings.rules`. Every party of the plan (relatives, guardians, practitioners, organisations)
has a local ``id``; everything else refers to parties by that id, and to the person the plan is
for by the reserved id ``person``.

Plan JSON is the project's own exchange format; :func:`plan_json_schema` publishes its JSON Schema
(`profiles/plan.schema.json`) so that a vendor can produce it without reading this code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ipfhir.mappings.codes import BASE

__all__ = [
    "PERSON",
    "Address",
    "Approval",
    "Assignment",
    "Attachment",
    "CapacityLapse",
    "ConsentEvidence",
    "ConsentGiver",
    "Contact",
    "Cooperation",
    "CoordinatorAssignment",
    "CoveredPerson",
    "Decision",
    "Frequency",
    "Goal",
    "GuardianMandate",
    "Identifier",
    "Measure",
    "NeedOrResource",
    "Party",
    "PartyHolder",
    "Period",
    "Person",
    "Plan",
    "PlanConsent",
    "SharingConsent",
    "SharingRule",
    "TextPart",
    "FreeText",
    "assignment_json_schema",
    "plan_json_schema",
    "text_of",
    "text_parts",
]

PERSON = "person"  # reserved party id: the person the plan belongs to (tjenestemottaker)

LocalId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,26}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20000)]
Code = Annotated[str, StringConstraints(pattern=r"^[^\s]+(\s[^\s]+)*$", max_length=100)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]

PlanStatus = Literal["draft", "active", "on-hold", "revoked", "completed"]
ConsentStatus = Literal["draft", "proposed", "active", "rejected", "inactive"]
LegalDomain = Literal["health-and-care", "child-welfare"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)


class TextPart(_Model):
    """One labelled part of a free text: a sentence or paragraph and its information topics
    (CodeSystem ip-information-topic). A recipient refused any of the topics does not get the
    part; a part without topics goes wherever the text goes."""

    text: Text
    topics: list[Code] = Field(default_factory=list)


# A free text (situation, cooperation, contribution, remarks): plain text — one part without
# topics — or labelled parts, joined by one space into the whole text.
FreeText = Text | Annotated[list[TextPart], Field(min_length=1)]
PART_SEPARATOR = " "


def text_parts(value: FreeText) -> list[TextPart]:
    """The parts of a free text (plain text is one part without topics)."""
    return [TextPart(text=value)] if isinstance(value, str) else list(value)


def text_of(value: FreeText) -> str:
    """The whole free text, as one string."""
    return value if isinstance(value, str) else PART_SEPARATOR.join(p.text for p in value)


class Period(_Model):
    start: dt.date | None = None
    end: dt.date | None = None


class Identifier(_Model):
    """fnr = fødselsnummer, dnr = D-nummer, hpr = HPR-nummer, orgnr = organisasjonsnummer."""

    system: Literal["fnr", "dnr", "hpr", "orgnr", "resh"]
    value: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class Address(_Model):
    lines: list[Text] = Field(default_factory=list)
    postal_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] | None = None
    city: Text | None = None


class Contact(_Model):
    phone: Text | None = None
    email: Text | None = None
    address: Address | None = None


class Person(_Model):
    """Tjenestemottaker: the person the plan is for."""

    identifier: Identifier
    given: Text
    family: Text
    birth_date: dt.date
    gender: Literal["male", "female", "other", "unknown"] | None = None
    language: Language | None = None  # the person's preferred language (BCP 47: nb, nn, se, ...)
    interpreter_needed: bool = False  # needs an interpreter (tolk) in ``language``
    contact: Contact | None = None


class GuardianMandate(_Model):
    """Verge/hjelpeverge: what the guardian may decide on (vergemål)."""

    description: Text
    covers: list[LegalDomain] = Field(min_length=1)
    period: Period = Field(default_factory=Period)


class Party(_Model):
    """Anyone named in the plan other than the person: relatives, guardian, support persons,
    providers.

    A support person (``support-person``: likemann, rådgiver, venn) is someone the person wants
    to take part with them (seed 002_f60a41b6bd550ea2.txt, Eksempel 4: «Jeg ønsker at en annen
    person skal delta sammen med meg») who is not a relative: takes part, may be a recipient,
    never consents for the person. ``role`` says what they are to the person, in words.
    """

    id: LocalId
    kind: Literal["relative", "guardian", "support-person", "practitioner", "organisation"]
    given: Text | None = None  # individuals
    family: Text | None = None  # individuals
    name: Text | None = None  # organisations
    identifiers: list[Identifier] = Field(default_factory=list)
    organisation: LocalId | None = None  # practitioner: the organisation they work for
    # practitioner: profession/function in words ("fysioterapeut"); support person: what they
    # are to the person ("likemann", "rådgiver", "venn")
    role: Text | None = None
    relationship: Code | None = None  # relative: code list 9033 (MO, FA, EF, ...)
    parental_responsibility: bool = False  # relative: has foreldreansvar for the person
    mandate: GuardianMandate | None = None  # guardian
    organisation_type: Code | None = None  # organisation: CodeSystem ip-organisation-type
    takes_part: bool = True  # item b: takes part in the plan work (ansvarsgruppe/CareTeam)
    contribution: FreeText | None = None  # item d: what this party contributes
    # the information topic of this party's participation and contribution (CodeSystem
    # ip-information-topic): a recipient refused the topic does not see the participation
    topic: Code | None = None
    # a practitioner's contact is the work contact of their role in the plan (arbeidssted,
    # adresse, tlf, e-post; vedlegg 4), never a private one
    contact: Contact | None = None


class CoordinatorAssignment(_Model):
    """Item c: who is responsible for coordination and progress, and when."""

    id: LocalId
    party: LocalId  # a practitioner party
    kind: Literal["koordinator", "barnekoordinator", "midlertidig-koordinator"]
    service_level: Literal["kommune", "spesialisthelsetjeneste"]
    period: Period
    handover_from: LocalId | None = None  # id of the assignment this one takes over from
    contact_frequency: Text | None = None  # how often the coordinator and the person meet


class NeedOrResource(_Model):
    """Item a: a need for services (behov) or a resource/strength (ressurs)."""

    id: LocalId
    text: Text
    # CodeSystem ip-information-topic (seed 002_f60a41b6bd550ea2.txt, Eksempel 2)
    topic: Code | None = None


class Goal(_Model):
    """Item a: a goal in the person's own words (often first person, «jeg-form»)."""

    id: LocalId
    text: Text
    level: Literal["hovedmal", "delmal"] = "hovedmal"
    part_of: LocalId | None = None  # a delmål's hovedmål
    status: Literal[
        "proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled"
    ] = "active"
    start: dt.date | None = None
    target_date: dt.date | None = None
    topic: Code | None = None
    # whose words the goal is: the person, or a relative/guardian (the parents' goal in a child's
    # plan), or a practitioner who wrote it down for them
    expressed_by: LocalId = PERSON


class Frequency(_Model):
    count: int = Field(ge=1, le=1000)
    period: int = Field(ge=1, le=1000)
    unit: Literal["d", "wk", "mo", "a"]


class Decision(_Model):
    """The individual decision (enkeltvedtak) that grants a measure: the plan gives no claim to
    services, the decision does (seed 002_f60a41b6bd550ea2.txt § 1.3)."""

    reference: Text  # the decision's case or document number
    date: dt.date
    decided_by: LocalId  # an organisation party


class Measure(_Model):
    """Items e and f: a measure (tiltak), its extent, who is responsible, how it is carried out."""

    id: LocalId
    title: Text  # what
    responsible: LocalId  # party id, or "person"
    how: Text | None = None  # item f: how the measure is carried out
    extent: Text | None = None  # item e: extent in words ("2 timer per uke")
    frequency: Frequency | None = None
    period: Period = Field(default_factory=Period)
    status: Literal[
        "not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped"
    ] = "in-progress"
    goals: list[LocalId] = Field(default_factory=list)
    service_type: Code | None = None  # code list 9151 (tjenestetype), where it applies
    topic: Code | None = None
    # child welfare: a measure aimed at the parents (foreldreveiledning, ...); from 15 the parents
    # must consent too (seed 000_9834cdca9ff16a63.txt; rule IP-1044)
    aimed_at_parents: bool = False
    needs: list[LocalId] = Field(default_factory=list)  # the needs (behov) this measure meets
    decision: Decision | None = None


class Cooperation(_Model):
    """Item i: necessary or desired cooperation with other providers, institutions, agencies."""

    party: LocalId  # an organisation party
    description: FreeText
    necessity: Literal["necessary", "desired"] = "necessary"


Capacity = Literal["self", "parent", "guardian", "nearest-relative"]


class ConsentGiver(_Model):
    party: LocalId  # "person", or a relative/guardian party
    # nearest-relative: the person lacks capacity to consent (``capacity_lapse``), and the
    # nearest relative takes part on their behalf (pasient- og brukerrettighetsloven § 4-6)
    capacity: Capacity


class Attachment(_Model):
    """A document kept elsewhere: the signed declaration, the approved plan text."""

    url: Annotated[str, StringConstraints(pattern=r"^(https?|urn):\S+$", max_length=2000)]
    title: Text | None = None
    content_type: Code | None = None  # e.g. application/pdf
    created: dt.date | None = None


class ConsentEvidence(_Model):
    """How the consent was given (vedlegg 2; Eksempel 4 «Sted, dato, Underskrift»): informed,
    where, received by whom in what capacity, and the signed declaration. The date is the
    consent's own ``date``."""

    informed: bool  # told which information, how it is used, the right to refuse and withdraw
    place: Text | None = None  # «Sted»
    obtained_by: LocalId | None = None  # the practitioner who received it
    obtained_as: Text | None = None  # in what capacity («koordinator», «saksbehandler»)
    document: Attachment | None = None


class CapacityLapse(_Model):
    """The person lacks capacity to consent (samtykkekompetanse), e.g. after serious cognitive
    impairment: assessed by whom, from when, why."""

    period: Period
    assessed_by: LocalId  # a practitioner party
    description: Text


class Approval(_Model):
    """«er godkjent av» (vedlegg 3): the plan text approved before it was written down (vedlegg
    2: «I planen skal det ikke skrives noe jeg ikke har godkjent på forhånd»)."""

    party: LocalId  # "person", or a relative/guardian party
    capacity: Capacity
    date: dt.date
    place: Text | None = None
    document: Attachment | None = None


class _Consent(_Model):
    id: LocalId
    status: ConsentStatus
    date: dt.date  # when it was given (or refused)
    given_by: list[ConsentGiver] = Field(min_length=1)
    domain: LegalDomain = "health-and-care"
    period: Period = Field(default_factory=Period)
    revoked_on: dt.date | None = None  # set when withdrawn (status inactive)
    remarks: FreeText | None = None  # «Andre merknader»
    evidence: ConsentEvidence | None = None
    capacity_lapse: CapacityLapse | None = None  # the person could not consent on ``date``


class PlanConsent(_Consent):
    """Item h, step 1: consent that the plan is made at all («inngangsbilletten»)."""


class SharingRule(_Model):
    """One rule of the sharing consent beyond the plan-wide refusals (vedlegg 2: «hva slags type
    informasjon … og til hvem», «nekte at enkeltpersoner får bestemte opplysninger», «fra
    nærmere bestemte fagmiljø»). Deny beats permit.

    - ``permit`` with ``recipients`` and ``topics``: those recipients get, of the information
      that carries a topic, only these topics (and the plan's information without a topic);
    - ``deny`` with ``recipients`` and ``topics``: these topics not to these recipients;
    - ``deny`` with ``sources``: no information from these professional environments
      (organisations: what they are responsible for or contribute), to ``recipients`` or,
      naming none, to anyone but the plan's owner and coordinator (optionally only ``topics``).
    """

    effect: Literal["permit", "deny"]
    recipients: list[LocalId] = Field(default_factory=list)  # parties
    topics: list[Code] = Field(default_factory=list)  # CodeSystem ip-information-topic
    sources: list[LocalId] = Field(default_factory=list)  # organisation parties


class SharingConsent(_Consent):
    """Item h, step 2: informed, scoped consent to exchange confidential information (vedlegg 2)."""

    permitted_recipients: list[LocalId] = Field(default_factory=list)  # parties
    purpose: Text | None = None  # how the information will be used
    refused_topics: list[Code] = Field(default_factory=list)
    refused_environments: list[LocalId] = Field(default_factory=list)  # organisation parties
    refused_individuals: list[LocalId] = Field(default_factory=list)  # individual parties
    rules: list[SharingRule] = Field(default_factory=list)  # per recipient, per source


class Plan(_Model):
    """One person's individual plan (content list items a–i)."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,36}$")]
    status: PlanStatus
    title: Text = "Individuell plan"
    language: Language = "nb"  # the plan's language (sameloven §§ 3-3, 3-5)
    created: dt.date
    person: Person
    situation: FreeText | None = None  # situasjonsbeskrivelse
    responsible_organisation: LocalId  # the organisation that owns the plan (usually the kommune)
    # «Utarbeidet av … i samarbeid med … kommune» (vedlegg 4): who wrote the plan, if not the
    # owner, and the organisations it was made together with
    made_by: LocalId | None = None
    in_cooperation_with: list[LocalId] = Field(default_factory=list)
    parties: list[Party] = Field(default_factory=list)
    person_contribution: FreeText | None = None  # item d: the person's own contribution
    person_contribution_topic: Code | None = None  # its information topic (ip-information-topic)
    coordinators: list[CoordinatorAssignment] = Field(default_factory=list)  # item c
    goals: list[Goal] = Field(default_factory=list)  # item a
    resources: list[NeedOrResource] = Field(default_factory=list)  # item a
    needs: list[NeedOrResource] = Field(default_factory=list)  # item a
    measures: list[Measure] = Field(default_factory=list)  # items e, f
    period: Period  # item g
    evaluation_dates: list[dt.date] = Field(default_factory=list)  # item g
    revision_dates: list[dt.date] = Field(default_factory=list)  # item g
    plan_consent: PlanConsent  # item h
    sharing_consent: SharingConsent | None = None  # item h
    cooperation: list[Cooperation] = Field(default_factory=list)  # item i
    complaint_information: Text | None = None  # klageadgang
    # the legal bases the plan is made under (CodeSystem ip-legal-basis): health and care,
    # specialist health, mental health care, NAV, social services, child welfare
    legal_basis: list[Code] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)  # «er godkjent av»

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.id == party_id), None)


class PartyHolder(Protocol):
    """What the party mapping needs of a document: its id (the scope of every resource id) and
    its parties (a Plan, or an Assignment)."""

    @property
    def id(self) -> str: ...

    @property
    def parties(self) -> list[Party]: ...

    def party(self, party_id: str) -> Party | None: ...


class CoveredPerson(_Model):
    """A person a coordinator assignment covers: a child of the family (barnekoordinator), or
    the one person a koordinator is granted to. Born: identifier and birth date; not yet born:
    the expected date (termin) — a barnekoordinator «kan tildeles før fødsel» (seed
    004_feb800c0c7d43aa8.txt). ``covered``: from when (and until when) the assignment covers
    them; for a child born during the assignment it may start before the birth."""

    id: LocalId
    identifier: Identifier | None = None
    given: Text | None = None
    family: Text | None = None
    birth_date: dt.date | None = None
    expected_birth: dt.date | None = None  # termin: known before birth, kept after
    covered: Period


class Assignment(_Model):
    """A coordinator assignment that exists on its own (seed 004_feb800c0c7d43aa8.txt): a
    barnekoordinator assigned to a family — several siblings, before a birth — with or without
    an individual plan, or a koordinator granted to someone who does not want a plan («Det er
    mulig å søke om (barne)koordinator selv om du ikke ønsker eller har behov for IP»). The
    coordinating unit decides it (``decision``: vedtak) and names the coordinator.

    Rules: :mod:`mappings.assignment_rules`; FHIR: :mod:`mappings.assignment_fhir` (a CareTeam
    of profile ip-coordinator-assignment whose subject is the Group of the persons covered)."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,36}$")]
    status: Literal["proposed", "active", "suspended", "inactive"]
    created: dt.date
    responsible_organisation: LocalId  # the municipality whose coordinating unit assigned it
    persons: list[CoveredPerson] = Field(min_length=1)
    parties: list[Party] = Field(default_factory=list)  # parents, the coordinator, organisations
    coordinators: list[CoordinatorAssignment] = Field(min_length=1)
    decision: Decision | None = None  # vedtak om (barne)koordinator

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.id == party_id), None)


def assignment_json_schema() -> dict[str, Any]:
    """The JSON Schema of assignment JSON (profiles/assignment.schema.json)."""
    schema = Assignment.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{BASE}/assignment.schema.json"
    return schema


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of plan JSON (draft 2020-12), as published in profiles/plan.schema.json."""
    schema = Plan.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{BASE}/plan.schema.json"
    return schema
