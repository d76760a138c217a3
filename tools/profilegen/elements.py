"""Small builders for differential elements and StructureDefinition headers.

Every builder returns plain R4 JSON (``dict``): the profile modules read like the differential
they produce, without repeating ``id``/``path`` pairs or the slicing boilerplate.
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings import codes
from profilegen.snapshot import CORE, path_of

__all__ = [
    "DATE",
    "NO_BASIS",
    "PUBLISHER",
    "URL_SLICING",
    "VERSION",
    "Element",
    "constraint",
    "el",
    "extension_slice",
    "pattern_slicing",
    "project_url",
    "reference",
    "required",
    "sd_header",
    "vs_url",
]

Element = dict[str, Any]
NO_BASIS = "http://hl7.no/fhir/StructureDefinition/no-basis-"
VERSION = "0.1.0"
DATE = "2025-01-01"  # fixed, so that the generator's output is deterministic
PUBLISHER = "ip-fhir-adapter"
URL_SLICING: dict[str, Any] = {
    "discriminator": [{"type": "value", "path": "url"}],
    "ordered": False,
    "rules": "open",
}


def project_url(name: str) -> str:
    return codes.profile_url(name)


def vs_url(name: str) -> str:
    return f"{codes.BASE}/ValueSet/{name}"


def el(element_id: str, **properties: Any) -> Element:
    """One differential element; ``path`` follows from ``id``."""
    return {"id": element_id, "path": path_of(element_id), **properties}


def reference(*targets: str) -> list[dict[str, Any]]:
    """``type`` of a Reference to profiles: ``NO_BASIS`` names, ``ip-`` names or core types."""
    urls = [
        project_url(t) if t.startswith("ip-") else t if "/" in t else NO_BASIS + t for t in targets
    ]
    return [{"code": "Reference", "targetProfile": urls}]


def required(value_set: str) -> dict[str, Any]:
    return {"strength": "required", "valueSet": vs_url(value_set)}


def constraint(key: str, human: str, expression: str) -> dict[str, Any]:
    return {"key": key, "severity": "error", "human": human, "expression": expression}


def pattern_slicing(description: str) -> dict[str, Any]:
    return {
        "discriminator": [{"type": "pattern", "path": "$this"}],
        "description": description,
        "ordered": False,
        "rules": "open",
    }


def extension_slice(at: str, name: str, extension: str, min_: int, max_: str) -> list[Element]:
    """A slice ``{at}:{name}`` of an extension element for the project extension ``extension``."""
    return [
        el(
            f"{at}:{name}",
            sliceName=name,
            min=min_,
            max=max_,
            type=[{"code": "Extension", "profile": [project_url(extension)]}],
        )
    ]


def sd_header(
    name: str,
    title: str,
    description: str,
    kind: str,
    type_: str,
    context: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The metadata of one project StructureDefinition (everything but its elements)."""
    words = name.replace("ip-", "Ip-").split("-")
    header: dict[str, Any] = {
        "resourceType": "StructureDefinition",
        "id": name,
        "url": project_url(name),
        "version": VERSION,
        "name": "".join(w[:1].upper() + w[1:] for w in words),
        "title": title,
        "status": "draft",
        "date": DATE,
        "publisher": PUBLISHER,
        "description": description,
        "fhirVersion": "4.0.1",
        "kind": kind,
        "abstract": False,
    }
    if context is not None:
        header["context"] = [{"type": t, "expression": e} for t, e in context]
    header.update(type=type_, baseDefinition=CORE + type_, derivation="constraint")
    return header
