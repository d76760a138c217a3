"""REST suite: FHIR R4 REST behaviour on the IP resources (http://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

import secrets
from typing import Any

from ipfhir.conformance.checks import Fail, check
from ipfhir.conformance.context import Context
from ipfhir.conformance.suite_profiles import search_entries
from ipfhir.conformance.synthetic import SHARED_GOAL
from ipfhir.mappings.identifiers import FNR_SYSTEM

__all__: list[str] = []

Json = dict[str, Any]
KIT_SYSTEM = "urn:ipfhir-conformance:test-id"


def _goal_body(ctx: Context, marker: str) -> Json:
    """A new Goal for the REST plan's person (a copy of the shared goal with a kit identifier)."""
    plan = ctx.plan("rest")
    goal = {k: v for k, v in plan.resource("Goal", SHARED_GOAL).items() if k not in ("id", "meta")}
    goal["meta"] = {"profile": plan.resource("Goal", SHARED_GOAL)["meta"]["profile"]}
    goal["identifier"] = [{"system": KIT_SYSTEM, "value": marker}]
    goal["description"] = {"text": f"Jeg vil klare meg selv i hverdagen ({marker})."}
    return goal


def _create_goal(ctx: Context, marker: str) -> tuple[str, Json, str]:
    """POST a new Goal; (id, resource, ETag) or Fail."""
    answer = ctx.main.request("POST", "Goal", body=_goal_body(ctx, marker), note="create")
    if answer.status != 201:
        raise Fail(f"POST Goal answered {answer.status}, not 201 Created")
    body = answer.maybe_json() or {}
    location = answer.headers.get("location", "")
    gid = str(body.get("id") or location.split("/Goal/")[-1].split("/")[0])
    if not gid:
        raise Fail("POST Goal returned neither a Location header nor the created resource")
    return gid, body, answer.headers.get("etag", "")


@check(
    "rest.create-read",
    "rest",
    "create answers 201 with Location and ETag; read returns what was written",
    """POST Goal must answer 201 with a Location header (Goal/[id]/_history/[vid]) and an ETag
    (W/"[vid]"); GET Goal/[id] must then return the Goal with its text unchanged (æ, ø, å
    included) and the same ETag.""",
    ("REST-crud",),
    writes=True,
)
def create_read(ctx: Context) -> str:
    marker = f"ipkit-{secrets.token_hex(4)}"
    gid, _, etag = _create_goal(ctx, marker)
    if not etag:
        raise Fail("POST Goal answered 201 without an ETag header")
    read = ctx.main.get(f"Goal/{gid}", note="read back")
    if read.status != 200:
        raise Fail(f"GET Goal/{gid} answered {read.status} right after it was created")
    text = (read.json().get("description") or {}).get("text", "")
    if marker not in text or "hverdagen" not in text:
        raise Fail(f"GET Goal/{gid} returned a different description: {text!r}")
    if read.headers.get("etag") != etag:
        raise Fail(f"read ETag {read.headers.get('etag')!r} differs from create ETag {etag!r}")
    return f"Goal/{gid} created ({etag}) and read back unchanged"


@check(
    "rest.versioning",
    "rest",
    "update makes a new version; vread and history return both",
    """PUT Goal/[id] with If-Match: [current ETag] must answer 200 with a new version;
    GET Goal/[id]/_history/[first version] must return the first version, and
    GET Goal/[id]/_history must list both versions (plans are revised, history is kept).""",
    ("REST-versioning", "IP-g"),
    writes=True,
)
def versioning(ctx: Context) -> str:
    gid, body, etag = _create_goal(ctx, f"ipkit-{secrets.token_hex(4)}")
    first = str((body.get("meta") or {}).get("versionId") or etag.strip('W/"'))
    changed = {**body, "id": gid, "description": {"text": "Jeg vil bo på Ås og gå til Ørje."}}
    put = ctx.main.request(
        "PUT", f"Goal/{gid}", body=changed, headers={"If-Match": etag}, note="update"
    )
    if put.status != 200:
        raise Fail(f"PUT Goal/{gid} with If-Match {etag} answered {put.status}, not 200")
    vread = ctx.main.get(f"Goal/{gid}/_history/{first}", note="vread the first version")
    if vread.status != 200 or "Ås" in str(vread.json().get("description")):
        raise Fail(f"GET Goal/{gid}/_history/{first} did not return the first version")
    history = ctx.main.get(f"Goal/{gid}/_history", note="history")
    if history.status != 200:
        raise Fail(f"GET Goal/{gid}/_history answered {history.status}")
    versions = len(history.json().get("entry") or [])
    if versions != 2:
        raise Fail(f"history of Goal/{gid} lists {versions} versions, not 2")
    return f"Goal/{gid}: version {first} kept, new version {put.headers.get('etag', '?')}"


