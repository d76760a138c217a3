"""Profiles suite: every IP resource the server returns validates offline against the project's
profiles (``ipfhir.profiles.validator``), in JSON and XML, and keeps the content list a–i.

Without ``--read-only`` the kit uploads its own synthetic plan and reads it back; with it, the
checks judge the plans the server already holds (and skip when it holds none).
"""

from __future__ import annotations

from typing import Any

from ipfhir.conformance.checks import Fail, Skip, check
from ipfhir.conformance.context import Context
from ipfhir.conformance.http import FHIR_XML, excerpt
from ipfhir.conformance.suite_capability import IP_PROFILES
from ipfhir.mappings.errors import IpError
from ipfhir.mappings.fhirxml import parse_xml
from ipfhir.mappings.from_fhir import bundle_to_plan
from ipfhir.mappings.plan_io import plan_to_json_dict
from ipfhir.profiles.validator import validate

__all__ = ["errors_against_profile", "search_entries"]

Json = dict[str, Any]
# plan-JSON keys per content-list item (a–i) of the regulation
_ITEMS = {
    "a": ("goals", "resources", "needs"),
    "b": ("parties",),
    "c": ("coordinators",),
    "d": ("parties", "person_contribution"),
    "e": ("measures",),
    "f": ("measures",),
    "g": ("period", "evaluation_dates", "revision_dates"),
    "h": ("plan_consent", "sharing_consent"),
    "i": ("cooperation",),
}


def search_entries(ctx: Context, query: str, note: str = "") -> list[Json]:
    """The resources of a search's first page (entries with search.mode 'match' or none)."""
    answer = ctx.main.get(query, note=note)
    if answer.status != 200:
        raise Fail(f"GET {query} answered {answer.status}")
    bundle = answer.json()
    return [
        e["resource"]
        for e in bundle.get("entry") or []
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and (e.get("search") or {}).get("mode", "match") == "match"
    ]


def _patients(ctx: Context) -> list[str]:
    """Patients whose IP resources the checks judge: the kit's own, or (read-only) the server's."""
    if not ctx.read_only:
        return [ctx.plan("profiles").patient_id]
    plans = search_entries(ctx, "CarePlan?_count=5", "plans the server already holds")
    refs = [p.get("subject", {}).get("reference", "") for p in plans]
    found = sorted({r.split("/")[-1] for r in refs if r.startswith("Patient/")})
    if not found:
        raise Skip(
            "no data: the server returned no CarePlan (run without --read-only to upload one)"
        )
    return found


def errors_against_profile(resource: Json) -> list[str]:
    """Error texts of validating ``resource`` against the IP profile its type requires (for a
    Consent: the one of its category, else whichever fits better)."""
    candidates = IP_PROFILES[resource["resourceType"]]
    declared = [p for p in candidates if p in ((resource.get("meta") or {}).get("profile") or [])]
    best: list[str] | None = None
    for profile in declared or candidates:
        outcome = validate(resource, profile)
        errors = [
            f"{(i.get('details') or {}).get('text', '')} "
            f"(at {', '.join(i.get('expression') or []) or resource['resourceType']})"
            for i in outcome.get("issue") or []
            if i.get("severity") in ("error", "fatal")
        ]
        if best is None or len(errors) < len(best):
            best = errors
    return best or []


def _judge(ctx: Context, rtype: str) -> str:
    seen = 0
    problems = []
    for pid in _patients(ctx):
        for res in search_entries(ctx, f"{rtype}?patient=Patient/{pid}", f"{rtype} of the person"):
            if res.get("resourceType") != rtype:
                continue
            seen += 1
            errors = errors_against_profile(res)
            if errors:
                problems.append(f"{rtype}/{res.get('id')}: {'; '.join(errors[:3])}")
    if not seen:
        raise Skip(f"no data: the server returned no {rtype} for the person")
    if problems:
        raise Fail(f"{len(problems)} of {seen} do not validate: " + " | ".join(problems[:3]))
    return f"{seen} {rtype} validated without errors"


