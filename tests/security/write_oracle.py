"""An oracle for who may see and who may write what in the adversarial world
(tests/security/conftest.py), written from docs/threat-model.md and the world's description
alone — plain tables and set logic, independent of adapter.consent (no FHIR walking, no
policy code): the generated writes of test_write_property.py are judged against it.

Requirements it encodes (threat model "Actors", issue 9 "What to build"):
- holders (the owner's coordinating unit and the coordinator in force) see the whole plan and
  write everything of the person;
- a care-team member the person did not refuse (the physiotherapist, ``recipient``) sees the
  consented part and writes only its own part of an existing CarePlan / CareTeam: sending back
  exactly what it was shown changes nothing and is accepted, any other change is refused
  (IP-5109); it creates and deletes nothing (IP-5109);
- a consent recipient outside the care team (``teacher``) sees the consented part and writes
  nothing (IP-5101); refused parties, the former coordinator, outsiders and the owning
  municipality's employees without the coordinating unit's role (``colleague``) see nothing
  of the person and write nothing (IP-5101) — one answer for all of them;
- the consented part leaves out the goal, task and provenance on the refused topic «rus», the
  Consents (holders only) and the relative the person refused (the mother);
- directory entries are seen by everyone; an entry the plan relies on (named by the CareTeam,
  the CarePlan, a Consent, or through a PractitionerRole they name) is written by the owner
  only (IP-5110), other entries by every caller;
- a type the store never deletes answers 405 IP-4301 to a delete that got that far; a missing
  id 404 IP-4201;
- anything hidden answers exactly as an id that never existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Expect", "Oracle", "PERSON_TYPES"]

HOLDERS = frozenset({"owner", "coordinator"})
MEMBERS = frozenset({"recipient"})  # in the CareTeam and permitted by the sharing Consent
RECIPIENTS = frozenset({"recipient", "teacher"})  # see the consented part
PERSON_TYPES = ("Consent", "CareTeam", "CarePlan", "Goal", "RelatedPerson", "Task", "Provenance")
DIRECTORY_TYPES = ("Organization", "Practitioner", "PractitionerRole")
DELETABLE = frozenset({"RelatedPerson", "Task", "Organization", "Practitioner", "PractitionerRole"})
# the consented part leaves these out (refused topic, holders-only, refused relative)
NOT_CONSENTED = frozenset(
    {
        "Goal/ip1-g2",
        "Task/ip1-t2",
        "Provenance/ip1-p2",
        "Consent/ip1-plan",
        "Consent/ip1-sharing",
        "RelatedPerson/ip1-mor",
    }
)
# directory entries the plan relies on (see the module docstring)
RELIED_ON = frozenset(
    {
        "Organization/ip1-kommune",  # CarePlan.author, CareTeam.managingOrganization, Consent
        "Organization/ip1-sykehus",  # Consent actor; roles of team members
        "Organization/ip1-nav",  # CareTeam member, Consent actor
        "Organization/ip1-tromso",  # the former coordinator's role (CareTeam)
        "Practitioner/ip1-koord",
        "Practitioner/ip1-fysio",
        "Practitioner/ip1-lege",
        "Practitioner/ip1-tidligere",
        "Practitioner/ip1-laerer",  # Consent actor
        "PractitionerRole/ip1-koord-role",
        "PractitionerRole/ip1-fysio-role",
        "PractitionerRole/ip1-lege-role",
        "PractitionerRole/ip1-tidligere-role",
    }
)


@dataclass(frozen=True)
class Expect:
    """The answer a write must get: HTTP status and, for a refusal, its message id."""

    status: int
    message_id: str | None = None


@dataclass
class Oracle:
    """The world's person resources (``Type/id`` → the template whose visibility it has) and
    what has been created in it since."""

    person: dict[str, str] = field(default_factory=dict)

    def sees(self, actor: str, ref: str) -> bool:
        rtype = ref.split("/")[0]
        if rtype in DIRECTORY_TYPES:
            return True
        if ref not in self.person:
            return False
        if actor in HOLDERS:
            return True
        return actor in RECIPIENTS and self.person[ref] not in NOT_CONSENTED

    def visible(self, actor: str, rtype: str) -> set[str]:
        return {r for r in self.person if r.startswith(f"{rtype}/") and self.sees(actor, r)}

    def create(self, actor: str, rtype: str) -> Expect:
        """POST, a PUT to a free id, or a conditional create that matches nothing."""
        if rtype in DIRECTORY_TYPES or actor in HOLDERS:
            return Expect(201)
        return Expect(403, "IP-5109" if actor in MEMBERS else "IP-5101")

    def update(self, actor: str, ref: str, *, as_shown: bool) -> Expect:
        """PUT to an existing id the actor may see; ``as_shown``: the body is exactly what the
        actor was shown (else a changed copy)."""
        rtype = ref.split("/")[0]
        if rtype in DIRECTORY_TYPES:
            return (
                Expect(200) if actor == "owner" or ref not in RELIED_ON else Expect(403, "IP-5110")
            )
        if actor in HOLDERS:
            return Expect(200)
        if actor in MEMBERS:
            ok = as_shown and rtype in ("CarePlan", "CareTeam")
            return Expect(200) if ok else Expect(403, "IP-5109")
        return Expect(403, "IP-5101")

    def delete(self, actor: str, ref: str) -> Expect:
        """DELETE of an existing id the actor may see."""
        rtype = ref.split("/")[0]
        if rtype in DIRECTORY_TYPES and actor != "owner" and ref in RELIED_ON:
            return Expect(403, "IP-5110")
        if rtype in PERSON_TYPES and actor not in HOLDERS:
            return Expect(403, "IP-5109" if actor in MEMBERS else "IP-5101")
        return Expect(204) if rtype in DELETABLE else Expect(405, "IP-4301")

    @staticmethod
    def delete_missing(rtype: str) -> Expect:
        return Expect(404, "IP-4201") if rtype in DELETABLE else Expect(405, "IP-4301")
