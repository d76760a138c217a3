"""What the FHIR side of legacy messaging shares (pure): the parties of a message, the Patient ↔
MsgHead Patient mapping, the exchange codes and the timestamps.

A party is an organisation (organisasjonsnummer, name) with the endpoint its messages come from
or go to: a FHIR base, a legacy endpoint from the directory (``file:///…``, ``amqp://…``) or —
known from the XML alone — ``urn:ipfhir:her:<HER-id>[:<unit HER-id>]``, which names the
communication party (Adresseregisteret) the message addressed. Writing XML, the HER-ids come
from that URN or from the caller (the directory's HER-id beside the organisasjonsnummer).

Patient: ``identifier`` fødselsnummer / D-nummer ↔ Ident FNR / DNR; ``name[0]`` family ↔
FamilyName, ``given[0]`` ↔ GivenName, ``given[1:]`` ↔ MiddleName (space-separated);
``birthDate`` ↔ DateOfBirth; ``gender`` ↔ Sex (kodeverk 3101); ``address[0]`` line, postalCode,
city ↔ StreetAdr, PostalCode, City; ``telecom`` phone/email ↔ TeleCom tel:/mailto:; the
message-local ``id`` ↔ an Ident ``urn:uuid:…`` of type XXX. Nothing else of a Patient has a
place in MsgHead (e.g. ``meta.security``): it is not written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ipfhir.mappings.codes import EXCHANGE, cs_url
from ipfhir.mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM, ORGNR_SYSTEM
from ipfhir.mappings.legacy.codes import Code
from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model import Address, Ident, Organisation, Person, TeleCom

__all__ = [
    "as_dict",
    "EXCHANGE_SYSTEM",
    "HER_SYSTEM",
    "HER_URN",
    "MSG_TYPE_SYSTEM",
    "NOTIFICATION",
    "NOTIFICATION_RESPONSE",
    "TASK_IDENTIFIER_SYSTEM",
    "Org",
    "exchange_code",
    "iso",
    "norwegian_offset",
    "org_of",
    "organisation_of",
    "parse_time",
    "parties",
    "patient_of",
    "person_of",
]

Resource = dict[str, Any]
EXCHANGE_SYSTEM = cs_url("ip-exchange")
NOTIFICATION = "ip-notification"
NOTIFICATION_RESPONSE = "ip-notification-response"
TASK_IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"
HER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2"  # HER-id (Adresseregisteret)
HER_URN = "urn:ipfhir:her:"
MSG_TYPE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.8279"  # MsgHead message types
_IDENT_TYPES = "2.16.578.1.12.4.1.1.9051"  # Ident/TypeId of organisations (ENH, HER)
_PERSON_IDS = "2.16.578.1.12.4.1.1.8116"  # FNR, DNR, HPR, XXX
_SEX = {"male": "1", "female": "2", "other": "9", "unknown": "0"}
_SEX_DN = {"1": "Mann", "2": "Kvinne", "9": "Ikke relevant", "0": "Ikke kjent"}
_TELECOM = {"phone": "tel:", "email": "mailto:", "fax": "fax:"}


def exchange_code(value: str) -> Resource:
    """A Coding of CodeSystem ``ip-exchange`` (as the FHIR path writes it)."""
    return {"system": EXCHANGE_SYSTEM, "code": value, "display": EXCHANGE[value]}


@dataclass(frozen=True)
class Org:
    """One end of a message. ``her_id``: the organisation's HER-id; ``unit_her_id`` the
    sub-unit's (e.g. the koordinerende enhet) that the message is addressed to."""

    orgnr: str | None
    name: str
    endpoint: str
    her_id: str | None = None
    unit_her_id: str | None = None

    def reference(self) -> Resource:
        ref: Resource = {"display": self.name}
        if self.orgnr is not None:
            ref = {"identifier": {"system": ORGNR_SYSTEM, "value": self.orgnr}, **ref}
        return ref

    def with_her(self, her_ids: dict[str, str]) -> Org:
        """HER-ids from the endpoint URN, else from ``her_ids`` (organisasjonsnummer → HER-id)."""
        if self.endpoint.startswith(HER_URN):
            org_her, _, unit = self.endpoint[len(HER_URN) :].partition(":")
            return Org(self.orgnr, self.name, self.endpoint, org_her or None, unit or None)
        found = her_ids.get(self.orgnr or "")
        return Org(self.orgnr, self.name, self.endpoint, found or self.her_id, self.unit_her_id)