@check(
    "rest.if-match",
    "rest",
    "An update with a stale If-Match is refused with 412",
    """Two coordinators must not overwrite each other's changes: PUT Goal/[id] with
    If-Match naming an old version must answer 412 Precondition Failed (an OperationOutcome)
    and leave the resource as it was. Every read must carry an ETag.""",
    ("REST-if-match",),
    writes=True,
)
def if_match(ctx: Context) -> str:
    gid, body, etag = _create_goal(ctx, f"ipkit-{secrets.token_hex(4)}")
    if not etag:
        raise Fail("POST Goal answered without an ETag: clients cannot send If-Match")
    body = {**body, "id": gid}
    ok = ctx.main.request("PUT", f"Goal/{gid}", body=body, headers={"If-Match": etag}, note="1st")
    if ok.status != 200:
        raise Fail(f"PUT with the current ETag {etag} answered {ok.status}")
    stale = {**body, "description": {"text": "Denne endringen skal avvises (gammel versjon)."}}
    late = ctx.main.request(
        "PUT", f"Goal/{gid}", body=stale, headers={"If-Match": etag}, note="stale If-Match"
    )
    if late.status != 412:
        raise Fail(f"PUT with the stale If-Match {etag} answered {late.status}, not 412")
    if not late.is_outcome():
        raise Fail("the 412 answer is not an OperationOutcome")
    now = ctx.main.get(f"Goal/{gid}", note="unchanged?").json()
    if "avvises" in str(now.get("description")):
        raise Fail("the 412 was answered, yet the stale update was stored")
    return f"stale If-Match {etag} refused with 412; resource unchanged"


@check(
    "rest.conditional-create",
    "rest",
    "Conditional create finds the existing resource",
    """POST Goal with If-None-Exist: identifier=[system]|[value] for a Goal that exists must not
    create a second one (200 with the existing resource, or 412 for several matches);
    afterwards the search by that identifier finds exactly one.""",
    ("REST-conditional-create",),
    writes=True,
)
def conditional_create(ctx: Context) -> str:
    marker = f"ipkit-{secrets.token_hex(4)}"
    gid, _, _ = _create_goal(ctx, marker)
    again = ctx.main.request(
        "POST",
        "Goal",
        body=_goal_body(ctx, marker),
        headers={"If-None-Exist": f"identifier={KIT_SYSTEM}|{marker}"},
        note="conditional create",
    )
    if again.status not in (200, 304):
        raise Fail(f"a conditional create matching Goal/{gid} answered {again.status}, not 200")
    found = search_entries(ctx, f"Goal?identifier={KIT_SYSTEM}|{marker}", "how many now?")
    if len(found) != 1:
        raise Fail(f"after the conditional create {len(found)} Goals carry the identifier, not 1")
    return f"the existing Goal/{gid} was found; no duplicate"


