"""Builders shared by the MsgHead, Dialogmelding and AppRec writers: elements in the right
namespace and order, codes, persons, organisations; and the final check against the schemas."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model import Address, Code, Ident, Organisation, Person, TeleCom
from ipfhir.mappings.legacy.schemas import NS, validate

__all__ = ["finish", "put", "put_code", "put_organisation", "put_person", "sub"]

PersonShape = Literal["msghead", "dialog-hp", "dialog-person"]


def sub(parent: Any, ns: str, name: str) -> Any:
    return etree.SubElement(parent, f"{{{ns}}}{name}")


def put(parent: Any, ns: str, name: str, value: str | dt.date | None) -> None:
    if value is not None:
        sub(parent, ns, name).text = value if isinstance(value, str) else value.isoformat()


def put_code(parent: Any, ns: str, name: str, code: Code | None) -> None:
    if code is None:
        return
    element = sub(parent, ns, name)
    for attribute, value in (("V", code.v), ("S", code.s), ("DN", code.dn), ("OT", code.ot)):
        if value is not None:
            element.set(attribute, value)


def _put_ident(parent: Any, ns: str, inner: str, ident: Ident) -> None:
    element = sub(parent, ns, "Ident")
    put(element, inner, "Id", ident.id)
    put_code(element, inner, "TypeId", ident.type)


def _put_address(parent: Any, ns: str, inner: str, address: Address | None) -> None:
    if address is None:
        return
    element = sub(parent, ns, "Address")
    put_code(element, inner, "Type", address.type)
    put(element, inner, "StreetAdr", address.street)
    put(element, inner, "PostalCode", address.postal_code)
    put(element, inner, "City", address.city)
    put(element, inner, "Postbox", address.postbox)
    put_code(element, inner, "County", address.county)
    put_code(element, inner, "Country", address.country)


def _put_telecom(parent: Any, ns: str, inner: str, telecom: TeleCom) -> None:
    element = sub(parent, ns, "TeleCom")
    put_code(element, inner, "TypeTelecom", telecom.type)
    tele = sub(element, inner, "TeleAddress")
    if telecom.address is not None:
        tele.set("V", telecom.address)


def _put_contacts(
    element: Any,
    ns: str,
    inner: str,
    idents: tuple[Ident, ...],
    address: Address | None,
    telecoms: tuple[TeleCom, ...],
) -> None:
    for ident in idents:
        _put_ident(element, ns, inner, ident)
    _put_address(element, ns, inner, address)
    for telecom in telecoms:
        _put_telecom(element, ns, inner, telecom)


def put_person(parent: Any, ns: str, name: str, person: Person | None, shape: PersonShape) -> None:
    """Patient/Person/HealthcareProfessional; Ident, Address and TeleCom content is in
    felleskomponent1 inside a Dialogmelding, and a Dialogmelding Person starts with GivenName."""
    if person is None:
        return
    element = sub(parent, ns, name)
    inner = NS["mh"] if shape == "msghead" else NS["fk1"]
    if name == "HealthcareProfessional":
        put_code(element, ns, "TypeHealthcareProfessional", person.profession)
        put_code(element, ns, "RoleToPatient", person.role_to_patient)
    elif person.profession is not None or person.role_to_patient is not None:
        refuse("IP-6230", name, "Only a HealthcareProfessional has a profession or a role.")
    names = [("FamilyName", person.family_name), ("MiddleName", person.middle_name)]
    names.append(("GivenName", person.given_name))
    for part, value in reversed(names) if shape == "dialog-person" else names:
        put(element, ns, part, value)
    put(element, ns, "DateOfBirth", person.date_of_birth)
    put_code(element, ns, "Sex", person.sex)
    put_code(element, ns, "Nationality", person.nationality)
    _put_contacts(element, ns, inner, person.idents, person.address, person.telecoms)


def put_organisation(parent: Any, ns: str, name: str, org: Organisation, *, fk1: bool) -> None:
    """A MsgHead Organisation, or (``fk1``) a felleskomponent1 one: TypeOrganisation first,
    children in felleskomponent1, no HealthcareProfessional."""
    element = sub(parent, ns, name)
    inner = NS["fk1"] if fk1 else ns
    if fk1:
        put_code(element, inner, "TypeOrganisation", org.type)
    put(element, inner, "OrganisationName", org.name)
    if not fk1:
        put_code(element, inner, "TypeOrganisation", org.type)
    _put_contacts(element, inner, inner, org.idents, org.address, org.telecoms)
    if org.unit is not None:
        put_organisation(element, inner, "Organisation", org.unit, fk1=fk1)
    if fk1 and org.professional is not None:
        refuse("IP-6230", "Kontaktenhet", "A felleskomponent1 Organisation has no person.")
    put_person(element, inner, "HealthcareProfessional", org.professional, "msghead")


def finish(root: Any) -> bytes:
    """Check ``root`` against the schemas (IP-6230 with the XPath) and serialise it as UTF-8."""
    validate(root, "IP-6230")
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True))
