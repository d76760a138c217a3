"""AppRec 1.0 (ns ``.../apprec/2004-11-21``) and 1.1 (``.../apprec/2012-02-15``) → model."""

from __future__ import annotations

from typing import Any

from ipfhir.mappings.legacy.model import (
    AdditionalId,
    AppRec,
    AppRecAddress,
    AppRecParty,
    AppRecUnit,
    Institution,
    OriginalMessage,
)
from ipfhir.mappings.legacy.read_common import (
    children,
    code,
    code_of,
    datetime_of,
    first,
    required_code,
    text,
)
from ipfhir.mappings.legacy.schemas import NS

__all__ = ["read_apprec"]


def read_apprec(element: Any) -> AppRec:
    original = first(element, "OriginalMsgId")
    assert original is not None  # the schema requires it
    return AppRec(
        msg_type=required_code(element, "MsgType"),
        gen_date=datetime_of(text(element, "GenDate") or "", first(element, "GenDate")),
        id=text(element, "Id") or "",
        sender=_party(first(element, "Sender")),
        receiver=_party(first(element, "Receiver")),
        status=required_code(element, "Status"),
        original=OriginalMessage(
            msg_type=required_code(original, "MsgType"),
            issue_date=datetime_of(text(original, "IssueDate") or "", first(original, "IssueDate")),
            id=text(original, "Id") or "",
        ),
        errors=tuple(code_of(e) for e in children(element, "Error")),
        software_name=text(element, "SoftwareName"),
        software_version=text(element, "SoftwareVersion"),
        version="1.0" if element.tag.startswith(f"{{{NS['ar10']}}}") else "1.1",
    )


def _additional(element: Any) -> tuple[AdditionalId, ...]:
    return tuple(
        AdditionalId(id=text(a, "Id") or "", type=required_code(a, "Type"))
        for a in children(element, "AdditionalId")
    )


def _unit(element: Any) -> AppRecUnit:
    return AppRecUnit(
        name=text(element, "Name"),
        id=text(element, "Id"),
        type_id=code(element, "TypeId"),
        additional_ids=_additional(element),
        type=code(element, "Type"),
    )


def _party(element: Any) -> AppRecParty:
    hcp = first(element, "HCP")
    assert hcp is not None  # the schema requires it
    inst, prof, address = first(hcp, "Inst"), first(hcp, "HCProf"), first(hcp, "Address")
    return AppRecParty(
        institution=None
        if inst is None
        else Institution(
            name=text(inst, "Name"),
            id=text(inst, "Id"),
            type_id=code(inst, "TypeId"),
            departments=tuple(_unit(d) for d in children(inst, "Dept")),
            additional_ids=_additional(inst),
            persons=tuple(_unit(p) for p in children(inst, "HCPerson")),
        ),
        professional=None if prof is None else _unit(prof),
        role=code(element, "Role"),
        med_speciality=code(hcp, "MedSpeciality"),
        address=None
        if address is None
        else AppRecAddress(
            type=required_code(address, "Type"),
            street=text(address, "StreetAdr"),
            postal_code=text(address, "PostalCode"),
            city=text(address, "City"),
            county=code(address, "County"),
            country=code(address, "Country"),
            city_district=code(address, "CityDistr"),
            tele_addresses=tuple(t.get("V") for t in children(address, "TeleAddress")),
        ),
    )
