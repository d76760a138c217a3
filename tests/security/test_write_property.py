"""Property: generated writes by every actor of the adversarial world get exactly the answer an
independent oracle (tests/security/write_oracle.py) gives — status, message id, ETag and
Location — and a write naming a resource the actor may not see is answered byte for byte like
the same write naming an id that never existed (both ids replaced by a placeholder). Between
the writes, searches by every actor return exactly what the oracle says the actor sees, in
pages as full as without hidden rows, with counts and next links that say nothing more.

Writes: create (POST), update and create-by-id (PUT), delete, a transaction holding one of
them, and conditional create (If-None-Exist on ``_id``), on Consent, CareTeam, CarePlan, Goal,
RelatedPerson, Task, Provenance, Organization and Practitioner, in JSON and XML. A seeded
generator draws them: a fresh seed per run (``IPFHIR_WRITE_SEED`` repeats one), a fixed count
(:data:`EXAMPLES` per backend). The world keeps its shape: an allowed delete is undone through
the store, updates send back what the actor was shown (or it with ``language`` changed), and
what the holders create is added to the oracle with the visibility of what it copies.
"""

from __future__ import annotations

import copy
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ipfhir.mappings.fhirxml import parse_xml, to_xml
from tests.security.conftest import ACTORS, PT, SecureWorld, message_ids
from tests.security.test_hidden_like_missing import _normal
from tests.security.write_oracle import PERSON_TYPES, Expect, Oracle

EXAMPLES = {"sqlite": 1500, "postgres": 200}
SEARCH_EVERY = 15  # a search check after every so many writes
TYPES = (*PERSON_TYPES, "Organization", "Practitioner")
OPS = ("post", "put", "put", "put", "delete", "transaction", "conditional")
MEDIA = {"json": "application/fhir+json", "xml": "application/fhir+xml"}
_BASE = "http://testserver"
_TOPIC = "https://ip-fhir-adapter.no/fhir/CodeSystem/ip-information-topic"
Resource = dict[str, Any]


def _labelled(resource: Resource, topic: str) -> Resource:
    return {**resource, "meta": {"security": [{"system": _TOPIC, "code": topic}]}}


def _task(rid: str, goal: str) -> Resource:
    return {
        "resourceType": "Task",
        "id": rid,
        "status": "requested",
        "intent": "order",
        "description": "Følg opp målet sammen med Siri i Kárášjohka",
        "for": {"reference": PT},
        "focus": {"reference": goal},
    }


def _provenance(rid: str, goal: str) -> Resource:
    return {
        "resourceType": "Provenance",
        "id": rid,
        "target": [{"reference": goal}, {"reference": PT}],
        "recorded": "2026-05-02T10:00:00+02:00",
        "agent": [{"who": {"reference": "Organization/ip1-kommune"}}],
    }


EXTRA = (
    _task("ip1-t1", "Goal/ip1-g1"),
    _labelled(_task("ip1-t2", "Goal/ip1-g2"), "rus"),
    _provenance("ip1-p1", "Goal/ip1-g1"),
    _labelled(_provenance("ip1-p2", "Goal/ip1-g2"), "rus"),
)
# what a new resource of each type copies (its visibility too)
TEMPLATES = {
    "Consent": "Consent/ip1-sharing",
    "CareTeam": "CareTeam/ip1",
    "CarePlan": "CarePlan/ip1",
    "Goal": "Goal/ip1-g1",
    "RelatedPerson": "RelatedPerson/ip1-mor",
    "Task": "Task/ip1-t1",
    "Provenance": "Provenance/ip1-p1",
    "Organization": "Organization/ip1-skole",
    "Practitioner": "Practitioner/ip1-laerer",
}


@dataclass
class Run:
    world: SecureWorld
    oracle: Oracle
    rng: random.Random
    headers: dict[str, dict[str, str]]
    fresh: Iterator[int]
    where: str = ""

    def stored(self, ref: str) -> Resource:
        rtype, _, rid = ref.partition("/")
        return self.world.wiring.repository.read(rtype, rid)

    def send(
        self, actor: str, fmt: str, method: str, path: str, body: Any = None, **extra: str
    ) -> Any:
        headers = {**self.headers[actor], "Accept": MEDIA[fmt], **extra}
        if body is None:
            return self.world.client.request(method, path, headers=headers)
        headers["Content-Type"] = MEDIA[fmt]
        text = to_xml(body) if fmt == "xml" else None
        if text is not None:
            return self.world.client.request(
                method, path, headers=headers, content=text.encode("utf-8")
            )
        return self.world.client.request(method, path, headers=headers, json=body)