def _profile_check(rtype: str, requirement: str, items: tuple[str, ...]) -> None:
    profiles = ", ".join(p.rsplit("/", 1)[1] for p in IP_PROFILES[rtype])
    check(
        f"profiles.{rtype.lower()}",
        "profiles",
        f"{rtype} resources validate against {profiles}",
        f"""Every {rtype} the server returns for a person (GET {rtype}?patient=...) must validate
        without errors against {profiles} with the project's offline validator
        (ipfhir validate). The message names the first element that fails.""",
        (requirement, *items),
    )(lambda ctx: _judge(ctx, rtype))


_profile_check("CarePlan", "PROF-careplan", ("IP-e", "IP-f", "IP-g", "IP-i"))
_profile_check("CareTeam", "PROF-careteam", ("IP-b", "IP-c", "IP-d"))
_profile_check("Goal", "PROF-goal", ("IP-a",))
_profile_check("Consent", "PROF-consent", ("IP-h",))


@check(
    "profiles.xml",
    "profiles",
    "The plan is served as valid FHIR XML",
    """GET CarePlan/[id] with Accept: application/fhir+xml must return FHIR XML that parses
    (namespace http://hl7.org/fhir) and validates against ip-careplan like the JSON does.""",
    ("PROF-xml", "REST-formats"),
)
def care_plan_xml(ctx: Context) -> str:
    if ctx.read_only:
        plans = search_entries(ctx, "CarePlan?_count=1")
        if not plans:
            raise Skip("no data: the server returned no CarePlan")
        plan_id = str(plans[0].get("id"))
    else:
        plan_id = ctx.plan("profiles").care_plan_id
    answer = ctx.main.get(f"CarePlan/{plan_id}", accept=FHIR_XML, note="the plan as XML")
    if answer.status != 200:
        raise Fail(f"GET CarePlan/{plan_id} as XML answered {answer.status}")
    try:
        resource = parse_xml(answer.text)
    except (IpError, ValueError) as err:
        raise Fail(
            f"the XML does not parse as FHIR: {err}; starts {excerpt(answer.text, 80)!r}"
        ) from None
    errors = errors_against_profile(resource)
    if errors:
        raise Fail("the XML CarePlan does not validate: " + "; ".join(errors[:3]))
    return f"CarePlan/{plan_id} as XML parses and validates"


@check(
    "profiles.content-kept",
    "profiles",
    "The content list a–i survives a round trip",
    """The kit uploads a synthetic plan with every item of the content list (goals, needs and
    resources; participants; coordinator; contributions; measures with extent, responsible and
    how; period, evaluation and revision dates; both consents; cooperation) and reads every
    resource back. Mapped back to the plan model, each item must be what was sent; the message
    names the items that changed.""",
    ("IP-a", "IP-b", "IP-c", "IP-d", "IP-e", "IP-f", "IP-g", "IP-h", "IP-i"),
    writes=True,
)
def content_kept(ctx: Context) -> str:
    plan = ctx.plan("profiles")
    entries = []
    for entry in plan.bundle()["entry"]:
        rtype, rid = entry["resource"]["resourceType"], entry["resource"]["id"]
        answer = ctx.main.get(f"{rtype}/{rid}", note="read back")
        if answer.status != 200:
            raise Fail(f"GET {rtype}/{rid} (written by the kit) answered {answer.status}")
        entries.append({"fullUrl": entry["fullUrl"], "resource": answer.json()})
    try:
        back = plan_to_json_dict(
            bundle_to_plan({"resourceType": "Bundle", "type": "collection", "entry": entries})
        )
    except IpError as err:
        raise Fail(f"the resources read back no longer form a plan: {err}") from None
    sent = plan_to_json_dict(plan.plan)
    changed = [
        item for item, keys in _ITEMS.items() if any(back.get(k) != sent.get(k) for k in keys)
    ]
    if changed:
        raise Fail("content list items changed on the server: " + ", ".join(changed))
    return f"all nine items a–i read back as sent ({len(entries)} resources)"
