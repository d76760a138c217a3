"""Consent suite: the person's sharing Consent, played with two actors.

The main token is the plan's owner (the municipality): it uploads a synthetic plan whose sharing
Consent names the second token's organisation as a recipient and refuses the topic «rus». The
second token then reads. The reference behaviour is a store that never held the hidden data:
bodies, totals, links, status codes and error texts must answer exactly as it would
(docs/threat-model.md).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from ipfhir.conformance.checks import Fail, check
from ipfhir.conformance.context import Context
from ipfhir.conformance.http import FHIR_XML, Answer, Client
from ipfhir.conformance.synthetic import (
    REFUSED_GOAL,
    SHARED_GOAL,
    SyntheticPlan,
    revoked_sharing_consent,
)

__all__: list[str] = []

Json = dict[str, Any]
_REFUSED_TEXT = "apoteket"  # a word only the refused goal's text contains


def _pages(client: Client, query: str, note: str) -> tuple[list[str], list[Answer]]:
    """Ids of every resource a search reaches through its next links, and the answers."""
    ids: list[str] = []
    answers: list[Answer] = []
    url: str | None = query
    while url and len(answers) < 20:
        answer = client.get(url, note=f"{note} (page {len(answers) + 1})")
        answers.append(answer)
        if answer.status != 200:
            raise Fail(f"GET {url} as the {client.actor} answered {answer.status}")
        bundle = answer.json()
        ids += [str(e.get("resource", {}).get("id")) for e in bundle.get("entry") or []]
        url = next(
            (lk.get("url") for lk in bundle.get("link") or [] if lk.get("relation") == "next"),
            None,
        )
    return ids, answers


def _shared(ctx: Context, purpose: str = "consent") -> tuple[Client, SyntheticPlan]:
    second = ctx.need_second()
    return second, ctx.plan(purpose)


def _goals_query(plan: SyntheticPlan, extra: str = "") -> str:
    return f"Goal?patient=Patient/{plan.patient_id}{extra}"


@check(
    "consent.permit",
    "consent",
    "A recipient sees what the person consented to share",
    """The second actor, named as recipient in the sharing Consent, must find the plan
    (GET CarePlan/[id] → 200) and the goal whose topic was not refused (GET Goal?patient=...).
    Without this the other consent checks would pass on a server that shows nothing.""",
    ("CONSENT-permit", "IP-h"),
    writes=True,
)
def permit(ctx: Context) -> str:
    second, plan = _shared(ctx)
    read = second.get(f"CarePlan/{plan.care_plan_id}", note="the recipient reads the plan")
    if read.status != 200:
        raise Fail(f"the recipient's GET CarePlan/{plan.care_plan_id} answered {read.status}")
    ids, _ = _pages(second, _goals_query(plan), "the recipient's goals")
    if plan.resource_id(SHARED_GOAL) not in ids:
        raise Fail(f"the recipient does not see the consented Goal/{plan.resource_id(SHARED_GOAL)}")
    return "the recipient reads the plan and the consented goal"


@check(
    "consent.refused-topic",
    "consent",
    "A refused topic is absent for the recipient",
    """The person refused the topic «rus» (meta.security ip-information-topic). The Goal with that
    topic must be absent from the recipient's search results, its read must answer 404, and
    its text must appear in no answer the recipient gets (plan, goals).""",
    ("CONSENT-topic",),
    writes=True,
)
def refused_topic(ctx: Context) -> str:
    second, plan = _shared(ctx)
    hidden = plan.resource_id(REFUSED_GOAL)
    ids, answers = _pages(second, _goals_query(plan), "the recipient's goals")
    if hidden in ids:
        raise Fail(f"the refused Goal/{hidden} (topic «rus») is in the recipient's search results")
    read = second.get(f"Goal/{hidden}", note="the refused goal")
    if read.status != 404:
        raise Fail(f"the recipient's GET Goal/{hidden} (refused topic) answered {read.status}")
    care_plan = second.get(f"CarePlan/{plan.care_plan_id}", note="the plan")
    if any(_REFUSED_TEXT in a.text for a in [*answers, care_plan]):
        raise Fail("the text of the refused goal reaches the recipient")
    if hidden in care_plan.text:
        raise Fail(f"the plan the recipient reads still names the refused Goal/{hidden}")
    return f"Goal/{hidden} is hidden: not searched, 404 on read, its text nowhere"


@check(
    "consent.totals",
    "consent",
    "Totals count only what the recipient sees",
    """GET Goal?patient=...&_summary=count (and a search's total when given) must count only the
    Goals the recipient may see: a total of 2 next to one visible Goal tells the recipient that
    something was refused.""",
    ("CONSENT-channels",),
    writes=True,
)
def totals(ctx: Context) -> str:
    second, plan = _shared(ctx)
    ids, answers = _pages(second, _goals_query(plan, "&_total=accurate"), "visible goals")
    count = second.get(_goals_query(plan, "&_summary=count"), note="_summary=count")
    totals = [a.json().get("total") for a in answers[:1]]
    if count.status == 200:
        totals.append(count.json().get("total"))
    wrong = [t for t in totals if t is not None and t != len(ids)]
    if wrong:
        raise Fail(f"total {wrong[0]} reported to the recipient, who sees {len(ids)} Goal(s)")
    if all(t is None for t in totals):
        return "no totals given (nothing to leak)"
    return f"every total equals the {len(ids)} visible Goal(s)"


@check(
    "consent.links",
    "consent",
    "Page sizes and next links do not reveal hidden rows",
    """With _count=1 the recipient's pages must be as full as without the hidden Goal: no next
    link leading to an empty page, no link naming a hidden id.""",
    ("CONSENT-channels", "REST-paging"),
    writes=True,
)
def links(ctx: Context) -> str:
    second, plan = _shared(ctx)
    ids, answers = _pages(second, _goals_query(plan, "&_count=1"), "one per page")
    hidden = plan.resource_id(REFUSED_GOAL)
    empty = [i + 1 for i, a in enumerate(answers) if not a.json().get("entry")]
    if empty and len(answers) > 1:
        raise Fail(
            f"page {empty[0]} of {len(answers)} is empty: "
            "a next link was offered over a hidden Goal"
        )
    if any(hidden in a.text for a in answers):
        raise Fail(f"a page or link names the hidden Goal/{hidden}")
    return f"{len(ids)} visible Goal(s) over {len(answers)} full page(s)"


def _shape(answer: Answer, ids: tuple[str, ...]) -> tuple[int, list[str], str]:
    """Status, message codes and text of an error with the ids blanked out."""
    body = answer.maybe_json() or {}
    codes = [
        str(c.get("code"))
        for i in body.get("issue") or []
        for c in (i.get("details") or {}).get("coding") or []
    ]
    text = answer.text
    for rid in ids:
        text = text.replace(rid, "{id}")
    return answer.status, codes, re.sub(r"\s+", " ", text)


@check(
    "consent.errors",
    "consent",
    "Status codes and error texts are those of a missing resource",
    """For the recipient, a hidden Goal must answer exactly like a Goal that does not exist: the
    same status (404, never 403), the same message codes and the same text (apart from the id),
    for read, vread and history.""",
    ("CONSENT-channels", "REST-errors"),
    writes=True,
)
def errors(ctx: Context) -> str:
    second, plan = _shared(ctx)
    hidden = plan.resource_id(REFUSED_GOAL)
    missing = f"{plan.plan.id}-finnes-ikke-{secrets.token_hex(3)}"
    for suffix in ("", "/_history/1", "/_history"):
        a = _shape(second.get(f"Goal/{hidden}{suffix}", note="hidden"), (hidden, missing))
        b = _shape(second.get(f"Goal/{missing}{suffix}", note="missing"), (hidden, missing))
        if a != b:
            what = "status" if a[0] != b[0] else "message code" if a[1] != b[1] else "text"
            raise Fail(
                f"GET Goal/[id]{suffix}: the hidden Goal answers {a[0]} {a[1]}, a missing one "
                f"{b[0]} {b[1]} — the {what} tells them apart"
            )
    return "read, vread and history of a hidden Goal answer as for a missing one"


@check(
    "consent.xml",
    "consent",
    "The consent holds in XML too",
    """The recipient's GET Goal?patient=... with Accept: application/fhir+xml must leave out the
    refused Goal (its id and text) exactly like the JSON answer does, and include the shared
    one.""",
    ("CONSENT-xml", "CONSENT-topic"),
    writes=True,
)
def xml(ctx: Context) -> str:
    second, plan = _shared(ctx)
    answer = second.get(_goals_query(plan), accept=FHIR_XML, note="the goals as XML")
    if answer.status != 200:
        raise Fail(f"the recipient's XML search answered {answer.status}")
    if plan.resource_id(REFUSED_GOAL) in answer.text or _REFUSED_TEXT in answer.text:
        raise Fail("the refused goal reaches the recipient in the XML answer")
    if plan.resource_id(SHARED_GOAL) not in answer.text:
        raise Fail("the XML answer lacks the consented goal (is it XML at all?)")
    return "XML: refused goal absent, consented goal present"


@check(
    "consent.refused-actor",
    "consent",
    "A refused environment gets nothing of the plan",
    """A second plan's sharing Consent names the second actor's organisation in a deny
    provision (refused environment). The second actor must get 404 for the plan, exactly as for
    a plan that does not exist, and no Goal of the person in a search.""",
    ("CONSENT-actor",),
    writes=True,
)
def refused_actor(ctx: Context) -> str:
    second = ctx.need_second()
    plan = ctx.plan("consent-deny", second_as="deny")
    read = second.get(f"CarePlan/{plan.care_plan_id}", note="the refused actor reads the plan")
    if read.status != 404:
        raise Fail(f"the refused actor's GET CarePlan/{plan.care_plan_id} answered {read.status}")
    ids, _ = _pages(second, _goals_query(plan), "the refused actor's search")
    if ids:
        raise Fail(f"the refused actor finds {len(ids)} Goal(s) of the person: {ids[:3]}")
    return "404 for the plan, no goals"


@check(
    "consent.revocation",
    "consent",
    "A revoked consent takes effect on the next request",
    """The owner withdraws the sharing Consent (PUT Consent/[id] with status 'inactive' and the
    revocation date). The recipient's very next request must no longer return the plan or its
    goals; revocation takes effect at once (forskrift, samtykke kan trekkes tilbake).""",
    ("CONSENT-revocation",),
    writes=True,
)
def revocation(ctx: Context) -> str:
    second = ctx.need_second()
    plan = ctx.plan("consent-revoke")
    before, _ = _pages(second, _goals_query(plan), "before revocation")
    if not before:
        raise Fail("the recipient sees no goal even before the revocation")
    consent = revoked_sharing_consent(plan)
    current = ctx.main.get(f"Consent/{consent['id']}", note="the owner reads the Consent")
    headers = {"If-Match": current.headers["etag"]} if "etag" in current.headers else {}
    put = ctx.main.request(
        "PUT", f"Consent/{consent['id']}", body=consent, headers=headers, note="the owner revokes"
    )
    if put.status not in (200, 201):
        raise Fail(f"the owner's revocation (PUT Consent/{consent['id']}) answered {put.status}")
    after, _ = _pages(second, _goals_query(plan), "right after revocation")
    read = second.get(f"CarePlan/{plan.care_plan_id}", note="right after revocation")
    if after or read.status != 404:
        raise Fail(
            f"after revocation the recipient still gets {len(after)} Goal(s) and "
            f"{read.status} for the plan"
        )
    return f"{len(before)} Goal(s) before, none and 404 right after the revocation"