def _parsed(response: Any) -> Resource:
    if not response.content:
        return {}
    if response.headers.get("content-type", "").startswith("application/fhir+xml"):
        return parse_xml(response.text)
    body: Resource = response.json()
    return body


def _check(run: Run, response: Any, expect: Expect, rtype: str, rid: str | None) -> None:
    where = f"{run.where}: {response.status_code} {response.text[:400]}"
    assert response.status_code == expect.status, where
    body = _parsed(response)
    if expect.message_id is not None:
        assert body.get("resourceType") == "OperationOutcome", where
        assert expect.message_id in message_ids(body), where
        assert "refus" not in response.text.lower(), where  # nobody is told it was refused
        assert "etag" not in response.headers and "location" not in response.headers, where
        return
    if expect.status == 204:
        assert not response.content, where
        return
    if expect.status in (200, 201) and body.get("resourceType") == rtype:
        version = body["meta"]["versionId"]
        assert response.headers["etag"] == f'W/"{version}"', where
        if rid is not None:
            assert body["id"] == rid, where
        location = f"{_BASE}/{rtype}/{body['id']}/_history/{version}"
        assert response.headers.get("location", location) == location, where


def _transaction_check(run: Run, response: Any, expect: Expect, rtype: str) -> None:
    where = f"{run.where} (transaction): {response.status_code} {response.text[:1500]}"
    if expect.message_id is not None:
        assert response.status_code == expect.status, where
        assert expect.message_id in message_ids(_parsed(response)), where
        assert "refus" not in response.text.lower(), where
        return
    assert response.status_code == 200, where
    entry = _parsed(response)["entry"][0]
    status = entry["response"]["status"]
    assert status.startswith(str(expect.status)), where
    if "resource" in entry:
        version = entry["resource"]["meta"]["versionId"]
        assert entry["response"]["etag"] == f'W/"{version}"', where
        assert entry["response"]["location"].startswith(f"{rtype}/"), where


def _body(run: Run, actor: str, ref: str, shown: bool) -> tuple[Resource, bool]:
    """What ``actor`` sends to ``ref``: what it was shown (``shown``) or, half the time, that
    with ``language`` changed; for an id it may not see, the stored version (the attacker's
    best guess), changed or not. (body, sent exactly as shown)"""
    rtype, _, rid = ref.partition("/")
    if shown:
        got = run.send(actor, "json", "GET", f"/{ref}")
        assert got.status_code == 200, (run.where, got.text)
        body = got.json()
    else:
        body = run.stored(ref)
    if run.rng.random() < 0.5:
        return body, shown
    return {**body, "language": "nb" if body.get("language") == "nn" else "nn"}, False


def _template(run: Run, rtype: str, rid: str | None) -> Resource:
    body = copy.deepcopy(run.stored(TEMPLATES[rtype]))
    body.pop("meta", None)
    body.pop("id", None)
    if rtype == "CarePlan":
        body["status"] = "draft"  # a person has one active plan
    if rtype in ("Organization", "Practitioner"):
        body.pop("identifier", None)  # a new entry, not a second copy of an identity
    if rid is not None:
        body["id"] = rid
    return body


def _never(run: Run, rtype: str) -> str:
    del rtype
    return f"ip1-ny-{next(run.fresh)}"


def _hidden_like_never(run: Run, actor: str, fmt: str, asks: list[tuple[str, Any]]) -> Any:
    """The two answers (hidden id, never-existing id) must be the same once normalised."""
    answers = []
    for rid, send in asks:
        r = send()
        kept = tuple((h, _normal(r.headers.get(h, ""), rid)) for h in ("etag", "location"))
        answers.append((r.status_code, kept, _normal(r.text, rid), r))
    assert answers[0][:3] == answers[1][:3], (run.where, answers[0][:3], answers[1][:3])
    return answers[1][3]


def _created(run: Run, response: Any, rtype: str) -> None:
    if response.status_code == 201 and rtype in PERSON_TYPES:
        body = _parsed(response)
        run.oracle.person[f"{rtype}/{body['id']}"] = TEMPLATES[rtype]


