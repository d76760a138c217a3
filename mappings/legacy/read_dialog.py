"""Dialogmelding 1.0 (ns ``.../dialog/2006-10-11``) and 1.1 (``.../dialog/2013-01-23``) → model."""

from __future__ import annotations

from typing import Any

from ipfhir.mappings.legacy.model import (
    Dialogmelding,
    LinkedUnit,
    Note,
    Request,
    RichText,
    Role,
)
from ipfhir.mappings.legacy.read_common import (
    children,
    code,
    code_of,
    date_of,
    first,
    organisation,
    person,
    required_code,
    text,
)
from ipfhir.mappings.legacy.schemas import NS
from ipfhir.mappings.legacy.xmlnode import node_of

__all__ = ["read_dialogmelding"]


def read_dialogmelding(element: Any) -> Dialogmelding:
    namespace = element.tag[1:].split("}")[0]
    return Dialogmelding(
        case_type_code=code(element, "SakstypeKodet"),
        case_type=text(element, "Sakstype"),
        requests=tuple(_request(r) for r in children(element, "Foresporsel")),
        notes=tuple(_note(n) for n in children(element, "Notat")),
        version="1.0" if namespace == NS["dia10"] else "1.1",
    )


def _rich(element: Any | None) -> RichText | None:
    if element is None:
        return None
    return RichText(text=element.text, children=tuple(node_of(c) for c in element))


def _note(element: Any) -> Note:
    request = first(element, "Foresporsel")
    return Note(
        topic_code=required_code(element, "TemaKodet"),
        topic=text(element, "Tema"),
        text=_rich(first(element, "TekstNotatInnhold")),
        remark=text(element, "Merknad"),
        doc_id=text(element, "DokIdNotat"),
        date=date_of(element, "DatoNotat"),
        request=None if request is None else _request(request),
        roles=tuple(_role(r) for r in children(element, "RollerRelatertNotat")),
    )


def _request(element: Any) -> Request:
    return Request(
        type=required_code(element, "TypeForesp"),
        subject=text(element, "EmneSporsmal"),
        question=_rich(first(element, "Sporsmal")),
        purpose=code(element, "Formål"),
        reason=text(element, "Begrunnelse"),
        urgency=code(element, "Hastegrad"),
        from_date=date_of(element, "FraDato"),
        to_date=date_of(element, "TilDato"),
        journal_info_types=tuple(code_of(j) for j in children(element, "TypeJournalinfo")),
        coded_information=code(element, "KodetOpplysning"),
        doc_id=text(element, "DokIdForesp"),
        roles=tuple(_role(r) for r in children(element, "RollerRelatertNotat")),
    )


def _role(element: Any) -> Role:
    unit = first(element, "TilknyttetEnhet")
    return Role(
        role_in_note=code(element, "RolleNotat"),
        role_to_patient=code(element, "RoleToPatient"),
        unit=None if unit is None else _linked_unit(unit),
        professional=person(first(element, "HealthcareProfessional")),
        person=person(first(element, "Person")),
    )


def _linked_unit(element: Any) -> LinkedUnit:
    contact = first(element, "Kontaktenhet")
    assert contact is not None  # the schema requires it
    return LinkedUnit(
        contact_unit=organisation(contact),
        remark=text(element, "Merknad"),
        professional=person(first(element, "HealthcareProfessional")),
        person=person(first(element, "Person")),
    )
