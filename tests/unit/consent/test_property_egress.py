"""Property: for generated plans, consents and actors, no egress path returns anything outside
what the independent oracle (tests/unit/consent/oracle.py) allows — and nothing it allows is
lost. Paths: read, vread, history, search (every page, includes, totals, _summary=count),
$everything, batch responses, and a disclosure to an organisation without HTTP. CareTeam
participants carry topics too: a refused one is gone, with its contribution."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfhir.adapter.consent.enforce import ConsentRepository
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, SearchParam, SearchQuery
from tests.hypothesis_profiles import examples
from tests.unit.consent.builders import Item, PlanSpec, Sharing
from tests.unit.consent.conftest import HPR, ORGNR, OWNER, make_world, standard_spec
from tests.unit.consent.oracle import Expected, Who, expected

EXAMPLES = examples(1200)  # per test; in CI two tests → 2400 generated plans per run
PT = "Patient/ip1-pt"
TOPICS = ["rus", "psykisk-helse", "okonomi", "bolig"]
DATES = [None, "2025-06-01", "2026-03-01", "2026-09-01"]
ORGS = ["kommune", "sykehus", "nav", "skole"]
PRACS = {"koord": "kommune", "fysio": "sykehus", "lege": "sykehus", "laerer": "skole"}
PARTIES = [f"org:{o}" for o in ORGS] + [f"prac:{p}" for p in PRACS] + ["careteam"]


def _items(prefix: str, goal_keys: list[str] | None = None) -> st.SearchStrategy[list[Item]]:
    item = st.builds(
        Item,
        key=st.just(""),
        topic=st.sampled_from([None, *TOPICS]),
        start=st.sampled_from(DATES),
        goals=st.lists(st.sampled_from(goal_keys), max_size=2, unique=True).map(tuple)
        if goal_keys
        else st.just(()),
    )
    return st.lists(item, max_size=4).map(
        lambda items: [Item(f"{prefix}{i}", x.topic, x.start, x.goals) for i, x in enumerate(items)]
    )


def _subset(values: list[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), max_size=3, unique=True).map(tuple)


sharing = st.builds(
    Sharing,
    status=st.sampled_from(["active", "active", "active", "inactive", "draft", "rejected"]),
    start=st.sampled_from([None, "2025-01-01", "2026-07-01"]),
    end=st.sampled_from([None, "2026-05-31", "2027-12-31"]),
    revoked_on=st.sampled_from([None, None, "2026-05-01", "2026-12-01"]),
    recipients=_subset(PARTIES),
    refused_topics=_subset(TOPICS),
    refused_orgs=_subset(ORGS),
    refused_pracs=_subset(list(PRACS)),
    data_period=st.sampled_from([None, None, None, ("2026-01-01", None), (None, "2025-12-31")]),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[PlanSpec, Who]:
    base = standard_spec()
    goals = draw(_items("g"))
    team = draw(_subset([f"org:{o}" for o in ORGS] + [f"prac:{p}" for p in PRACS]))
    labels = [draw(st.sampled_from([None, *TOPICS])) for _ in ("person", *team)]
    spec = PlanSpec(
        owner=draw(st.sampled_from(ORGS)),
        orgs=base.orgs,
        pracs=base.pracs,
        coordinator=draw(st.sampled_from([None, *PRACS])),
        team=team,
        team_topics={m: t for m, t in zip(("person", *team), labels, strict=True) if t},
        goals=goals,
        measures=draw(_items("m", [g.key for g in goals])),
        needs=draw(_items("n")),
        strengths=draw(_items("s")),
        sharing=draw(st.one_of(st.none(), sharing)),
    )
    org = draw(st.sampled_from([*ORGS, "annen"]))
    prac = draw(st.sampled_from([None, *(p for p, o in PRACS.items() if o == org)]))
    return spec, Who(org, prac, draw(st.booleans()))


def _repo(world: Any, who: Who) -> ConsentRepository:
    actor = Actor(
        organisation=ORGNR[who.org],
        practitioner=HPR.get(who.prac or ""),
        roles=OWNER if who.coordinating_unit else (),
        purpose="COC",
    )
    repo: ConsentRepository = world.factory.repository_for(actor)
    return repo


def _readable(repo: ConsentRepository, rtype: str, rid: str) -> dict[str, Any] | None:
    try:
        return repo.read(rtype, rid)
    except NotFound:
        return None


def _check_careplan(plan: dict[str, Any] | None, exp: Expected, spec: PlanSpec) -> None:
    assert (plan is not None) == exp.careplan
    if plan is None:
        return
    assert {a["id"] for a in plan.get("activity", [])} == exp.measures
    items = {e["id"] for e in plan.get("extension", []) if e["url"].endswith("ip-need")}
    assert items == exp.needs
    items = {e["id"] for e in plan.get("extension", []) if e["url"].endswith("ip-resource")}
    assert items == exp.strengths
    refs = {g["reference"].removeprefix("Goal/ip1-") for g in plan.get("goal", [])}
    for act in plan.get("activity", []):
        refs |= {g["reference"].removeprefix("Goal/ip1-") for g in act["detail"].get("goal", [])}
    assert refs <= exp.goals
    redacted = any(s.get("code") == "REDACTED" for s in plan.get("meta", {}).get("security", []))
    assert redacted == (not exp.privileged)  # Consent references are always removed for recipients
    del spec


def _member_ref(spec: PlanSpec, key: str) -> str:
    if key == "person":
        return PT
    if key == "coordinator":
        return spec.party_ref(f"role:{spec.coordinator}")
    kind, _, name = key.partition(":")
    return spec.party_ref(f"role:{name}" if kind == "prac" else key)


def _check_careteam(team: dict[str, Any] | None, exp: Expected, spec: PlanSpec) -> None:
    assert (team is not None) == exp.careplan  # the CareTeam is shared exactly with the CarePlan
    if team is None:
        return
    shown = {p["member"]["reference"] for p in team.get("participant", [])}
    assert shown == {_member_ref(spec, k) for k in exp.participants}
    hidden = len(team.get("participant", [])) < 1 + len(spec.team) + bool(spec.coordinator)
    redacted = any(s.get("code") == "REDACTED" for s in team.get("meta", {}).get("security", []))
    assert redacted == hidden and not (hidden and exp.privileged)


def _no_refused_topic(out: Any, exp: Expected) -> None:
    text = json.dumps(out, ensure_ascii=False)
    for topic in exp.refused_topics:
        assert f'"{topic}"' not in text, topic


def _goal_ids(resources: list[dict[str, Any]]) -> set[str]:
    return {r["id"].removeprefix("ip1-") for r in resources if r["resourceType"] == "Goal"}


# Both egress properties: EXAMPLES cases each, no deadline (nothing is timed here), no example
# database (every CI run draws fresh cases).
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(worlds())
def test_reads_searches_and_history_disclose_exactly_the_oracle(case: tuple[PlanSpec, Who]) -> None:
    spec, who = case
    world = make_world(spec)
    exp = expected(spec, who)
    repo = _repo(world, who)
    shown: list[Any] = []
    for goal in spec.goals:
        got = _readable(repo, "Goal", f"ip1-{goal.key}")
        assert (got is not None) == (goal.key in exp.goals), goal
        shown.append(got)
        try:
            shown.append(repo.vread("Goal", f"ip1-{goal.key}", "1"))
            assert goal.key in exp.goals
        except NotFound:
            assert goal.key not in exp.goals
    plan = _readable(repo, "CarePlan", "ip1")
    _check_careplan(plan, exp, spec)
    team = _readable(repo, "CareTeam", "ip1")
    _check_careteam(team, exp, spec)
    assert (_readable(repo, "Patient", "ip1-pt") is not None) == exp.patient
    assert (_readable(repo, "Consent", "ip1-plan") is not None) == exp.privileged
    paged: list[dict[str, Any]] = []
    query = SearchQuery("Goal", (SearchParam("subject", (PT,)),), count=2, include=("Goal:*",))
    cursor = None
    while True:
        page = repo.search(SearchQuery("Goal", query.params, count=2, cursor=cursor))
        assert page.total is None
        paged += page.matches
        shown += page.includes
        cursor = page.next_cursor
        if cursor is None:
            break
    assert _goal_ids(paged) == exp.goals
    counted = repo.search(SearchQuery("Goal", query.params, summary_count=True)).total
    assert counted == len(exp.goals)
    history = repo.history("Goal").entries
    assert {e.resource_id.removeprefix("ip1-") for e in history} == exp.goals
    shown += [plan, team, paged, [e.resource for e in history]]
    if not exp.privileged:
        _no_refused_topic(shown, exp)


@PROPERTY
@given(worlds())
def test_everything_batch_and_disclosure_without_http(case: tuple[PlanSpec, Who]) -> None:
    spec, who = case
    world = make_world(spec)
    exp = expected(spec, who)
    repo = _repo(world, who)
    try:
        everything = repo.everything("ip1")
        assert exp.careplan
        assert _goal_ids(everything) <= exp.goals
        assert any(r["resourceType"] == "Consent" for r in everything) == exp.privileged
        _check_careplan(everything[0], exp, spec)
        teams = [r for r in everything if r["resourceType"] == "CareTeam"]
        assert len(teams) == 1
        _check_careteam(teams[0], exp, spec)
    except NotFound:
        assert not exp.careplan
        everything = []
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": f"Goal/ip1-{g.key}"}} for g in spec.goals],
    }
    answers = repo.transaction(bundle)["entry"]
    got = {a["resource"]["id"].removeprefix("ip1-") for a in answers if "resource" in a}
    assert got == exp.goals
    # A later sync engine discloses to an organisation exactly like this: no HTTP, same decision.
    org_only = world.factory.repository_for(Actor(organisation=ORGNR[who.org], purpose="COC"))
    org_exp = expected(spec, Who(who.org, None))
    try:
        disclosed = org_only.everything("ip1")
        assert org_exp.careplan and _goal_ids(disclosed) <= org_exp.goals
    except NotFound:
        assert not org_exp.careplan
        disclosed = []
    if not exp.privileged:
        _no_refused_topic([everything, answers], exp)
    if not org_exp.privileged:
        _no_refused_topic(disclosed, org_exp)