def _put(run: Run, actor: str, fmt: str, rtype: str) -> None:
    existing = _refs(run, rtype)
    ref = run.rng.choice(existing) if existing and run.rng.random() < 0.8 else None
    if ref is None:  # a PUT to a free id: a creation
        rid = _never(run, rtype)
        r = run.send(actor, fmt, "PUT", f"/{rtype}/{rid}", _template(run, rtype, rid))
        _check(run, r, run.oracle.create(actor, rtype), rtype, rid)
        _created(run, r, rtype)
        return
    rid = ref.split("/")[1]
    if run.oracle.sees(actor, ref):
        body, as_shown = _body(run, actor, ref, True)
        r = run.send(actor, fmt, "PUT", f"/{ref}", body)
        _check(run, r, run.oracle.update(actor, ref, as_shown=as_shown), rtype, rid)
        return
    before = run.stored(ref)["meta"]["versionId"]
    body, _ = _body(run, actor, ref, False)
    never = _never(run, rtype)
    r = _hidden_like_never(
        run,
        actor,
        fmt,
        [
            (rid, lambda: run.send(actor, fmt, "PUT", f"/{ref}", body)),
            (
                never,
                lambda: run.send(actor, fmt, "PUT", f"/{rtype}/{never}", {**body, "id": never}),
            ),
        ],
    )
    _check(run, r, run.oracle.create(actor, rtype), rtype, None)
    assert run.stored(ref)["meta"]["versionId"] == before, run.where


def _delete(run: Run, actor: str, fmt: str, rtype: str) -> None:
    ref = run.rng.choice(_refs(run, rtype))
    rtype, _, rid = ref.partition("/")
    if run.oracle.sees(actor, ref):
        before = run.stored(ref)
        r = run.send(actor, fmt, "DELETE", f"/{ref}")
        _check(run, r, run.oracle.delete(actor, ref), rtype, rid)
        if r.status_code == 204:  # undone through the store: the world keeps its shape
            run.world.wiring.repository.update(rtype, rid, before)
        return
    never = _never(run, rtype)
    r = _hidden_like_never(
        run,
        actor,
        fmt,
        [
            (rid, lambda: run.send(actor, fmt, "DELETE", f"/{ref}")),
            (never, lambda: run.send(actor, fmt, "DELETE", f"/{rtype}/{never}")),
        ],
    )
    _check(run, r, run.oracle.delete_missing(rtype), rtype, None)
    assert run.stored(ref)["id"] == rid, run.where


def _post(run: Run, actor: str, fmt: str, rtype: str) -> None:
    r = run.send(actor, fmt, "POST", f"/{rtype}", _template(run, rtype, None))
    _check(run, r, run.oracle.create(actor, rtype), rtype, None)
    _created(run, r, rtype)


def _conditional(run: Run, actor: str, fmt: str, rtype: str) -> None:
    body = _template(run, rtype, None)
    refs = _refs(run, rtype)
    ref = run.rng.choice(refs) if refs and run.rng.random() < 0.7 else None
    create = run.oracle.create(actor, rtype)

    def ask(rid: str) -> Any:
        return run.send(actor, fmt, "POST", f"/{rtype}", body, **{"If-None-Exist": f"_id={rid}"})

    if ref is not None and run.oracle.sees(actor, ref):
        r = ask(ref.split("/")[1])
        _check(run, r, create if create.message_id else Expect(200), rtype, ref.split("/")[1])
        return
    never = _never(run, rtype)
    if ref is None:
        r = ask(never)
    else:
        r = _hidden_like_never(
            run,
            actor,
            fmt,
            [(ref.split("/")[1], lambda: ask(ref.split("/")[1])), (never, lambda: ask(never))],
        )
    _check(run, r, create, rtype, None)
    _created(run, r, rtype)


def _transaction(run: Run, actor: str, fmt: str, rtype: str) -> None:
    refs = _refs(run, rtype)
    ref = run.rng.choice(refs)
    method = run.rng.choice(("PUT", "DELETE", "POST"))
    rid = ref.split("/")[1]
    entry: Resource = {"request": {"method": method, "url": ref if method != "POST" else rtype}}
    sees = run.oracle.sees(actor, ref)
    if method == "POST":
        entry["resource"] = _template(run, rtype, None)
        expect = run.oracle.create(actor, rtype)
    elif method == "PUT" and sees:
        entry["resource"], as_shown = _body(run, actor, ref, True)
        expect = run.oracle.update(actor, ref, as_shown=as_shown)
    elif method == "PUT":
        entry["resource"], _ = _body(run, actor, ref, False)
        expect = run.oracle.create(actor, rtype)
    else:
        expect = run.oracle.delete(actor, ref) if sees else run.oracle.delete_missing(rtype)
    before = run.stored(ref)

    def bundle(target: str) -> Resource:
        e = copy.deepcopy(entry)
        if method != "POST":
            e["request"]["url"] = f"{rtype}/{target}"
        if "resource" in e and method == "PUT":
            e["resource"]["id"] = target
        return {"resourceType": "Bundle", "type": "transaction", "entry": [e]}

    if sees or method == "POST":
        r = run.send(actor, fmt, "POST", "/", bundle(rid))
    else:
        never = _never(run, rtype)
        r = _hidden_like_never(
            run,
            actor,
            fmt,
            [
                (rid, lambda: run.send(actor, fmt, "POST", "/", bundle(rid))),
                (never, lambda: run.send(actor, fmt, "POST", "/", bundle(never))),
            ],
        )
    _transaction_check(run, r, expect, rtype)
    if r.status_code == 200:
        answer = _parsed(r)["entry"][0]
        if method == "DELETE":
            run.world.wiring.repository.update(rtype, rid, before)
        elif method == "POST" and rtype in PERSON_TYPES:
            new_id = answer["response"]["location"].split("/")[1]
            run.oracle.person[f"{rtype}/{new_id}"] = TEMPLATES[rtype]


