"""The generated conformance resources in profiles/ip (tools/gen_profiles.py)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhirpathpy import evaluate
from fhirpathpy.models import models

from ipfhir.mappings import codes

ROOT = Path(__file__).resolve().parents[3]
IP = ROOT / "profiles" / "ip"
R4 = ROOT / "profiles" / "packages" / "hl7.fhir.r4.examples-4.0.1"
CORE = "http://hl7.org/fhir/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
IRCP = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
EXT = f"{codes.BASE}/StructureDefinition/"
CS = f"{codes.BASE}/CodeSystem/"
# Code list 9034 as published (shared reference identifiers-and-oids.md): the coordinator codes.
NATIONAL_9034 = {
    "8": "Koordinator Individuell plan",
    "18": "Koordinator (spesialisthelsetjenesteloven)",
}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _resources(kind: str) -> list[dict[str, Any]]:
    return [_load(p) for p in sorted(IP.glob(f"{kind}-*.json"))]


STRUCTURES = _resources("StructureDefinition")
SD_IDS = [sd["id"] for sd in STRUCTURES]


@pytest.fixture(scope="module")
def generator(request: pytest.FixtureRequest) -> Any:
    sys.path.insert(0, str(ROOT / "tools"))
    request.addfinalizer(lambda: sys.path.remove(str(ROOT / "tools")))
    from profilegen import build, snapshot

    return build, snapshot


def _base(sd: dict[str, Any]) -> dict[str, Any]:
    return _load(R4 / f"StructureDefinition-{sd['baseDefinition'][len(CORE) :]}.json")


def test_committed_files_are_what_the_generator_writes(generator: Any) -> None:
    build, _ = generator
    files = build.build(ROOT)
    stale = [p for p, text in files.items() if (ROOT / p).read_text(encoding="utf-8") != text]
    assert stale == [], "run .venv/bin/python tools/gen_profiles.py"
    generated = {Path(p).name for p in files if p.startswith("profiles/ip/")}
    present = {p.name for p in IP.iterdir() if p.is_file()} - {"README.md"}
    assert present == generated


def test_the_expected_profiles_and_extensions_exist() -> None:
    profiles = {"ip-careplan", "ip-careteam", "ip-goal", "ip-plan-consent", "ip-sharing-consent"}
    profiles |= {"ip-coordinator-assignment"}  # a coordinator assignment on its own
    assert profiles <= set(SD_IDS)
    table = (ROOT / "profiles" / "mapping-table.md").read_text(encoding="utf-8")
    named = set(re.findall(r"ext:(ip-[a-z-]+[a-z])", table))
    # 19 + 9 for issue 16 (text parts, records, links) + 2 for the assignment on its own
    # (ip-expected-birth, ip-assignment-created)
    assert len(named) == 30
    by_url = {sd["url"]: sd for sd in STRUCTURES}
    for name in named:
        sd = by_url[EXT + name]
        assert (sd["type"], sd["kind"], sd["derivation"]) == (
            "Extension",
            "complex-type",
            "constraint",
        )


@pytest.mark.parametrize("sd", STRUCTURES, ids=SD_IDS)
def test_snapshot_has_every_base_element(sd: dict[str, Any]) -> None:
    ids = {e["id"] for e in sd["snapshot"]["element"]}
    paths = {e["path"] for e in sd["snapshot"]["element"]}
    for element in _base(sd)["snapshot"]["element"]:
        assert element["id"] in ids
        assert element["path"] in paths


@pytest.mark.parametrize("sd", STRUCTURES, ids=SD_IDS)
def test_snapshot_ids_paths_and_order_follow_r4(sd: dict[str, Any]) -> None:
    seen: set[str] = set()
    for element in sd["snapshot"]["element"]:
        element_id = element["id"]
        assert element_id not in seen
        assert element["path"] == ".".join(s.split(":")[0] for s in element_id.split("."))
        last = element_id.rsplit(".", 1)[-1]
        if ":" in last:
            assert element["sliceName"] == last.split(":")[1]
            assert element_id.rsplit(":", 1)[0] in seen  # the sliced element comes first
            assert "slicing" in _by_id(sd)[element_id.rsplit(":", 1)[0]]
        else:
            assert "sliceName" not in element
        if "." in element_id:
            assert element_id.rsplit(".", 1)[0] in seen  # the parent comes first
        seen.add(element_id)


def _by_id(sd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in sd["snapshot"]["element"]}


@pytest.mark.parametrize("sd", STRUCTURES, ids=SD_IDS)
def test_differential_is_applied_in_the_snapshot(sd: dict[str, Any]) -> None:
    snapshot = _by_id(sd)
    for diff in sd["differential"]["element"]:
        element = snapshot[diff["id"]]
        for key, value in diff.items():
            if key == "constraint":
                keys = {c["key"]: c for c in element["constraint"]}
                for added in value:
                    assert keys[added["key"]]["expression"] == added["expression"]
                    assert keys[added["key"]]["source"] == sd["url"]
            else:
                assert element[key] == value, f"{diff['id']}.{key}"


def _constraints() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for sd in STRUCTURES:
        for element in sd["snapshot"]["element"]:
            for c in element.get("constraint", []):
                if c["key"].startswith("ip-"):
                    yield sd["id"], element["id"], c


def test_invariants_are_project_errors_with_text() -> None:
    found = list(_constraints())
    assert len(found) >= 9
    for _sd, _element, c in found:
        assert c["severity"] == "error" and c["human"] and c["expression"]


def test_extension_contexts_name_existing_elements() -> None:
    urls = {sd["url"] for sd in STRUCTURES}
    for sd in STRUCTURES:
        for context in sd.get("context", []):
            if context["type"] == "extension":
                assert context["expression"] in urls
                continue
            root = context["expression"].split(".")[0]
            base = _load(R4 / f"StructureDefinition-{root}.json")
            assert context["expression"] in {e["path"] for e in base["snapshot"]["element"]}


def test_every_profile_and_binding_used_resolves() -> None:
    urls = {sd["url"] for sd in STRUCTURES}
    value_sets = {vs["url"] for vs in _resources("ValueSet")}
    for sd in STRUCTURES:
        for element in sd["snapshot"]["element"]:
            for t in element.get("type", []):
                for url in [*t.get("profile", []), *t.get("targetProfile", [])]:
                    assert not url.startswith(codes.BASE) or url in urls, url
            bound = element.get("binding", {}).get("valueSet", "")
            assert not bound.startswith(codes.BASE) or bound in value_sets, bound


def test_code_systems_are_the_project_codes() -> None:
    systems = {cs["id"]: cs for cs in _resources("CodeSystem")}
    assert set(systems) == set(codes.PROJECT_CODE_SYSTEMS)
    for name, (_title, concepts) in codes.PROJECT_CODE_SYSTEMS.items():
        cs = systems[name]
        assert (cs["url"], cs["content"], cs["caseSensitive"]) == (
            codes.cs_url(name),
            "complete",
            True,
        )
        assert {c["code"]: c["display"] for c in cs["concept"]} == concepts
        assert cs["count"] == len(concepts)


def test_value_set_codes_exist_in_their_code_systems() -> None:
    known = {
        cs["url"]: {c["code"]: c["display"] for c in cs["concept"]}
        for cs in _resources("CodeSystem")
    }
    known[codes.SYSTEM_9034] = NATIONAL_9034
    for vs in _resources("ValueSet"):
        for include in vs["compose"]["include"]:
            concepts = known[include["system"]]
            assert include["concept"], vs["id"]
            for concept in include["concept"]:
                assert concepts[concept["code"]] == concept["display"], (vs["id"], concept)


def test_coordinator_roles_include_the_national_codes() -> None:
    vs = _load(IP / "ValueSet-ip-careteam-participant-role.json")
    included = {(i["system"], c["code"]) for i in vs["compose"]["include"] for c in i["concept"]}
    assert {(codes.SYSTEM_9034, "8"), (codes.SYSTEM_9034, "18")} <= included
    assert (CS + "ip-coordinator-role", "barnekoordinator") in included
    assert (CS + "ip-participant-role", "tjenestemottaker") in included


def test_package_manifest_and_readme() -> None:
    package = _load(IP / "package.json")
    assert (package["name"], package["version"], package["fhirVersions"]) == (
        "ip-fhir-adapter.profiles",
        "0.1.0",
        ["4.0.1"],
    )
    assert package["dependencies"] == {"hl7.fhir.r4.core": "4.0.1", "hl7.fhir.no.basis": "2.2.0"}
    readme = (IP / "README.md").read_text(encoding="utf-8")
    for path in IP.glob("*.json"):
        assert path.stem.split("-", 1)[-1] in readme or path.name in readme, path.name


def test_snapshot_generator_refuses_to_widen_or_invent(generator: Any) -> None:
    _, snapshot = generator
    base = _load(R4 / "StructureDefinition-CarePlan.json")

    def run(*diff: dict[str, Any]) -> list[dict[str, Any]]:
        elements = [{"id": d["id"], "path": snapshot.path_of(d["id"]), **d} for d in diff]
        result: list[dict[str, Any]] = snapshot.generate_snapshot(
            base, elements, lambda u: base, "x"
        )
        return result

    with pytest.raises(snapshot.SnapshotError, match="max"):
        run({"id": "CarePlan.subject", "max": "*"})
    with pytest.raises(snapshot.SnapshotError, match="min"):
        run({"id": "CarePlan.status", "min": 0})
    with pytest.raises(snapshot.SnapshotError, match="types"):
        run({"id": "CarePlan.title", "type": [{"code": "markdown"}]})
    with pytest.raises(snapshot.SnapshotError, match="no such element"):
        run({"id": "CarePlan.activity.nonsense"})
    with pytest.raises(snapshot.SnapshotError, match="not sliced"):
        run({"id": "CarePlan.category:x", "sliceName": "x"})


# Synthetic instances of the profiles (no real person; Sami and Norwegian letters in the text).
def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _ref(target: str) -> dict[str, str]:
    return {"reference": target}


def _careplan() -> dict[str, Any]:
    topic = {
        "url": EXT + "ip-security-label",
        "valueCoding": {"system": CS + "ip-information-topic", "code": "behandling"},
    }
    return {
        "resourceType": "CarePlan",
        "id": "plan1",
        "language": "se",
        "extension": [
            {"url": EXT + "ip-evaluation-date", "valueDate": "2024-09-01"},
            {
                "url": EXT + "ip-need",
                "id": "behov1",
                "extension": [
                    {"url": "text", "valueString": "Hjelp til å mestre hverdagen i Kárášjohka"},
                    topic,
                ],
            },
            {
                "url": EXT + "ip-cooperation",
                "extension": [
                    {"url": "organization", "valueReference": _ref("Organization/plan1-nav")},
                    {"url": "description", "valueString": "Samarbeid om arbeid og aktivitet"},
                    {"url": "necessity", "valueCode": "desired"},
                ],
            },
        ],
        "status": "active",
        "intent": "plan",
        "category": [_concept(codes.SYSTEM_9602, "A02-2")],
        "subject": _ref("Patient/p1"),
        "period": {"start": "2024-03-01"},
        "created": "2024-03-01",
        "author": _ref("Organization/plan1-kommune"),
        "careTeam": [_ref("CareTeam/plan1")],
        "supportingInfo": [_ref("Consent/plan1-samtykke1")],
        "goal": [_ref("Goal/plan1-mal1")],
        "activity": [
            {
                "id": "tiltak1",
                "extension": [topic],
                "detail": {
                    "extension": [
                        {"url": EXT + "ip-measure-extent", "valueString": "2 timer per uke"}
                    ],
                    "code": {"text": "Fysioterapi i basseng på Øya"},
                    "status": "in-progress",
                    "performer": [_ref("PractitionerRole/plan1-fysio")],
                },
            }
        ],
    }


def _topic_label(code: str) -> dict[str, Any]:
    return {
        "url": EXT + "ip-security-label",
        "valueCoding": {"system": CS + "ip-information-topic", "code": code},
    }


def _careteam() -> dict[str, Any]:
    return {
        "resourceType": "CareTeam",
        "id": "plan1",
        "status": "active",
        "subject": _ref("Patient/p1"),
        "participant": [
            {
                "role": [_concept(CS + "ip-participant-role", "tjenestemottaker")],
                "member": _ref("Patient/p1"),
                "extension": [
                    {"url": EXT + "ip-contribution", "valueString": "Jeg møter på trening"},
                    {
                        "url": EXT + "ip-security-label",
                        "valueCoding": {"system": CS + "ip-information-topic", "code": "fritid"},
                    },
                ],
            },
            {
                "id": "koord1",
                "role": [_concept(codes.SYSTEM_9034, "8")],
                "member": _ref("PractitionerRole/plan1-fysio"),
                "period": {"start": "2024-03-01"},
                "extension": [
                    {"url": EXT + "ip-contact-frequency", "valueString": "Annenhver uke"}
                ],
            },
        ],
        "managingOrganization": [_ref("Organization/plan1-kommune")],
    }


def _goal() -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "id": "plan1-mal2",
        "lifecycleStatus": "active",
        "extension": [{"url": EXT + "ip-goal-parent", "valueReference": _ref("Goal/plan1-mal1")}],
        "category": [_concept(CS + "ip-goal-level", "delmal")],
        "description": {"text": "Jeg vil jobbe to dager i uka"},
        "subject": _ref("Patient/p1"),
    }


def _consent(kind: str) -> dict[str, Any]:
    sharing = kind == "sharing"
    consent: dict[str, Any] = {
        "resourceType": "Consent",
        "id": f"plan1-{kind}",
        "status": "active",
        "scope": _concept(
            "http://terminology.hl7.org/CodeSystem/consentscope",
            "patient-privacy" if sharing else "treatment",
        ),
        "category": [
            _concept("http://loinc.org", "59284-0"),
            _concept(CS + "ip-consent-category", f"{kind}-consent"),
        ],
        "patient": _ref("Patient/p1"),
        "dateTime": "2024-03-01",
        "performer": [
            {
                "reference": "Patient/p1",
                "extension": [{"url": EXT + "ip-consent-capacity", "valueCode": "self"}],
            }
        ],
        "organization": [_ref("Organization/plan1-kommune")],
        "policyRule": _concept(CS + "ip-consent-domain", "health-and-care"),
        "provision": {"type": "permit"},
    }
    if sharing:
        consent["provision"] = {
            "type": "permit",
            "period": {"start": "2024-03-01", "end": "2025-02-28"},
            "actor": [
                {"role": _concept(IRCP, "IRCP"), "reference": _ref("Organization/plan1-nav")}
            ],
            "provision": [
                {
                    "type": "deny",
                    "securityLabel": [{"system": CS + "ip-information-topic", "code": "rus"}],
                },
                {  # NAV gets, of the information with a topic, only «arbeid»
                    "type": "permit",
                    "actor": [
                        {
                            "role": _concept(IRCP, "IRCP"),
                            "reference": _ref("Organization/plan1-nav"),
                        }
                    ],
                    "securityLabel": [{"system": CS + "ip-information-topic", "code": "arbeid"}],
                },
                {  # nothing from the hospital («fra nærmere bestemte fagmiljø»)
                    "type": "deny",
                    "actor": [
                        {"role": _concept(IRCP, "AUT"), "reference": _ref("Organization/plan1-hf")}
                    ],
                },
            ],
        }
    return consent


EXAMPLES = {
    "ip-careplan": _careplan,
    "ip-careteam": _careteam,
    "ip-goal": _goal,
    "ip-plan-consent": lambda: _consent("plan"),
    "ip-sharing-consent": lambda: _consent("sharing"),
}


def _errors(validator: Any, resource: dict[str, Any], profile: str) -> list[str]:
    issues = validator.issues(resource, EXT + profile)
    return [f"{i.message_id} {i.expression} {i.text}" for i in issues if i.severity == "error"]


@pytest.mark.parametrize("profile", sorted(EXAMPLES))
def test_a_well_formed_instance_conforms(validator: Any, profile: str) -> None:
    assert _errors(validator, EXAMPLES[profile](), profile) == []


def _set(path: str, value: Any) -> Any:
    def mutate(resource: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = resource
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is None:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return mutate


BROKEN = [
    ("ip-careplan", _set("intent", "order"), "fixed"),
    ("ip-careplan", _set("category", [_concept(SNOMED, "736353004")]), "individuellPlan"),
    ("ip-careplan", _set("activity.0.id", None), "ip-careplan-1"),
    ("ip-careplan", _set("extension.2.extension.2.valueCode", "kanskje"), "ip-cooperation-1"),
    ("ip-careplan", _set("extension.1.id", None), "ip-ext-1"),
    ("ip-careplan", _set("careTeam", None), "careTeam"),
    (
        "ip-careteam",
        _set("participant.1.role", [_concept(codes.SYSTEM_9034, "17")]),
        "ip-careteam-1",
    ),
    ("ip-careteam", _set("participant.1.period", None), "ip-careteam-2"),
    (
        "ip-careteam",
        _set("participant.0.extension.0.url", EXT + "ip-contact-frequency"),
        "careteam-3",
    ),
    (
        "ip-careteam",
        _set("participant.0.extension.1.valueCoding.code", "skole"),
        "participant[0].extension[1].valueCoding",
    ),
    (
        "ip-careteam",
        _set("participant.0.extension.0", _topic_label("rus")),
        "Slice 'securityLabel'",
    ),
    ("ip-goal", _set("category", [_concept(CS + "ip-goal-level", "hovedmal")]), "ip-goal-1"),
    ("ip-goal", _set("description", {"coding": [{"system": SNOMED, "code": "1"}]}), "text"),
    ("ip-plan-consent", _set("status", "inactive"), "ip-consent-1"),
    ("ip-plan-consent", _set("performer.0.extension", None), "capacity"),
    ("ip-sharing-consent", _set("provision.period.end", None), "ip-sharing-consent-1"),
    ("ip-sharing-consent", _set("provision.actor", None), "actor"),
    # a nested permit is a rule per recipient: it names recipients and their topics
    ("ip-sharing-consent", _set("provision.provision.0.type", "permit"), "sharing-consent-3"),
    ("ip-sharing-consent", _set("provision.provision.0.type", "maybe"), "type"),
    ("ip-sharing-consent", _set("provision.provision.0.securityLabel", None), "consent-2"),
    (
        "ip-sharing-consent",
        _set("category", [_concept("http://loinc.org", "59284-0")]),
        "ipConsentCategory",
    ),
]


@pytest.mark.parametrize(("profile", "mutate", "expected"), BROKEN)
def test_a_broken_instance_fails_on_the_profile_rule(
    validator: Any, profile: str, mutate: Any, expected: str
) -> None:
    resource = EXAMPLES[profile]()
    mutate(resource)
    errors = _errors(validator, resource, profile)
    assert any(expected in e for e in errors), errors


PROFILE_RULES = [(sd, element, rule) for sd, element, rule in _constraints() if sd in EXAMPLES]


@pytest.mark.parametrize(("sd", "element", "rule"), PROFILE_RULES, ids=lambda v: str(v)[:40])
def test_every_invariant_holds_on_the_example(sd: str, element: str, rule: dict[str, Any]) -> None:
    """The invariants are valid FHIRPath (fhirpathpy, R4 model) and true on a good instance."""
    focus = evaluate(EXAMPLES[sd](), element, model=models["r4"])
    assert focus, element
    for item in focus:
        assert evaluate(item, rule["expression"], model=models["r4"]) == [True], rule["key"]


PLAN_FIXTURES = sorted((ROOT / "fixtures" / "plans").glob("*.plan.json"))


@pytest.mark.parametrize("path", PLAN_FIXTURES, ids=[p.name for p in PLAN_FIXTURES])
def test_mapped_fixture_plans_conform_to_their_profiles(validator: Any, path: Path) -> None:
    """Every resource mappings.to_fhir makes from a fixture plan passes its meta.profile."""
    from ipfhir.mappings.model import Plan
    from ipfhir.mappings.to_fhir import plan_to_bundle

    bundle = plan_to_bundle(Plan.model_validate_json(path.read_text(encoding="utf-8")))
    checked = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        (profile,) = resource["meta"]["profile"]
        checked.add(profile.rsplit("/", 1)[-1])
        errors = [i for i in validator.issues(resource, profile) if i.severity == "error"]
        assert errors == [], (resource["resourceType"], resource["id"], errors)
    assert {"ip-careplan", "ip-careteam", "ip-plan-consent"} <= checked
