"""Native invariant closures agree with fhirpathpy.

(1) A table of real elements (from the R4 examples, the IP bundles and the IP profiles), each with
a mutation that breaks the invariant: the native closure must handle both (no fallback) and give
fhirpathpy's answer, true on the original, false on the broken copy. (2) Every invariant evaluated
while validating all example resources: wherever the native closure answers, fhirpathpy agrees.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from ipfhir.profiles.validator import Validator
from ipfhir.profiles.validator.engine import Engine, _typed
from ipfhir.profiles.validator.fhirpath import Env
from ipfhir.profiles.validator.model import Constraint, Node
from ipfhir.profiles.validator.native import Unsupported, compile_native
from tests.unit.profiles.reference import REPO, reference_dir

IP = "https://ip-fhir-adapter.no/fhir/StructureDefinition/"
CORE = "http://hl7.org/fhir/StructureDefinition/"
CORE_CS = "http://terminology.hl7.org/CodeSystem/"
SD_CAREPLAN = "profiles/ip/StructureDefinition-ip-careplan.json"
NO_BASIS_EXAMPLES = REPO / "profiles" / "packages" / "hl7.fhir.no.basis-2.2.0" / "examples"
BUNDLE = "fixtures/bundles/child-barnekoordinator.bundle.json"
Mutation = Callable[[dict[str, Any]], None]


def _set(key: str, value: Any) -> Mutation:
    return lambda element: element.__setitem__(key, value)


def _drop(*keys: str) -> Mutation:
    def apply(element: dict[str, Any]) -> None:
        for key in keys:
            element.pop(key, None)

    return apply


def _then(*steps: Mutation) -> Mutation:
    def apply(element: dict[str, Any]) -> None:
        for step in steps:
            step(element)

    return apply


def _set_at(path: str, value: Any) -> Mutation:
    """Set a value below the element: ``provision.period.end``, ``extension.2.valueCode``."""

    def apply(element: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = element
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value

    return apply


_GOAL_PARENT = {"url": IP + "ip-goal-parent", "valueReference": {"reference": "Goal/hovud"}}
_ERROR = {"coding": [{"system": CORE_CS + "condition-ver-status", "code": "entered-in-error"}]}


def _same_full_url(bundle: dict[str, Any]) -> None:
    bundle["entry"][1]["fullUrl"] = bundle["entry"][0]["fullUrl"]


def _only_first_participant(careteam: dict[str, Any]) -> None:
    careteam["participant"] = careteam["participant"][:1]


_PRIVACY = {"coding": [{"system": "something", "code": "patient-privacy"}]}

# (key, structure definition, fhirpathpy base, file, JSON pointer of the element, breaking mutation)
TABLE: list[tuple[str, str, str, str, str, Mutation]] = [
    ("cpt-2", "ContactPoint", "ContactPoint", "Organization-1.json", "/telecom/0", _drop("system")),
    (
        "org-3",
        "Organization",
        "ContactPoint",
        "Organization-1.json",
        "/telecom/0",
        _set("use", "home"),
    ),
    (
        "org-1",
        "Organization",
        "Organization",
        "Organization-1.json",
        "",
        _drop("identifier", "name"),
    ),
    (
        "per-1",
        "Period",
        "Period",
        "CarePlan-f003.json",
        "/period",
        _set("end", "2013-03-08T08:30:10+01:00"),
    ),
    ("per-1", "Period", "Period", "CarePlan-f002.json", "/period", _set("end", "2011-07-05")),
    (
        "att-1",
        "Attachment",
        "Attachment",
        "Patient-f201.json",
        "/photo/0",
        _then(_set("data", "SGVp"), _drop("contentType")),
    ),
    (
        "cpl-3",
        "CarePlan",
        "CarePlan.activity",
        "CarePlan-example.json",
        "/activity/0",
        _set("reference", {"reference": "ServiceRequest/x"}),
    ),
    (
        "pat-1",
        "Patient",
        "Patient.contact",
        "Patient-animal.json",
        "/contact/0",
        _drop("name", "telecom", "address", "organization"),
    ),
    ("dom-6", "Patient", "Patient", "Patient-animal.json", "", _drop("text")),
    (
        "inv-1",
        "Task",
        "Task",
        "Task-example1.json",
        "",
        _set("lastModified", "2016-10-31T08:15:05+10:00"),
    ),
    (
        "ppc-2",
        "Consent",
        "Consent",
        "Consent-consent-example-Emergency.json",
        "",
        _then(_drop("patient"), _set("scope", _PRIVACY)),
    ),
    (
        "qty-3",
        "Quantity",
        "Quantity",
        "CarePlan-f201.json",
        "/activity/0/detail/dailyAmount",
        _drop("system"),
    ),
    (
        "tim-5",
        "Timing",
        "Timing.repeat",
        "CarePlan-example.json",
        "/activity/0/detail/scheduledTiming/repeat",
        _set("period", -1),
    ),
    (
        "sev-1",
        "AuditEvent",
        "AuditEvent.entity",
        "AuditEvent-example.json",
        "/entity/0",
        _then(_set("name", "Ánde"), _set("query", "cXVlcnk=")),
    ),
    (
        "con-5",
        "Condition",
        "Condition",
        "CarePlan-example.json",
        "/contained/0",
        _set("verificationStatus", _ERROR),
    ),
    (
        "bdl-8",
        "Bundle",
        "Bundle.entry",
        BUNDLE,
        "/entry/0",
        _set("fullUrl", "https://x.no/fhir/Patient/1/_history/2"),
    ),
    ("bdl-7", "Bundle", "Bundle", BUNDLE, "", _same_full_url),
    ("bdl-3", "Bundle", "Bundle", BUNDLE, "", _set("type", "collection")),
    (
        "sdf-23",
        "StructureDefinition",
        "StructureDefinition",
        SD_CAREPLAN,
        "",
        _set_at("snapshot.element.0.sliceName", "ånde"),
    ),
    (
        "ip-goal-1",
        IP + "ip-goal",
        "Goal",
        BUNDLE,
        "/entry/16/resource",
        _set("extension", [_GOAL_PARENT]),
    ),
    (
        "ip-consent-1",
        IP + "ip-plan-consent",
        "Consent",
        BUNDLE,
        "/entry/21/resource",
        _set("status", "inactive"),
    ),
    (
        "ip-sharing-consent-1",
        IP + "ip-sharing-consent",
        "Consent",
        BUNDLE,
        "/entry/22/resource",
        _set_at("provision.period.end", None),
    ),
    (
        "ip-careteam-1",
        IP + "ip-careteam",
        "CareTeam",
        BUNDLE,
        "/entry/23/resource",
        _only_first_participant,
    ),
    (
        "ip-cooperation-1",
        IP + "ip-cooperation",
        "Extension",
        BUNDLE,
        "/entry/24/resource/extension/11",
        _set_at("extension.2.valueCode", "kanskje"),
    ),
    (  # value.exists() xor ...: ``value`` of an Extension is its value[x] (a typed closure)
        "ip-text-1",
        IP + "ip-contribution",
        "Extension",
        BUNDLE,
        "/entry/23/resource/participant/0/extension/0",
        _set("extension", [{"url": IP + "ip-text-part", "valueString": "Ånde"}]),
    ),
    (
        "ip-text-1",
        IP + "ip-cooperation",
        "Extension",
        BUNDLE,
        "/entry/24/resource/extension/11/extension/1",
        _drop("valueString"),
    ),
]


def _document(name: str) -> dict[str, Any]:
    path = REPO / name if "/" in name else reference_dir("r4-examples", "json") / name
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def _pointer(document: dict[str, Any], pointer: str) -> Any:
    found: Any = document
    for part in [p for p in pointer.split("/") if p]:
        found = found[int(part)] if isinstance(found, list) else found[part]
    return found


def _constraint(engine: Engine, sd: str, key: str) -> Constraint:
    root = engine.compiled(sd if "/" in sd else CORE + sd)
    todo: list[Node] = [root] if root else []
    while todo:
        node = todo.pop()
        for c in node.constraints:
            if c.key == key:
                return c
        todo += [*(node.children or {}).values(), *node.slices, *node.type_slices.values()]
    raise LookupError(f"{key} not in {sd}")


def _env(engine: Engine, document: dict[str, Any]) -> Env:
    env = Env(document, document, document if document.get("resourceType") == "Bundle" else None)
    env.member_of, env.conforms_to = engine.member_of, engine.conforms
    return env


def _fhirpathpy(engine: Engine, c: Constraint, value: Any, base: str, env: Env) -> bool | None:
    try:
        return engine.fhirpath.holds(c.expression, value, base, env)
    except Exception:  # noqa: BLE001 - the engine reports these as "could not be evaluated"
        return None


def _native(c: Constraint, value: Any, env: Env) -> bool:
    assert c.native is not None, f"{c.key} has no native form: {c.expression}"
    result = c.native([value], env)
    return not result or result == [True]


@pytest.fixture(scope="module")
def engine(validator: Validator) -> Engine:
    return validator.engine


@pytest.mark.parametrize(
    ("key", "sd", "base", "file", "pointer", "mutate"), TABLE, ids=[f"{r[0]}-{r[3]}" for r in TABLE]
)
def test_native_invariant_agrees_on_real_element_and_its_broken_copy(
    engine: Engine, key: str, sd: str, base: str, file: str, pointer: str, mutate: Mutation
) -> None:
    c = _typed(_constraint(engine, sd, key), base)  # as the engine evaluates it on ``base``
    document = _document(file)
    broken_document = copy.deepcopy(document)
    mutate(_pointer(broken_document, pointer))
    for doc, expected in ((document, True), (broken_document, False)):
        value, env = _pointer(doc, pointer), _env(engine, doc)
        assert _fhirpathpy(engine, c, value, base, env) is expected, c.expression
        assert _native(c, value, env) is expected, c.expression


def _all_documents() -> list[dict[str, Any]]:
    files = [
        *sorted(reference_dir("r4-examples", "json").glob("*.json")),
        *sorted((REPO / "fixtures" / "bundles").glob("*.bundle.json")),
        *sorted((REPO / "profiles" / "ip").glob("StructureDefinition-*.json")),
        *sorted(NO_BASIS_EXAMPLES.glob("*.json")),
    ]
    documents = [json.loads(p.read_bytes()) for p in files]
    for _key, _sd, _base, file, pointer, mutate in TABLE:  # the broken copies too
        broken = _document(file)
        mutate(_pointer(broken, pointer))
        documents.append(broken)
    return documents


class _RecordingEngine(Engine):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[Constraint, Any, str, Env]] = []

    def _run(self, c: Constraint, value: Any, base: str, env: Env) -> bool | None:
        self.seen.append((c, copy.deepcopy(value), base, env))
        return super()._run(c, value, base, env)


def test_native_invariants_agree_with_fhirpathpy_on_every_evaluation() -> None:
    engine = _RecordingEngine()
    validator = Validator(engine)
    for document in _all_documents():
        validator.issues(document)
    answered: dict[tuple[str, bool], int] = {}
    disagreements = []
    for c, value, base, env in engine.seen:
        if c.native is None:
            continue
        try:
            native = _native(c, value, env)
        except Unsupported:
            continue
        answered[(c.key, native)] = answered.get((c.key, native), 0) + 1
        expected = _fhirpathpy(engine, c, value, base, env)
        if native is not expected:
            disagreements.append((c.key, c.expression, json.dumps(value)[:200], expected))
    assert disagreements == []
    assert sum(answered.values()) > 1000
    assert len({key for key, _ in answered}) > 40
    assert {key for key, ok in answered if not ok} >= {"per-1", "cpt-2", "ip-cooperation-1"}


@pytest.mark.parametrize(
    ("expression", "focus", "expected"),
    [
        ("(a | b).count() <= 1", {"a": "x", "b": "x"}, [True]),
        ("(a | b).count() <= 1", {"a": "x", "b": "y"}, [False]),
        ("a.exists() implies b.exists()", {"b": 1}, [True]),
        ("a.exists() implies b.exists()", {"a": 1}, [False]),
        ("a.empty() or b.exists()", {"a": "x"}, [False]),
        ("a.exists() and b.exists()", {}, [False]),
        ("x = 'y'", {}, []),
        ("a.where(b = 'ø').exists()", {"a": [{"b": "å"}, {"b": "ø"}]}, [True]),
        ("a & b", {"a": "Á"}, ["Á"]),
        ("a + 2 > 3", {"a": 2}, [True]),
        ("text.`div`.exists()", {"text": {"div": "<div/>"}}, [True]),
    ],
)
def test_native_shapes_agree_with_fhirpathpy(
    engine: Engine, expression: str, focus: dict[str, Any], expected: list[Any]
) -> None:
    compiled = compile_native(expression)
    assert compiled is not None
    env = _env(engine, {"resourceType": "Basic"})
    assert compiled([focus], env) == expected
    assert engine.fhirpath.evaluate(expression, focus, "Basic", env) == expected


@pytest.mark.parametrize(
    ("expression", "focus"),
    [
        ("value.exists()", {"valueString": "x"}),  # a choice element: the type decides
        ("start <= end", {"start": "2020", "end": "2020-01-01T10:00:00Z"}),  # precisions
        ("a.exists()", {"_a": {"extension": []}}),  # primitive extension only
        ("a = 1.0", {"a": 1.0}),  # decimals
        ("a or b", {"a": "text", "b": True}),  # not a boolean
    ],
)
def test_values_fhirpathpy_reads_differently_are_left_to_it(
    engine: Engine, expression: str, focus: dict[str, Any]
) -> None:
    compiled = compile_native(expression)
    assert compiled is not None
    with pytest.raises(Unsupported):
        compiled([focus], _env(engine, focus))


@pytest.mark.parametrize(
    ("expression", "base", "focus"),
    [
        ("value.exists()", "Extension", {"url": "u", "valueString": "Ø"}),
        ("value.exists()", "Extension", {"url": "u"}),
        ("value.exists()", "Extension", {"url": "u", "valueCode": "a", "valueString": "b"}),
        ("value.count()", "Extension", {"valueQuantity": {"value": 1}, "valueBoolean": False}),
        ("value = 'å'", "Extension", {"url": "u", "valueString": "å"}),
        ("value = 'å'", "Extension", {"url": "u", "valueCode": "å", "valueString": "b"}),
        ("value.exists() xor extension.exists()", "Extension", {"extension": [{"url": "x"}]}),
        ("value.empty() or code.exists()", "Observation.component", {"valueString": "x"}),
        ("value.exists()", "Observation.component", {"code": {"text": "x"}}),
        ("value.exists()", "Coding", {"valueString": "x"}),  # no choice there: not read
        ("(value | url).count()", "Extension", {"url": "u", "valueUri": "v"}),
        ("abatement.empty()", "Condition", {"resourceType": "Condition"}),
        ("abatement.empty()", "Condition", {"resourceType": "Condition", "abatementAge": {}}),
    ],
)
def test_typed_closures_read_choice_elements_of_the_focus_as_fhirpathpy(
    engine: Engine, expression: str, base: str, focus: dict[str, Any]
) -> None:
    compiled = compile_native(expression, base)
    assert compiled is not None
    env = _env(engine, {"resourceType": "Basic"})
    assert compiled([focus], env) == engine.fhirpath.evaluate(expression, focus, base, env)


@pytest.mark.parametrize(
    ("expression", "focus"),
    [
        ("value.exists()", {"_valueString": {"extension": []}}),  # a primitive extension only
        ("value.exists()", {"valueString": None}),
        ("value.exists()", {"valueString": ["a", "b"]}),
        ("value.exists()", {"resourceType": "Basic", "valueString": "a"}),  # typed by its type
        ("extension.where(value.exists()).exists()", {"extension": [{"valueString": "a"}]}),
    ],
)
def test_typed_closures_leave_the_rest_to_fhirpathpy(
    engine: Engine, expression: str, focus: dict[str, Any]
) -> None:
    compiled = compile_native(expression, "Extension")
    assert compiled is not None
    with pytest.raises(Unsupported):
        compiled([focus], _env(engine, {"resourceType": "Basic"}))


def test_unknown_syntax_and_functions_fall_back() -> None:
    assert compile_native("a.b(") is None
    assert compile_native("a ## b") is None
    resolve = compile_native("a.resolve().exists()")
    assert resolve is not None
    with pytest.raises(Unsupported):
        resolve([{"a": {"reference": "Patient/1"}}], None)
