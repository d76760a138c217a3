"""Capability suite: what the server's CapabilityStatement (``GET /metadata``) declares."""

from __future__ import annotations

from ipfhir.conformance.checks import Fail, check
from ipfhir.conformance.context import Context

__all__ = ["IP_PROFILES", "IP_TYPES"]

_BASE = "https://ip-fhir-adapter.no/fhir/StructureDefinition/"
IP_PROFILES = {
    "CarePlan": (_BASE + "ip-careplan",),
    "CareTeam": (_BASE + "ip-careteam",),
    "Goal": (_BASE + "ip-goal",),
    "Consent": (_BASE + "ip-plan-consent", _BASE + "ip-sharing-consent"),
}
IP_TYPES = tuple(IP_PROFILES)
_NEEDED_INTERACTIONS = ("read", "vread", "update", "create", "search-type", "history-instance")
_SECURITY_SERVICES = {"OAuth", "SMART-on-FHIR"}


@check(
    "capability.metadata",
    "capability",
    "The server publishes a CapabilityStatement for FHIR R4",
    """GET [base]/metadata must answer 200 with a CapabilityStatement whose fhirVersion is 4.0.1,
    kind 'instance' and one rest entry in mode 'server'. Every other check reads it to learn
    what your server claims to support.""",
    ("REST-capability",),
)
def metadata(ctx: Context) -> str:
    cap = ctx.capability()
    if cap.get("fhirVersion") != "4.0.1":
        raise Fail(f"fhirVersion is {cap.get('fhirVersion')!r}; the IP exchange uses 4.0.1 (R4)")
    modes = [r.get("mode") for r in cap.get("rest") or [] if isinstance(r, dict)]
    if "server" not in modes:
        raise Fail("the CapabilityStatement has no rest entry with mode 'server'")
    return "CapabilityStatement for FHIR 4.0.1 with a server rest entry"


@check(
    "capability.formats",
    "capability",
    "JSON and XML are declared",
    """CapabilityStatement.format must list both FHIR JSON and FHIR XML (application/fhir+json
    or json, application/fhir+xml or xml): municipalities' systems exchange both.""",
    ("REST-formats",),
)
def formats(ctx: Context) -> str:
    declared = {str(f) for f in ctx.capability().get("format") or []}
    missing = [
        name
        for name, spellings in (
            ("JSON", {"json", "application/fhir+json"}),
            ("XML", {"xml", "application/fhir+xml"}),
        )
        if not declared & spellings
    ]
    if missing:
        raise Fail(
            f"format does not declare {' and '.join(missing)} (declared: {sorted(declared)})"
        )
    return f"declared formats: {', '.join(sorted(declared))}"


@check(
    "capability.ip-profiles",
    "capability",
    "The individual-plan profiles are declared",
    """Each IP resource type must list its profiles in supportedProfile: CarePlan ip-careplan,
    CareTeam ip-careteam, Goal ip-goal, Consent ip-plan-consent and ip-sharing-consent
    (canonical base https://ip-fhir-adapter.no/fhir/StructureDefinition/).""",
    ("REST-profiles", "PROF-careplan", "PROF-careteam", "PROF-goal", "PROF-consent"),
)
def ip_profiles(ctx: Context) -> str:
    problems = []
    for rtype, wanted in IP_PROFILES.items():
        have = set(ctx.resource_capability(rtype).get("supportedProfile") or [])
        missing = [p.rsplit("/", 1)[1] for p in wanted if p not in have]
        if missing:
            problems.append(f"{rtype} lacks {', '.join(missing)}")
    if problems:
        raise Fail("supportedProfile incomplete: " + "; ".join(problems))
    return "all five IP profiles are declared"


@check(
    "capability.interactions",
    "capability",
    "Read, write, history, search and transaction are declared",
    """For CarePlan, CareTeam, Goal and Consent the CapabilityStatement must declare the
    interactions read, vread, create, update, search-type and history-instance, and the
    system-level interaction transaction (plans are exchanged as transaction Bundles).""",
    ("REST-interactions",),
)
def interactions(ctx: Context) -> str:
    problems = []
    for rtype in IP_TYPES:
        codes = {i.get("code") for i in ctx.resource_capability(rtype).get("interaction") or []}
        missing = [c for c in _NEEDED_INTERACTIONS if c not in codes]
        if missing:
            problems.append(f"{rtype}: {', '.join(missing)}")
    system = {
        i.get("code")
        for rest in ctx.capability().get("rest") or []
        for i in rest.get("interaction") or []
    }
    if "transaction" not in system:
        problems.append("system: transaction")
    if problems:
        raise Fail("interactions not declared: " + "; ".join(problems))
    return "every needed interaction is declared"


@check(
    "capability.search-params",
    "capability",
    "Search by the person is declared",
    """Patient must declare the search parameter identifier (the fødselsnummer), and CarePlan,
    CareTeam, Goal and Consent the parameter patient: that is how a receiving system finds a
    person's plan.""",
    ("REST-search-identifier",),
)
def search_params(ctx: Context) -> str:
    wanted = {"Patient": "identifier", **{t: "patient" for t in IP_TYPES}}
    missing = [
        f"{rtype}?{name}"
        for rtype, name in wanted.items()
        if name
        not in {p.get("name") for p in ctx.resource_capability(rtype).get("searchParam") or []}
    ]
    if missing:
        raise Fail("search parameters not declared: " + ", ".join(missing))
    return "Patient?identifier and ?patient on every IP type are declared"


@check(
    "capability.operations",
    "capability",
    "Operations are declared ($validate, CarePlan/$everything)",
    """Optional: declare $validate (so a sender can test a plan before sending it) and
    CarePlan/$everything (the whole plan in one request) in the resource's operation list.""",
    ("REST-operations",),
    mandatory=False,
)
def operations(ctx: Context) -> str:
    care_plan = {o.get("name") for o in ctx.resource_capability("CarePlan").get("operation") or []}
    missing = [name for name in ("validate", "everything") if name not in care_plan]
    if missing:
        raise Fail("CarePlan does not declare " + ", ".join(f"${m}" for m in missing))
    return "CarePlan declares $validate and $everything"


@check(
    "capability.security",
    "capability",
    "The authentication scheme is declared",
    """rest.security.service must name how clients authenticate (OAuth or SMART-on-FHIR from
    http://terminology.hl7.org/CodeSystem/restful-security-service): a vendor's client needs
    to know it must bring a HelseID access token.""",
    ("REST-security",),
)
def security(ctx: Context) -> str:
    codes = {
        coding.get("code")
        for rest in ctx.capability().get("rest") or []
        for service in (rest.get("security") or {}).get("service") or []
        for coding in service.get("coding") or []
    }
    if not codes & _SECURITY_SERVICES:
        raise Fail(
            "rest.security.service declares no OAuth or SMART-on-FHIR "
            f"(declared: {sorted(c for c in codes if c) or 'nothing'})"
        )
    return f"security declared: {', '.join(sorted(c for c in codes if c))}"


@check(
    "capability.authentication",
    "capability",
    "A request without a token gets 401 and no data",
    """GET [base]/Patient without an Authorization header must answer 401 (with an
    OperationOutcome), never data: plan data is only for authenticated organisations.""",
    ("REST-auth",),
)
def authentication(ctx: Context) -> str:
    assert ctx.anonymous is not None
    answer = ctx.anonymous.get("Patient?_count=1", note="no token")
    if answer.status != 401:
        raise Fail(f"a request without a token was answered {answer.status}, not 401")
    if not answer.is_outcome():
        raise Fail("the 401 answer is not an OperationOutcome")
    return "401 with an OperationOutcome"
