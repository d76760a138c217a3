"""Readers shared by MsgHead, Dialogmelding and AppRec: codes, persons, organisations, dates.

They run on schema-valid trees only, so they look children up by local name: the same shapes
(Ident, Address, TeleCom, Person, Organisation) occur in the MsgHead, Dialogmelding and
felleskomponent1 namespaces.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ipfhir.mappings.legacy.messages import refuse
from ipfhir.mappings.legacy.model import Address, Code, Ident, Organisation, Person, TeleCom

__all__ = [
    "children",
    "code",
    "code_of",
    "date_of",
    "datetime_of",
    "first",
    "local",
    "organisation",
    "person",
    "required_code",
    "text",
    "where",
]

_FRACTION = re.compile(r"(\.\d{6})\d+")
_FK1 = "http://www.kith.no/xmlstds/felleskomponent1"


def local(element: Any) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""  # etree.QName is 10x slower


def _tags(element: Any, name: str) -> tuple[str, ...]:
    """A child is in its parent's namespace, or in felleskomponent1 (Ident, Address, TeleCom
    and Kontaktenhet content inside a Dialogmelding). Exact tags keep the lookups in C."""
    namespace = element.tag[1:].partition("}")[0]
    own = f"{{{namespace}}}{name}"
    return (own,) if namespace == _FK1 else (own, f"{{{_FK1}}}{name}")


def children(element: Any, name: str) -> list[Any]:
    return list(element.iterchildren(*_tags(element, name)))


def first(element: Any, name: str) -> Any | None:
    return next(element.iterchildren(*_tags(element, name)), None)


def text(element: Any, name: str) -> str | None:
    """The text of child ``name``; ``""`` for a present, empty element; None when absent."""
    child = first(element, name)
    return None if child is None else (child.text or "")


def where(element: Any) -> str:
    """An XPath of local names with positions, e.g. ``/MsgHead/MsgInfo/Patient/Ident[1]/Id``."""
    steps: list[str] = []
    while element is not None:
        parent = element.getparent()
        name = local(element)
        if parent is not None and len(children(parent, name)) > 1:
            name += f"[{children(parent, name).index(element) + 1}]"
        steps.append(name)
        element = parent
    return "/" + "/".join(reversed(steps))


def code_of(element: Any) -> Code:
    return Code(v=element.get("V"), s=element.get("S"), dn=element.get("DN"), ot=element.get("OT"))


def code(element: Any, name: str) -> Code | None:
    child = first(element, name)
    return None if child is None else code_of(child)


def required_code(element: Any, name: str) -> Code:
    found = code(element, name)
    assert found is not None  # the schema requires it
    return found


def datetime_of(raw: str, element: Any) -> dt.datetime:
    """xs:dateTime → datetime (fractions beyond microseconds are cut: .NET sends seven digits)."""
    try:
        return dt.datetime.fromisoformat(_FRACTION.sub(r"\1", raw.strip()))
    except ValueError:
        refuse("IP-6223", where(element), f"Got {raw.strip()[:40]!r}.")


def date_of(element: Any, name: str) -> dt.date | None:
    child = first(element, name)
    if child is None:
        return None
    raw = (child.text or "").strip()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        refuse("IP-6223", where(child), f"Got {raw[:40]!r}.")


def ident(element: Any) -> Ident:
    return Ident(id=text(element, "Id") or "", type=required_code(element, "TypeId"))


def address(element: Any | None) -> Address | None:
    if element is None:
        return None
    return Address(
        type=code(element, "Type"),
        street=text(element, "StreetAdr"),
        postal_code=text(element, "PostalCode"),
        city=text(element, "City"),
        postbox=text(element, "Postbox"),
        county=code(element, "County"),
        country=code(element, "Country"),
    )


def telecom(element: Any) -> TeleCom:
    tele = first(element, "TeleAddress")
    return TeleCom(
        address=None if tele is None else tele.get("V"), type=code(element, "TypeTelecom")
    )


def person(element: Any | None) -> Person | None:
    if element is None:
        return None
    return Person(
        family_name=text(element, "FamilyName"),
        middle_name=text(element, "MiddleName"),
        given_name=text(element, "GivenName"),
        date_of_birth=date_of(element, "DateOfBirth"),
        sex=code(element, "Sex"),
        nationality=code(element, "Nationality"),
        idents=tuple(ident(i) for i in children(element, "Ident")),
        address=address(first(element, "Address")),
        telecoms=tuple(telecom(t) for t in children(element, "TeleCom")),
        profession=code(element, "TypeHealthcareProfessional"),
        role_to_patient=code(element, "RoleToPatient"),
    )


def organisation(element: Any) -> Organisation:
    unit = first(element, "Organisation")
    return Organisation(
        name=text(element, "OrganisationName"),
        type=code(element, "TypeOrganisation"),
        idents=tuple(ident(i) for i in children(element, "Ident")),
        address=address(first(element, "Address")),
        telecoms=tuple(telecom(t) for t in children(element, "TeleCom")),
        unit=None if unit is None else organisation(unit),
        professional=person(first(element, "HealthcareProfessional")),
    )
