"""The project's extensions (every ``ext:`` url of profiles/mapping-table.md), as differentials.

A simple extension has one ``value[x]`` type; a complex one has sub-extensions sliced on ``url``
(relative urls such as ``text``, or the full url of another project extension) and no value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from profilegen.elements import (
    URL_SLICING,
    Element,
    constraint,
    el,
    project_url,
    reference,
    required,
    sd_header,
)

__all__ = ["EXTENSIONS", "ExtensionSpec", "Sub", "extension_definition"]


@dataclass(frozen=True)
class Sub:
    """A sub-extension of a complex extension: slice name, url, cardinality, value type."""

    name: str
    min: int
    max: str
    value: list[dict[str, Any]]
    binding: dict[str, Any] | None = None
    url: str = ""  # defaults to the slice name (a relative url)
    profile: str | None = None  # a project extension used as the sub-extension
    text: bool = False  # a free text: valueString, or ip-text-part sub-extensions


@dataclass(frozen=True)
class ExtensionSpec:
    name: str
    title: str
    description: str
    context: list[tuple[str, str]]  # (context type, expression)
    value: list[dict[str, Any]] = field(default_factory=list)
    binding: dict[str, Any] | None = None
    subs: tuple[Sub, ...] = ()
    constraints: tuple[dict[str, Any], ...] = ()
    text: bool = False  # a free text: valueString, or ip-text-part sub-extensions


def _t(code: str) -> list[dict[str, Any]]:
    return [{"code": code}]


_CAREPLAN = [("element", "CarePlan")]
_PARTICIPANT = [("element", "CareTeam.participant")]
_CONSENT = [("element", "Consent")]
_ID_REQUIRED = constraint(
    "ip-ext-1",
    "The entry carries its local id (the plan's id of it) as Extension.id.",
    "id.exists()",
)


def _need_or_resource(name: str, title: str, what: str) -> ExtensionSpec:
    return ExtensionSpec(
        name,
        title,
        f"{what} (content list item a), with its local id as element id and an optional "
        "information topic the person may refuse to share.",
        _CAREPLAN,
        subs=(
            Sub("text", 1, "1", _t("string")),
            Sub(
                "securityLabel",
                0,
                "1",
                [],
                url=project_url("ip-security-label"),
                profile="ip-security-label",
            ),
        ),  # fmt: skip
        constraints=(_ID_REQUIRED,),
    )


_PART_URL = project_url("ip-text-part")
_TEXT_FORM = constraint(
    "ip-text-1",
    "A free text is either plain (valueString) or labelled parts (ip-text-part), not both.",
    f"value.exists() xor extension('{_PART_URL}').exists()",
)


def _text_elements(at: str) -> list[Element]:
    """Elements of a free-text extension at ``at``: valueString 0..1, or its labelled parts."""
    return [
        el(f"{at}.extension", slicing=URL_SLICING),
        *_part_slice(f"{at}.extension"),
        el(f"{at}.value[x]", min=0, type=_t("string")),
    ]


def _part_slice(at: str) -> list[Element]:
    profile = [{"code": "Extension", "profile": [_PART_URL]}]
    return [el(f"{at}:part", sliceName="part", min=0, max="*", type=profile)]


_NECESSITY = constraint(
    "ip-cooperation-1",
    "The necessity of a cooperation is 'necessary' or 'desired'.",
    "extension('necessity').value.all($this = 'necessary' or $this = 'desired')",
)

EXTENSIONS: tuple[ExtensionSpec, ...] = (
    ExtensionSpec("ip-evaluation-date", "Evalueringstidspunkt",
                  "An agreed time for evaluating the plan (content list item g); repeats.",
                  _CAREPLAN, _t("date")),
    ExtensionSpec("ip-revision-date", "Revisjonstidspunkt",
                  "An agreed time for revising the plan (content list item g); repeats.",
                  _CAREPLAN, _t("date")),
    ExtensionSpec("ip-complaint-information", "Klageadgang",
                  "Information about the right to complain, in the plan's language.",
                  _CAREPLAN, _t("string")),
    _need_or_resource("ip-need", "Behov", "A need for services (behov)"),
    _need_or_resource("ip-resource", "Ressurs", "A resource or strength of the person (ressurs)"),
    ExtensionSpec("ip-cooperation", "Samarbeid",
                  "Necessary or desired cooperation with another provider, institution or agency "
                  "(content list item i).",
                  _CAREPLAN,
                  subs=(Sub("organization", 1, "1", reference("Organization")),
                        Sub("description", 1, "1", _t("string"), text=True),
                        Sub("necessity", 1, "1", _t("code"))),
                  constraints=(_NECESSITY,)),
    ExtensionSpec("ip-security-label", "Informasjonstema",
                  "The information topic of one element (measure, need, resource, a care team "
                  "participant with its contribution, a part of a free text): the project's "
                  "inline security label. A topic the person refuses removes the element.",
                  [("element", "CarePlan.activity"),
                   ("element", "CareTeam.participant"),
                   ("extension", project_url("ip-text-part")),
                   ("extension", project_url("ip-need")),
                   ("extension", project_url("ip-resource"))],
                  _t("Coding"), required("ip-information-topic")),
    ExtensionSpec("ip-text-part", "Tekstdel med informasjonstema",
                  "One labelled part of a free text (the situation, a cooperation's description, "
                  "a contribution, a consent's remarks), on the text's primitive element "
                  "(CarePlan._description; the string holds the parts' texts joined by one "
                  "space), or as the sub-extensions of a free-text extension (ip-contribution, "
                  "ip-consent-remarks, ip-cooperation's description); repeats in the text's "
                  "order. A part carries the information topics it speaks about: a recipient "
                  "refused any of them does not get the part.",
                  [("element", "CarePlan.description"),
                   ("extension", project_url("ip-contribution")),
                   ("extension", project_url("ip-consent-remarks")),
                   ("extension", project_url("ip-cooperation"))],
                  subs=(Sub("text", 1, "1", _t("string")),
                        Sub("securityLabel", 0, "*", [], url=project_url("ip-security-label"),
                            profile="ip-security-label"))),
    ExtensionSpec("ip-contribution", "Bidrag",
                  "What the participant contributes (content list item d): plain text, or "
                  "labelled parts (ip-text-part) whose topics a refusal reaches.",
                  _PARTICIPANT, _t("string"), text=True),
    ExtensionSpec("ip-coordinator-handover", "Overtar etter koordinator",
                  "Element id of the coordinator assignment this one takes over from.",
                  _PARTICIPANT, _t("string")),
    ExtensionSpec("ip-contact-frequency", "Kontakthyppighet",
                  "How often the coordinator and the person are in contact, in words.",
                  _PARTICIPANT, _t("string")),
    ExtensionSpec("ip-measure-extent", "Omfang",
                  "The extent of a measure in words, e.g. «2 timer per uke» (content list item e).",
                  [("element", "CarePlan.activity.detail")], _t("string")),
    ExtensionSpec("ip-goal-parent", "Hovedmål",
                  "The hovedmål a delmål belongs to.",
                  [("element", "Goal")], reference("ip-goal")),
    ExtensionSpec("ip-consent-capacity", "Samtykkegrunnlag",
                  "On what basis this performer gives the consent: the person, a parent, or a "
                  "guardian within the mandate.",
                  [("element", "Consent.performer")], _t("code"), required("ip-consent-capacity")),
    ExtensionSpec("ip-consent-revoked", "Trukket tilbake",
                  "The date the consent was withdrawn (status inactive).", _CONSENT, _t("date")),
    ExtensionSpec("ip-consent-remarks", "Andre merknader",
                  "Remarks recorded with the consent («Andre merknader»): plain text, or labelled "
                  "parts (ip-text-part).", _CONSENT, _t("string"), text=True),
    ExtensionSpec("ip-consent-purpose", "Formål",
                  "How the shared information will be used, as told to the person (vedlegg 2).",
                  _CONSENT, _t("string")),
    ExtensionSpec("ip-parental-responsibility", "Foreldreansvar",
                  "The related person has parental responsibility (foreldreansvar) for the person.",
                  [("element", "RelatedPerson")], _t("boolean")),
    ExtensionSpec("ip-guardian-mandate", "Vergemandat",
                  "What a guardian (verge/hjelpeverge) may decide on: description, the legal "
                  "domains covered, and the period.",
                  [("element", "RelatedPerson")],
                  subs=(Sub("description", 1, "1", _t("string")),
                        Sub("covers", 1, "*", _t("code"), required("ip-consent-domain")),
                        Sub("period", 0, "1", _t("Period")))),
    ExtensionSpec("ip-legal-basis", "Rettsgrunnlag",
                  "A law the plan is made under (health and care, specialist health, mental "
                  "health care, NAV, social services, child welfare); repeats.",
                  _CAREPLAN, _t("Coding"), required("ip-legal-basis")),
    ExtensionSpec("ip-plan-approval", "Godkjent av",
                  "The plan text approved («er godkjent av», vedlegg 3; «I planen skal det ikke "
                  "skrives noe jeg ikke har godkjent på forhånd», vedlegg 2): by whom, in what "
                  "capacity, when, where, and the approved document; repeats.",
                  _CAREPLAN,
                  subs=(Sub("party", 1, "1", reference("Patient", "RelatedPerson")),
                        Sub("capacity", 1, "1", _t("code"), required("ip-consent-capacity")),
                        Sub("date", 1, "1", _t("date")),
                        Sub("place", 0, "1", _t("string")),
                        Sub("document", 0, "1", _t("Attachment")))),
    ExtensionSpec("ip-consent-evidence", "Samtykkets grunnlag",
                  "How the consent was given: informed (vedlegg 2), where («Sted»), received by "
                  "whom in what capacity; the signed declaration is Consent.sourceAttachment.",
                  _CONSENT,
                  subs=(Sub("informed", 1, "1", _t("boolean")),
                        Sub("place", 0, "1", _t("string")),
                        Sub("obtainedBy", 0, "1", reference("PractitionerRole", "Practitioner")),
                        Sub("obtainedAs", 0, "1", _t("string")))),
    ExtensionSpec("ip-capacity-lapse", "Manglende samtykkekompetanse",
                  "The person lacked capacity to consent when the consent was given (e.g. after "
                  "serious cognitive impairment): from when, assessed by whom, why. The nearest "
                  "relative then takes part (capacity nearest-relative).",
                  _CONSENT,
                  subs=(Sub("period", 1, "1", _t("Period")),
                        Sub("assessedBy", 1, "1", reference("PractitionerRole", "Practitioner")),
                        Sub("description", 1, "1", _t("string")))),
    ExtensionSpec("ip-aimed-at-parents", "Tiltak rettet mot foreldrene",
                  "Child welfare: the measure is aimed at the parents too; from 15 the parents "
                  "must then consent to the plan as well (IP-1044).",
                  [("element", "CarePlan.activity")], _t("boolean")),
    ExtensionSpec("ip-made-by", "Utarbeidet av",
                  "The organisation that wrote the plan when it is not the owner (vedlegg 4 "
                  "«Utarbeidet av … i samarbeid med … kommune»; the partners are "
                  "CarePlan.contributor).",
                  _CAREPLAN, reference("Organization")),
    ExtensionSpec("ip-meets-need", "Dekker behov",
                  "Element id of a need (ip-need) this measure meets; repeats. A need no measure "
                  "meets is an unmet need.",
                  [("element", "CarePlan.activity")], _t("string")),
    ExtensionSpec("ip-decision", "Vedtak",
                  "The individual decision (enkeltvedtak) that grants the measure, or assigns a "
                  "coordinator on its own: its reference, date and the deciding organisation.",
                  [("element", "CarePlan.activity.detail"), ("element", "CareTeam")],
                  subs=(Sub("reference", 1, "1", _t("string")),
                        Sub("date", 1, "1", _t("date")),
                        Sub("decidedBy", 1, "1", reference("Organization")))),
    ExtensionSpec("ip-expected-birth", "Termin",
                  "A child not yet born: the expected date of birth (a barnekoordinator may be "
                  "assigned before birth, seed 004_feb800c0c7d43aa8.txt); kept after the birth.",
                  [("element", "Patient")], _t("date")),
    ExtensionSpec("ip-assignment-created", "Registrert",
                  "When a coordinator assignment on its own was recorded.",
                  [("element", "CareTeam")], _t("date")),
    ExtensionSpec("ip-organisation-type", "Virksomhetstype",
                  "The kind of organisation taking part in the plan work.",
                  [("element", "Organization")], _t("Coding"), required("ip-organisation-type")),
    ExtensionSpec("ip-refused-individual", "Reservert mot helsepersonell",
                  "A practitioner the person refused outright (by HPR number), named in a "
                  "notification so that the receiver shows it to none of them "
                  "(adapter/sync/refusals.py).",
                  [("element", "Task")], _t("Identifier")),
)  # fmt: skip


def _sub_elements(sub: Sub) -> list[Element]:
    at = f"Extension.extension:{sub.name}"
    if sub.profile is not None:
        profile = [{"code": "Extension", "profile": [project_url(sub.profile)]}]
        return [el(at, sliceName=sub.name, min=sub.min, max=sub.max, type=profile)]
    if sub.text:
        return [
            el(at, sliceName=sub.name, min=sub.min, max=sub.max, constraint=[_TEXT_FORM]),
            *_text_elements(at)[:2],
            el(f"{at}.url", fixedUri=sub.url or sub.name),
            _text_elements(at)[2],
        ]
    value: dict[str, Any] = {"min": 1, "type": sub.value}
    if sub.binding is not None:
        value["binding"] = sub.binding
    return [
        el(at, sliceName=sub.name, min=sub.min, max=sub.max),
        el(f"{at}.extension", max="0"),
        el(f"{at}.url", fixedUri=sub.url or sub.name),
        el(f"{at}.value[x]", **value),
    ]


def _differential(spec: ExtensionSpec) -> list[Element]:
    root: dict[str, Any] = {"short": spec.title, "definition": spec.description}
    constraints = [*spec.constraints, *([_TEXT_FORM] if spec.text else [])]
    if constraints:
        root["constraint"] = constraints
    elements = [el("Extension", **root)]
    if spec.text:
        return [
            *elements,
            *_text_elements("Extension")[:2],
            el("Extension.url", fixedUri=project_url(spec.name)),
            _text_elements("Extension")[2],
        ]
    if spec.subs:
        elements.append(
            el("Extension.extension", min=sum(1 for s in spec.subs if s.min), slicing=URL_SLICING)
        )
        for sub in spec.subs:
            elements.extend(_sub_elements(sub))
    else:
        elements.append(el("Extension.extension", max="0"))
    elements.append(el("Extension.url", fixedUri=project_url(spec.name)))
    if spec.subs:
        elements.append(el("Extension.value[x]", max="0"))
    else:
        value: dict[str, Any] = {"min": 1, "type": spec.value}
        if spec.binding is not None:
            value["binding"] = spec.binding
        elements.append(el("Extension.value[x]", **value))
    return elements


def extension_definition(spec: ExtensionSpec) -> tuple[dict[str, Any], list[Element]]:
    """Header (with ``context``) and differential of one extension."""
    header = sd_header(
        spec.name, spec.title, spec.description, "complex-type", "Extension", spec.context
    )
    return header, _differential(spec)