def org_of(organisation: Organisation) -> Org:
    """The party a MsgHead Sender/Receiver names, its endpoint the HER URN (if it has a HER-id)."""
    unit = organisation.unit
    her, unit_her = organisation.her_id, unit.her_id if unit is not None else None
    endpoint = HER_URN + (her or "") + (f":{unit_her}" if unit_her else "")
    return Org(organisation.orgnr, organisation.name or "", endpoint, her, unit_her)


def as_dict(value: Any) -> Resource:
    """``value`` if it is a JSON object, else an empty one (input of any shape, no crash)."""
    return value if isinstance(value, dict) else {}


def _party(reference: Any, endpoint: Any, name: Any, her_ids: dict[str, str]) -> Org:
    ref = as_dict(reference)
    ident = as_dict(ref.get("identifier"))
    orgnr = ident.get("value") if isinstance(ident.get("value"), str) else None
    shown = name if isinstance(name, str) else ref.get("display")
    org = Org(orgnr, str(shown or ""), str(endpoint or ""))
    return org.with_her(her_ids)


def parties(header: Resource, her_ids: dict[str, str]) -> tuple[Org, Org]:
    """Sender and receiver of a MessageHeader."""
    source = as_dict(header.get("source"))
    targets = header.get("destination")
    target = as_dict(targets[0] if isinstance(targets, list) and targets else None)
    endpoint = str(target.get("endpoint") or "").removesuffix("/$process-message")
    receiver_ref = target.get("receiver")
    sender = _party(header.get("sender"), source.get("endpoint"), source.get("name"), her_ids)
    receiver_name = receiver_ref.get("display") if isinstance(receiver_ref, dict) else None
    return sender, _party(receiver_ref, endpoint, receiver_name, her_ids)


def _org_ident(value: str, kind: str) -> Ident:
    dn = "Organisasjonsnummeret i Enhetsregister" if kind == "ENH" else "HER-id"
    return Ident(id=value, type=Code(v=kind, dn=dn, s=_IDENT_TYPES))


def organisation_of(org: Org) -> Organisation:
    """The MsgHead Organisation of a party: ENH and HER idents, the unit as a sub-Organisation."""
    idents = [_org_ident(org.orgnr, "ENH")] if org.orgnr else []
    if org.her_id:
        idents.append(_org_ident(org.her_id, "HER"))
    if not idents:
        refuse("IP-6143", "MessageHeader", f"{org.name[:60]!r} has neither number.")
    unit = None
    if org.unit_her_id:
        unit = Organisation(name=org.name, idents=(_org_ident(org.unit_her_id, "HER"),))
    return Organisation(name=org.name or None, idents=tuple(idents), unit=unit)