@check(
    "rest.transaction-atomic",
    "rest",
    "A transaction with one failing entry stores nothing",
    """POST [base] with a transaction Bundle of two Goals, the second invalid (lifecycleStatus
    'ugyldig'), must fail as a whole with a 4xx OperationOutcome, and the valid first Goal must
    not be stored (searched by its identifier afterwards).""",
    ("REST-transaction", "REST-errors"),
    writes=True,
)
def transaction_atomic(ctx: Context) -> str:
    marker = f"ipkit-{secrets.token_hex(4)}"
    good = _goal_body(ctx, marker)
    bad = {**_goal_body(ctx, marker + "-bad"), "lifecycleStatus": "ugyldig"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": "Goal"}} for r in (good, bad)
        ],
    }
    answer = ctx.main.request("POST", "", body=bundle, note="transaction, 2nd entry invalid")
    if not 400 <= answer.status < 500:
        raise Fail(f"the transaction with an invalid entry answered {answer.status}, not 4xx")
    if not answer.is_outcome():
        raise Fail(f"the {answer.status} answer is not an OperationOutcome")
    found = search_entries(ctx, f"Goal?identifier={KIT_SYSTEM}|{marker}", "was entry 1 stored?")
    if found:
        raise Fail("the transaction failed, yet its valid first entry was stored (not atomic)")
    return f"refused with {answer.status}; nothing stored"


@check(
    "rest.search-identifier",
    "rest",
    "The person is found by fødselsnummer",
    """GET Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|[fnr] must return exactly the
    person's Patient: a receiving system finds a plan through the national identifier.""",
    ("REST-search-identifier",),
    writes=True,
)
def search_identifier(ctx: Context) -> str:
    plan = ctx.plan("rest")
    found = search_entries(ctx, f"Patient?identifier={FNR_SYSTEM}|{plan.fnr}", "by fnr")
    ids = [p.get("id") for p in found]
    if ids != [plan.patient_id]:
        raise Fail(f"the search by fødselsnummer returned {ids}, not [{plan.patient_id!r}]")
    return f"Patient/{plan.patient_id} found by its synthetic fødselsnummer"


@check(
    "rest.paging",
    "rest",
    "Paging reaches every match exactly once",
    """GET Goal?patient=Patient/[id]&_count=1 must return one Goal and a 'next' link; following
    the links must reach every Goal of the person exactly once and end without a link.""",
    ("REST-paging",),
    writes=True,
)
def paging(ctx: Context) -> str:
    plan = ctx.plan("rest")
    url: str | None = f"Goal?patient=Patient/{plan.patient_id}&_count=1"
    seen: list[str] = []
    pages = 0
    while url and pages < 20:
        pages += 1
        answer = ctx.main.get(url, note=f"page {pages}")
        if answer.status != 200:
            raise Fail(f"page {pages} answered {answer.status}")
        bundle = answer.json()
        entries = [e.get("resource", {}) for e in bundle.get("entry") or []]
        if len(entries) > 1:
            raise Fail(f"_count=1 returned {len(entries)} entries on page {pages}")
        seen += [str(r.get("id")) for r in entries]
        url = next(
            (lk.get("url") for lk in bundle.get("link") or [] if lk.get("relation") == "next"), None
        )
    goals = {plan.resource_id(g.id) for g in plan.plan.goals}
    if pages < 2:
        raise Fail("a search with _count=1 over two Goals returned no 'next' link")
    if sorted(seen) != sorted(set(seen)) or not goals <= set(seen):
        raise Fail(f"paging returned {seen}; expected each of {sorted(goals)} once")
    return f"{len(seen)} Goals over {pages} pages, each once"


@check(
    "rest.not-found",
    "rest",
    "A missing resource is 404 with an OperationOutcome",
    """GET Goal/[an id that does not exist] must answer 404 with an OperationOutcome.""",
    ("REST-errors",),
)
def not_found(ctx: Context) -> str:
    answer = ctx.main.get(f"Goal/ipkit-missing-{secrets.token_hex(6)}", note="missing id")
    if answer.status != 404:
        raise Fail(f"a missing Goal answered {answer.status}, not 404")
    if not answer.is_outcome():
        raise Fail("the 404 answer is not an OperationOutcome")
    return "404 with an OperationOutcome"
