"""CodeSystems (from ``mappings.codes.PROJECT_CODE_SYSTEMS``) and the ValueSets the profiles bind.

ValueSets list their codes explicitly (``compose.include.concept``), so an offline validator needs
no expansion; national codes (9034 #8 and #18) are included by system and code.
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings import codes
from profilegen.elements import DATE, PUBLISHER, VERSION, vs_url

__all__ = ["VALUE_SETS", "code_system", "code_systems", "value_set", "value_sets"]

Include = tuple[str, list[tuple[str, str]]]  # (system, [(code, display)])


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def code_system(name: str, title: str, concepts: dict[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": name,
        "url": codes.cs_url(name),
        "version": VERSION,
        "name": _pascal(name),
        "title": title,
        "status": "draft",
        "date": DATE,
        "publisher": PUBLISHER,
        "description": f"{title} (ip-fhir-adapter project codes, mappings/codes.py).",
        "caseSensitive": True,
        "valueSet": vs_url(name) if name in VALUE_SETS else None,
        "content": "complete",
        "count": len(concepts),
        "concept": [{"code": code, "display": display} for code, display in concepts.items()],
    }


def code_systems() -> list[dict[str, Any]]:
    out = []
    for name, (title, concepts) in codes.PROJECT_CODE_SYSTEMS.items():
        resource = code_system(name, title, concepts)
        if resource["valueSet"] is None:
            del resource["valueSet"]
        out.append(resource)
    return out


def _project(name: str) -> Include:
    _title, concepts = codes.PROJECT_CODE_SYSTEMS[name]
    return codes.cs_url(name), list(concepts.items())


def _coordinator_roles() -> list[Include]:
    by_system: dict[str, list[tuple[str, str]]] = {}
    for system, code, display in codes.COORDINATOR_ROLE.values():
        by_system.setdefault(system, []).append((code, display))
    return list(by_system.items())


def _value_set_includes() -> dict[str, tuple[str, list[Include]]]:
    """name -> (title, includes) of every ValueSet a profile binds."""
    return {
        "ip-information-topic": ("Informasjonstema", [_project("ip-information-topic")]),
        "ip-coordinator-role": ("Koordinatorroller", _coordinator_roles()),
        "ip-careteam-participant-role": (
            "Roller i planarbeidet og koordinatorroller",
            [_project("ip-participant-role"), *_coordinator_roles()],
        ),
        "ip-goal-level": ("Målnivå", [_project("ip-goal-level")]),
        "ip-organisation-type": ("Virksomhetstype", [_project("ip-organisation-type")]),
        "ip-consent-domain": ("Rettsområde for samtykket", [_project("ip-consent-domain")]),
        "ip-consent-capacity": ("Samtykkegrunnlag", [_project("ip-consent-capacity")]),
        "ip-legal-basis": ("Rettsgrunnlag for planen", [_project("ip-legal-basis")]),
    }


VALUE_SETS = (
    "ip-information-topic",
    "ip-coordinator-role",
    "ip-careteam-participant-role",
    "ip-goal-level",
    "ip-organisation-type",
    "ip-consent-domain",
    "ip-consent-capacity",
    "ip-legal-basis",
)


def value_set(name: str, title: str, includes: list[Include]) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "id": name,
        "url": vs_url(name),
        "version": VERSION,
        "name": _pascal(name),
        "title": title,
        "status": "draft",
        "date": DATE,
        "publisher": PUBLISHER,
        "description": f"{title} (bound by the ip-fhir-adapter profiles).",
        "immutable": False,
        "compose": {
            "include": [
                {
                    "system": system,
                    "concept": [{"code": code, "display": display} for code, display in concepts],
                }
                for system, concepts in includes
            ]
        },
    }


def value_sets() -> list[dict[str, Any]]:
    includes = _value_set_includes()
    assert tuple(includes) == VALUE_SETS
    return [value_set(name, *includes[name]) for name in VALUE_SETS]