def iso(value: dt.datetime) -> str:
    """A FHIR instant as the FHIR path writes it (``Z`` for UTC, seconds unless fractions); a
    KITH time without a zone is Norwegian local time (Europe/Oslo)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=norwegian_offset(value))
    if value.utcoffset() == dt.timedelta(0):
        return value.replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def _last_sunday(year: int, month: int) -> dt.datetime:
    last = dt.datetime(year, month + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() + 1) % 7)


def norwegian_offset(local: dt.datetime) -> dt.timezone:
    """Norway's offset at a local time: CET, CEST from the last Sunday of March 02:00 to the
    last Sunday of October 03:00 (the EU rule; no time-zone database needed)."""
    start = _last_sunday(local.year, 3).replace(hour=2)
    end = _last_sunday(local.year, 10).replace(hour=3)
    summer = start <= local.replace(tzinfo=None) < end
    return dt.timezone(dt.timedelta(hours=2 if summer else 1))


def parse_time(value: Any, where: str) -> dt.datetime:
    """A FHIR dateTime/instant with a time zone, or IP-6142."""
    text = value if isinstance(value, str) else ""
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        refuse("IP-6142", where, f"Got {str(value)[:40]!r}.")
    if parsed.tzinfo is None:
        refuse("IP-6142", where, f"{text[:40]!r} has no time zone.")
    return parsed


def _dicts(value: Any) -> list[Resource]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def person_of(patient: Resource) -> Person:
    """The MsgHead Patient of a FHIR Patient (see the module doc); IP-6144 without a
    fødselsnummer or D-nummer."""
    idents: list[Ident] = []
    for ident in _dicts(patient.get("identifier")):
        kind = {FNR_SYSTEM: "FNR", DNR_SYSTEM: "DNR"}.get(str(ident.get("system")))
        if kind and isinstance(ident.get("value"), str):
            dn = "Fødselsnummer" if kind == "FNR" else "D-nummer"
            idents.append(Ident(ident["value"], Code(v=kind, dn=dn, s=_PERSON_IDS)))
    if not idents:
        refuse("IP-6144", "Patient.identifier")
    if isinstance(patient.get("id"), str):
        local = Code(v="XXX", dn="Meldingslokal id", s=_PERSON_IDS)
        idents.append(Ident(f"urn:uuid:{patient['id']}", local))
    name = next(iter(_dicts(patient.get("name"))), {})
    names = name.get("given")
    given = [g for g in names if isinstance(g, str)] if isinstance(names, list) else []
    sex = _SEX.get(str(patient.get("gender")))
    birth = patient.get("birthDate")
    return Person(
        family_name=name.get("family") if isinstance(name.get("family"), str) else None,
        given_name=given[0] if given else None,
        middle_name=" ".join(given[1:]) or None,
        date_of_birth=_date(birth),
        sex=None if sex is None else Code(v=sex, dn=_SEX_DN[sex]),
        idents=tuple(idents),
        address=_address_of(next(iter(_dicts(patient.get("address"))), None)),
        telecoms=tuple(
            TeleCom(address=_TELECOM[str(t["system"])] + str(t["value"]))
            for t in _dicts(patient.get("telecom"))
            if t.get("system") in _TELECOM and isinstance(t.get("value"), str)
        ),
    )


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _address_of(address: Resource | None) -> Address | None:
    if address is None:
        return None
    found = address.get("line")
    lines = [x for x in found if isinstance(x, str)] if isinstance(found, list) else []
    street = ", ".join(lines) or None
    postal, city = address.get("postalCode"), address.get("city")
    if not (street or postal or city):
        return None
    return Address(
        type=Code(v="H", dn="Bostedsadresse"),
        street=street,
        postal_code=postal if isinstance(postal, str) else None,
        city=city if isinstance(city, str) else None,
    )


def patient_of(person: Person, default_id: str) -> Resource:
    """The FHIR Patient of a MsgHead Patient (the reverse of :func:`person_of`)."""
    local = next((i.id for i in person.idents if i.id.startswith("urn:uuid:")), None)
    patient: Resource = {
        "resourceType": "Patient",
        "id": local.removeprefix("urn:uuid:") if local else default_id,
    }
    systems = {"FNR": FNR_SYSTEM, "DNR": DNR_SYSTEM}
    identifiers = [
        {"system": systems[i.type.v], "value": i.id} for i in person.idents if i.type.v in systems
    ]
    if identifiers:
        patient["identifier"] = identifiers
    name: Resource = {}
    if person.family_name:
        name["family"] = person.family_name
    given = [person.given_name] if person.given_name else []
    given += (person.middle_name or "").split()
    if given:
        name["given"] = given
    if name:
        patient["name"] = [name]
    telecom = [_contact_point(t.address) for t in person.telecoms if t.address]
    if any(telecom):
        patient["telecom"] = [t for t in telecom if t]
    gender = {v: k for k, v in _SEX.items()}.get(person.sex.v or "") if person.sex else None
    if gender:
        patient["gender"] = gender
    if person.date_of_birth is not None:
        patient["birthDate"] = person.date_of_birth.isoformat()
    if person.address is not None:
        patient["address"] = [_fhir_address(person.address)]
    return patient


def _contact_point(value: str) -> Resource | None:
    for system, prefix in _TELECOM.items():
        if value.startswith(prefix):
            return {"system": system, "value": value[len(prefix) :]}
    return None


def _fhir_address(address: Address) -> Resource:
    out: Resource = {}
    if address.street:
        out["line"] = [address.street]
    if address.city:
        out["city"] = address.city
    if address.postal_code:
        out["postalCode"] = address.postal_code
    return out
