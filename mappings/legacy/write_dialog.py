"""Dialogmelding model → Dialogmelding 1.1 XML (ns ``http://www.kith.no/xmlstds/dialog/2013-01-23``).

Content read from 1.0 is written as 1.1: every 1.0 instance's content is allowed by 1.1.
"""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.legacy.model import Dialogmelding, Note, Request, RichText, Role
from ipfhir.mappings.legacy.schemas import NS
from ipfhir.mappings.legacy.write_common import (
    put,
    put_code,
    put_organisation,
    put_person,
    sub,
)
from ipfhir.mappings.legacy.xmlnode import append_node

__all__ = ["append_dialogmelding"]

_NS = NS["dia11"]


def append_dialogmelding(parent: Any, dialog: Dialogmelding) -> None:
    element = etree.SubElement(
        parent, f"{{{_NS}}}Dialogmelding", nsmap={None: _NS, "fk1": NS["fk1"]}
    )
    put_code(element, _NS, "SakstypeKodet", dialog.case_type_code)
    put(element, _NS, "Sakstype", dialog.case_type)
    for request in dialog.requests:
        _put_request(element, request)
    for note in dialog.notes:
        _put_note(element, note)


def _put_rich(parent: Any, name: str, rich: RichText | None) -> None:
    if rich is None:
        return
    element = sub(parent, _NS, name)
    element.text = rich.text
    for child in rich.children:
        append_node(element, child)


def _put_note(parent: Any, note: Note) -> None:
    element = sub(parent, _NS, "Notat")
    put_code(element, _NS, "TemaKodet", note.topic_code)
    put(element, _NS, "Tema", note.topic)
    _put_rich(element, "TekstNotatInnhold", note.text)
    put(element, _NS, "Merknad", note.remark)
    put(element, _NS, "DokIdNotat", note.doc_id)
    put(element, _NS, "DatoNotat", note.date)
    if note.request is not None:
        _put_request(element, note.request)
    for role in note.roles:
        _put_role(element, role)


def _put_request(parent: Any, request: Request) -> None:
    element = sub(parent, _NS, "Foresporsel")
    put_code(element, _NS, "TypeForesp", request.type)
    put(element, _NS, "EmneSporsmal", request.subject)
    _put_rich(element, "Sporsmal", request.question)
    put_code(element, _NS, "Formål", request.purpose)
    put(element, _NS, "Begrunnelse", request.reason)
    put_code(element, _NS, "Hastegrad", request.urgency)
    put(element, _NS, "FraDato", request.from_date)
    put(element, _NS, "TilDato", request.to_date)
    for journal in request.journal_info_types:
        put_code(element, _NS, "TypeJournalinfo", journal)
    put_code(element, _NS, "KodetOpplysning", request.coded_information)
    put(element, _NS, "DokIdForesp", request.doc_id)
    for role in request.roles:
        _put_role(element, role)


def _put_role(parent: Any, role: Role) -> None:
    element = sub(parent, _NS, "RollerRelatertNotat")
    put_code(element, _NS, "RolleNotat", role.role_in_note)
    put_code(element, _NS, "RoleToPatient", role.role_to_patient)
    if role.unit is not None:
        unit = sub(element, _NS, "TilknyttetEnhet")
        put_organisation(unit, _NS, "Kontaktenhet", role.unit.contact_unit, fk1=True)
        put(unit, _NS, "Merknad", role.unit.remark)
        put_person(unit, _NS, "HealthcareProfessional", role.unit.professional, "dialog-hp")
        put_person(unit, _NS, "Person", role.unit.person, "dialog-person")
    put_person(element, _NS, "HealthcareProfessional", role.professional, "dialog-hp")
    put_person(element, _NS, "Person", role.person, "dialog-person")
