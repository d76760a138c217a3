"""Assemble every artefact of ``profiles/ip`` (and ``profiles/plan.schema.json``) in memory.

``build(root)`` returns ``{relative path: file text}``; the caller writes or compares. Output is
deterministic: fixed date, stable key order, ``ensure_ascii=False`` (æ, ø, å stay readable).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipfhir.mappings import codes
from ipfhir.mappings.model import assignment_json_schema, plan_json_schema
from profilegen import careplan, consent
from profilegen.elements import VERSION, Element, sd_header
from profilegen.extensions import EXTENSIONS, extension_definition
from profilegen.snapshot import CORE, SnapshotError, generate_snapshot
from profilegen.terminology import code_systems, value_sets

__all__ = ["GENERATED_DIR", "PROFILES", "build", "dump"]

GENERATED_DIR = "profiles/ip"
R4 = "profiles/packages/hl7.fhir.r4.examples-4.0.1"
NO_BASIS = "profiles/packages/hl7.fhir.no.basis-2.2.0"

# name -> (type, title, description, differential)
PROFILES: dict[str, tuple[str, str, str, Callable[[], list[Element]]]] = {
    "ip-careplan": ("CarePlan", "Individuell plan",
                    "The individual plan (content list items a–i) as a CarePlan.",
                    careplan.careplan),
    "ip-careteam": ("CareTeam", "Deltakere i planarbeidet",
                    "Who takes part in the plan work and who coordinates (items b–d).",
                    careplan.careteam),
    "ip-coordinator-assignment": ("CareTeam", "Tildelt koordinator eller barnekoordinator",
                                  "A coordinator or barnekoordinator assigned on its own: to a "
                                  "family, before birth, without an individual plan (seed "
                                  "004_feb800c0c7d43aa8.txt); "
                                  "one team per person covered, sharing the assignment's "
                                  "identifier.",
                                  careplan.coordinator_assignment),
    "ip-goal": ("Goal", "Mål", "A hovedmål or delmål in the person's own words (item a).",
                careplan.goal),
    "ip-plan-consent": ("Consent", "Samtykke til individuell plan",
                        "Step 1: consent that the plan is made (item h).", consent.plan_consent),
    "ip-sharing-consent": ("Consent", "Samtykke til informasjonsutveksling",
                           "Step 2: informed, time-bounded consent to exchange confidential "
                           "information, with the person's refusals (item h, vedlegg 2).",
                           consent.sharing_consent),
}  # fmt: skip


def dump(resource: Any) -> str:
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


class _Definitions:
    """StructureDefinitions by url: core by file name, no-basis indexed, project ones as built."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.known: dict[str, dict[str, Any]] = {}
        for path in sorted((root / NO_BASIS).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("resourceType") == "StructureDefinition":
                self.known[data["url"]] = data

    def __call__(self, url: str) -> dict[str, Any]:
        if url not in self.known and url.startswith(CORE):
            path = self.root / R4 / f"StructureDefinition-{url[len(CORE) :]}.json"
            self.known[url] = json.loads(path.read_text(encoding="utf-8"))
        if url not in self.known:
            raise SnapshotError(f"unknown StructureDefinition {url}")
        return self.known[url]


def _structure(
    header: dict[str, Any], differential: list[Element], load: _Definitions
) -> dict[str, Any]:
    base = load(header["baseDefinition"])
    snapshot = generate_snapshot(base, differential, load, header["url"])
    resource = {
        **header,
        "snapshot": {"element": snapshot},
        "differential": {"element": differential},
    }
    load.known[header["url"]] = resource
    return resource


def _structures(load: _Definitions) -> list[dict[str, Any]]:
    out = [_structure(*extension_definition(spec), load) for spec in EXTENSIONS]
    for name, (type_, title, description, differential) in PROFILES.items():
        header = sd_header(name, title, description, "resource", type_)
        out.append(_structure(header, differential(), load))
    return out


def _package() -> dict[str, Any]:
    return {
        "name": "ip-fhir-adapter.profiles",
        "version": VERSION,
        "description": "FHIR R4 profiles, extensions and terminology of the individual plan "
        "(individuell plan) adapter.",
        "canonical": codes.BASE,
        "fhirVersions": ["4.0.1"],
        "type": "fhir.ig",
        "license": "Proprietary",
        "dependencies": {"hl7.fhir.r4.core": "4.0.1", "hl7.fhir.no.basis": "2.2.0"},
    }


def build(root: Path) -> dict[str, str]:
    """Every generated file, by path relative to the repository root."""
    files: dict[str, str] = {}
    resources = [*_structures(_Definitions(root)), *code_systems(), *value_sets()]
    for resource in resources:
        name = f"{resource['resourceType']}-{resource['id']}.json"
        files[f"{GENERATED_DIR}/{name}"] = dump(resource)
    files[f"{GENERATED_DIR}/package.json"] = dump(_package())
    files["profiles/plan.schema.json"] = dump(plan_json_schema())
    files["profiles/assignment.schema.json"] = dump(assignment_json_schema())
    return files