def _refs(run: Run, rtype: str) -> list[str]:
    if rtype in PERSON_TYPES:
        return sorted(r for r in run.oracle.person if r.startswith(f"{rtype}/"))
    return [
        TEMPLATES[rtype],
        f"{rtype}/ip1-kommune" if rtype == "Organization" else "Practitioner/ip1-koord",
        *((f"{rtype}/ip1-nav",) if rtype == "Organization" else ()),
    ]


_HIDDEN_ID = re.compile(r"ip1-[a-z0-9-]+")


def _search(run: Run, actor: str, rtype: str) -> None:
    """Every page of ``rtype?patient=…&_count=2`` as ``actor``: exactly the oracle's ids, every
    page but the last full, links carrying no id, ``_summary=count`` the same number."""
    want = run.oracle.visible(actor, rtype)
    url: str | None = f"/{rtype}?patient={PT}&_count=2"
    got: list[str] = []
    pages = []
    while url is not None:
        r = run.send(actor, "json", "GET", url.removeprefix(_BASE))
        assert r.status_code == 200, (run.where, r.text)
        page = r.json()
        ids = [
            f"{rtype}/{e['resource']['id']}"
            for e in page.get("entry", [])
            if e.get("search", {}).get("mode", "match") == "match"
        ]
        pages.append(len(ids))
        got += ids
        links = {link["relation"]: link["url"] for link in page.get("link", [])}
        for link in links.values():
            assert not _HIDDEN_ID.search(
                link.split("?", 1)[1].replace(f"patient={PT}", "").replace("Patient%2Fip1-pt", "")
            ), (run.where, link)
        url = links.get("next")
    assert set(got) == want and len(got) == len(want), (run.where, actor, sorted(got), sorted(want))
    assert all(n == 2 for n in pages[:-1]), (run.where, pages)
    counted = run.send(actor, "json", "GET", f"/{rtype}?patient={PT}&_summary=count").json()
    assert counted["total"] == len(want), (run.where, counted)


_OPS = {
    "post": _post,
    "put": _put,
    "delete": _delete,
    "transaction": _transaction,
    "conditional": _conditional,
}


def test_generated_writes_get_the_oracles_answer(world: SecureWorld) -> None:
    backend = "postgres" if world.wiring.engine.dialect.name == "postgresql" else "sqlite"
    seed = int(os.environ.get("IPFHIR_WRITE_SEED") or random.SystemRandom().randrange(2**32))
    for res in EXTRA:
        world.wiring.repository.update(res["resourceType"], res["id"], res)
    oracle = Oracle(
        {
            f"{r['resourceType']}/{r['id']}": f"{r['resourceType']}/{r['id']}"
            for r in _person_resources(world)
        }
    )
    headers = {actor: world.as_(actor) for actor in ACTORS}
    run = Run(world, oracle, random.Random(seed), headers, iter(range(10**9)))
    for n in range(EXAMPLES[backend]):
        actor, rtype = run.rng.choice(list(ACTORS)), run.rng.choice(TYPES)
        op, fmt = run.rng.choice(OPS), run.rng.choice(sorted(MEDIA))
        run.where = f"seed {seed} example {n}: {actor} {op} {rtype} {fmt}"
        _OPS[op](run, actor, fmt, rtype)
        if n % SEARCH_EVERY == 0:
            searcher, searched = run.rng.choice(list(ACTORS)), run.rng.choice(PERSON_TYPES)
            run.where = f"seed {seed} example {n}: {searcher} searches {searched}"
            _search(run, searcher, searched)


def _person_resources(world: SecureWorld) -> list[Resource]:
    from tests.security.conftest import plan_resources

    del world
    out = [r for r in plan_resources() if r["resourceType"] in PERSON_TYPES]
    return out + list(EXTRA)
