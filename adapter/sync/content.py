"""What a notification carries, read through a consent-enforcing repository bound to the
receiving organisation (``secure_factory(wiring).repository_for(Actor(organisation=...))``):
each read is judged, audited and recorded in the recipients ledger by the enforcement point,
exactly as if the receiver had asked the server itself. The sender reads it when it queues a
notification (:mod:`adapter.services.notify`) and again just before it leaves
(:mod:`adapter.sync.gate`).

- the Patient as the receiver may see it (``None`` when it may not: nothing is sent);
- the services involved: the measures (CarePlan.activity) of the person's plans the receiver
  sees — a measure on a refused topic has been removed by the enforcement before it gets here;
- the temporary coordinator's contact: the coordinator participants (code list 9034 #8/#18 and
  the project's coordinator roles) of the CareTeams the receiver sees, assignment in force,
  with name and work telephone/e-mail: the PractitionerRole's telecom, and the Practitioner's
  with ``use`` work or none — never a private one (``home``, ``mobile``, ``temp``, ``old``:
  :mod:`adapter.consent.private_contact`; the enforcement has removed those already unless the
  receiver is the practitioner itself, and this keeps it so whatever repository is handed in).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, ResourceRepository, SearchParam, SearchQuery
from ipfhir.mappings.codes import COORDINATOR_ROLE

__all__ = ["RECEIVER_SCOPES", "Seen", "receiver_actor", "seen_by"]

RECEIVER_SCOPES = ("system/*.rs",)


def receiver_actor(orgnr: str) -> Actor:
    """Another organisation as it would read here: a message to it carries only what this actor
    is shown (read and search, for care coordination). One definition for every exchange."""
    return Actor(organisation=orgnr, scopes=RECEIVER_SCOPES, purpose="COC")


Resource = dict[str, Any]
_MAX = 50
# the coordinator roles (code list 9034 #8/#18, the project's), as the consent context has them
COORDINATOR_CODES = frozenset(
    (system, code) for system, code, _display in COORDINATOR_ROLE.values()
)


@dataclass(frozen=True)
class Seen:
    patient: Resource  # the disclosed copy, with a fresh id (the sender's ids stay home)
    services: tuple[str, ...]
    contacts: tuple[str, ...]


def _search(repo: ResourceRepository, rtype: str, pid: str) -> list[Resource]:
    query = SearchQuery(rtype, (SearchParam("subject", (f"Patient/{pid}",)),), count=_MAX)
    return repo.search(query).matches


def _read(repo: ResourceRepository, reference: str) -> Resource | None:
    rtype, _, rid = reference.partition("/")
    if not rtype or not rid or "/" in rid:
        return None
    try:
        return repo.read(rtype, rid)
    except NotFound:
        return None


def seen_by(repo: ResourceRepository, pid: str, today: str) -> Seen | None:
    try:
        patient = repo.read("Patient", pid)
    except NotFound:
        return None
    disclosed = {k: v for k, v in patient.items() if k not in ("id", "meta")}
    security = (patient.get("meta") or {}).get("security")
    if security:
        disclosed["meta"] = {"security": security}
    disclosed = {"resourceType": "Patient", "id": str(uuid.uuid4()), **disclosed}
    services = tuple(
        dict.fromkeys(s for plan in _search(repo, "CarePlan", pid) for s in _services(plan))
    )
    contacts = tuple(
        dict.fromkeys(
            c
            for team in _search(repo, "CareTeam", pid)
            for ref in _coordinators(team, today)
            if (c := _contact(repo, ref))
        )
    )
    return Seen(disclosed, services, contacts)


def _services(plan: Resource) -> list[str]:
    out = []
    for activity in plan.get("activity") or []:
        detail = activity.get("detail") or {}
        concept = detail.get("code") or {}
        text = concept.get("text") or next(
            (c.get("display") for c in concept.get("coding") or [] if c.get("display")), None
        )
        if isinstance(text, str) and text.strip():
            out.append(text.strip()[:300])
    return out


def _covers(period: Any, today: str) -> bool:
    period = period if isinstance(period, dict) else {}
    start, end = str(period.get("start") or ""), str(period.get("end") or "")
    return start[:10] <= today and (not end or today <= end[:10])


def _coordinators(team: Resource, today: str) -> list[str]:
    refs = []
    for part in team.get("participant") or []:
        codes = {
            (c.get("system"), c.get("code"))
            for role in part.get("role") or []
            for c in role.get("coding") or []
        }
        reference = (part.get("member") or {}).get("reference")
        if codes & COORDINATOR_CODES and _covers(part.get("period"), today) and reference:
            refs.append(str(reference))
    return refs


def _contact(repo: ResourceRepository, reference: str) -> str | None:
    role = _read(repo, reference)
    if role is None:
        return None
    person = role
    if role.get("resourceType") == "PractitionerRole":
        person = _read(repo, str((role.get("practitioner") or {}).get("reference", ""))) or {}
    names = [n.get("text") or _joined(n) for n in person.get("name") or []]
    sources = [person] if role is person else [role, person]
    telecom = [
        f"{t.get('system', 'kontakt')}: {t.get('value')}"
        for source in sources
        for t in source.get("telecom") or []
        if t.get("value") and _work(source, t)
    ]
    name = next((n for n in names if n), None)
    if name is None:
        return None
    return ", ".join([name, *dict.fromkeys(telecom)])[:300]


def _work(source: Resource, telecom: Resource) -> bool:
    """A PractitionerRole's telecom is work contact unless marked home or old; a person's
    (Practitioner, or another member) only with use work or none."""
    if source.get("resourceType") == "PractitionerRole":
        return telecom.get("use") not in ("home", "old")
    # the enforcement point's rule (adapter.consent.private_contact; sync sits beside consent)
    return telecom.get("use") in (None, "work")


def _joined(name: Resource) -> str:
    return " ".join([*(name.get("given") or []), str(name.get("family") or "")]).strip()
