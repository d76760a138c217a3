"""AppRec model → AppRec 1.1 XML (ns ``http://www.kith.no/xmlstds/apprec/2012-02-15``), and the
receipt that answers a MsgHead (:func:`receipt_for`: ids and times are arguments, never made here).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.legacy.model import (
    AdditionalId,
    AppRec,
    AppRecParty,
    AppRecUnit,
    Code,
    Institution,
    Message,
    OriginalMessage,
    Party,
)
from ipfhir.mappings.legacy.schemas import NS
from ipfhir.mappings.legacy.write_common import finish, put, put_code, sub

__all__ = ["append_apprec", "receipt_for", "write_apprec"]

_NS = NS["ar11"]
MIG_VERSION = "v1.1 2012-02-15"
STATUS = {
    "ok": Code(v="1", dn="OK"),
    "rejected": Code(v="2", dn="Avvist"),
    "ok-with-errors": Code(v="3", dn="OK, feil i delmelding"),
}


def write_apprec(receipt: AppRec) -> bytes:
    """AppRec 1.1 as UTF-8 bytes, checked against the schema (IP-6230 otherwise)."""
    holder = etree.Element("holder")
    return finish(append_apprec(holder, receipt))


def append_apprec(parent: Any, receipt: AppRec) -> Any:
    root = etree.SubElement(parent, f"{{{_NS}}}AppRec", nsmap={None: _NS})
    put_code(root, _NS, "MsgType", receipt.msg_type)
    put(root, _NS, "MIGversion", MIG_VERSION)
    put(root, _NS, "SoftwareName", receipt.software_name)
    put(root, _NS, "SoftwareVersion", receipt.software_version)
    put(root, _NS, "GenDate", receipt.gen_date)
    put(root, _NS, "Id", receipt.id)
    _put_party(root, "Sender", receipt.sender)
    _put_party(root, "Receiver", receipt.receiver)
    put_code(root, _NS, "Status", receipt.status)
    for error in receipt.errors:
        put_code(root, _NS, "Error", error)
    original = sub(root, _NS, "OriginalMsgId")
    put_code(original, _NS, "MsgType", receipt.original.msg_type)
    put(original, _NS, "IssueDate", receipt.original.issue_date)
    put(original, _NS, "Id", receipt.original.id)
    return root


def _put_additional(element: Any, ids: tuple[AdditionalId, ...]) -> None:
    for extra in ids:
        holder = sub(element, _NS, "AdditionalId")
        put(holder, _NS, "Id", extra.id)
        put_code(holder, _NS, "Type", extra.type)


def _put_unit(parent: Any, name: str, unit: AppRecUnit) -> None:
    element = sub(parent, _NS, name)
    if name != "HCPerson":
        put_code(element, _NS, "Type", unit.type)
    put(element, _NS, "Name", unit.name)
    put(element, _NS, "Id", unit.id)
    put_code(element, _NS, "TypeId", unit.type_id)
    _put_additional(element, unit.additional_ids)


def _put_party(parent: Any, name: str, party: AppRecParty) -> None:
    element = sub(parent, _NS, name)
    put_code(element, _NS, "Role", party.role)
    hcp = sub(element, _NS, "HCP")
    if party.institution is not None:
        inst = party.institution
        holder = sub(hcp, _NS, "Inst")
        put(holder, _NS, "Name", inst.name)
        put(holder, _NS, "Id", inst.id)
        put_code(holder, _NS, "TypeId", inst.type_id)
        for dept in inst.departments:
            _put_unit(holder, "Dept", dept)
        _put_additional(holder, inst.additional_ids)
        for person in inst.persons:
            _put_unit(holder, "HCPerson", person)
    if party.professional is not None:
        _put_unit(hcp, "HCProf", party.professional)
    put_code(hcp, _NS, "MedSpeciality", party.med_speciality)
    if party.address is not None:
        address = party.address
        holder = sub(hcp, _NS, "Address")
        put_code(holder, _NS, "Type", address.type)
        put(holder, _NS, "StreetAdr", address.street)
        put(holder, _NS, "PostalCode", address.postal_code)
        put(holder, _NS, "City", address.city)
        put_code(holder, _NS, "County", address.county)
        put_code(holder, _NS, "Country", address.country)
        put_code(holder, _NS, "CityDistr", address.city_district)
        for tele in address.tele_addresses:
            element_tele = sub(holder, _NS, "TeleAddress")
            if tele is not None:
                element_tele.set("V", tele)


def _apprec_party(party: Party) -> AppRecParty:
    """An AppRec party from a MsgHead one: the institution (HER-id), its unit as Dept."""
    org = party.organisation
    her = next((i for i in org.idents if i.type.v == "HER"), None)
    dept_her = (
        None if org.unit is None else next((i for i in org.unit.idents if i.type.v == "HER"), None)
    )
    return AppRecParty(
        institution=Institution(
            name=org.name,
            id=None if her is None else her.id,
            type_id=None if her is None else Code(v="HER", dn="HER-id"),
            departments=()
            if org.unit is None
            else (
                AppRecUnit(
                    name=org.unit.name,
                    id=None if dept_her is None else dept_her.id,
                    type_id=None if dept_her is None else Code(v="HER", dn="HER-id"),
                ),
            ),
        )
    )


def receipt_for(
    message: Message,
    *,
    receipt_id: str,
    gen_date: dt.datetime,
    outcome: str = "ok",
    errors: tuple[Code, ...] = (),
    software: tuple[str, str] | None = None,
) -> AppRec:
    """The AppRec answering ``message`` from its receiver: ``outcome`` 'ok', 'ok-with-errors' or
    'rejected' (AppRec status 1, 3, 2); ``errors`` the error codes (V, S, DN, OT = detail)."""
    return AppRec(
        msg_type=Code(v="APPREC", dn="Applikasjonskvittering"),
        gen_date=gen_date,
        id=receipt_id,
        sender=_apprec_party(message.receiver),
        receiver=_apprec_party(message.sender),
        status=STATUS[outcome],
        original=OriginalMessage(
            msg_type=Code(v=message.msg_type.v, dn=message.msg_type.dn),
            issue_date=message.gen_date,
            id=message.msg_id,
        ),
        errors=errors,
        software_name=None if software is None else software[0],
        software_version=None if software is None else software[1],
    )
