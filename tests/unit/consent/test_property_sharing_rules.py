"""Property (issue 16): for generated plans whose sharing consent says what it permits to whom —
plan-wide refused topics, a topic refused to one recipient only, a permit that gives a recipient
only some topics, a refusal of information *from* a professional environment — no text the
consent withholds from a recipient reaches that recipient on any egress path (read, vread,
searches with includes and pages, ``_id`` searches, history, ``$everything``, batch), in a
labelled element or inside free text, as JSON or as XML; and the situation parts it may see
arrive.

Plans are ``rus-psykisk-helse`` with every text replaced by a unique marker and every topic
and rule drawn at random, mapped by the project mapping and written through the enforcement
point by the owning municipality's coordinating unit on a fixed day. What is withheld is
worked out here from the plan JSON and the rules' meaning (vedlegg 2; the mapping table's
"Consent decisions read these elements"), not from the engine:

- a deny naming the recipient and topics: those topics never reach it; the plan-wide refused
  topics reach nobody; deny beats permit;
- a permit naming the recipient and topics: of what carries a topic, it gets only these (a
  part or element with any other topic is withheld);
- a deny naming a source organisation (to the recipient, or to every recipient): nothing that
  organisation or its practitioners are responsible for (measures) or contribute (participants);
- the refused individual's participation, and the Consents' remarks, reach no recipient.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.consent.real_plans import ROOT, Place, as_text, egress, identifier, one
from tests.unit.consent.test_property_free_text import TOPICS, Marks
from tests.unit.consent.test_real_plans import _stored

# parties the rules name as recipients (permitted recipients of the fixture's consent)
TARGETS = ("nav", "sshf", "lar-lege", "fastlege")
SOURCES = ("nav", "sshf", "legekontor")  # organisations information can come from
# who asks: (organisation, practitioner with an HPR number or None)
ACTORS = (("nav", None), ("sshf", None), ("sshf", "lar-lege"), ("legekontor", "fastlege"))
BASE = json.loads((ROOT / "plans" / "rus-psykisk-helse.plan.json").read_text("utf-8"))
ORGANISATION_OF = {p["id"]: p.get("organisation") for p in BASE["parties"]}

topic = st.none() | st.sampled_from(TOPICS)
part_topics = st.lists(st.sampled_from(TOPICS), max_size=2, unique=True)
free_text = st.lists(part_topics, min_size=1, max_size=3)
some_topics = st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3, unique=True)


class Judge:
    """What the consent withholds from one recipient (an organisation, maybe one of its
    practitioners), read from the plan JSON."""

    def __init__(self, sharing: dict[str, Any], org: str, prac: str | None) -> None:
        names = {org} | ({prac} if prac else set())
        self.denied = set(sharing.get("refused_topics", []))
        self.allowed: set[str] | None = None
        self.sources: set[str] = set()
        for rule in sharing.get("rules", []):
            applies = not rule.get("recipients") or bool(names & set(rule["recipients"]))
            if not applies:
                continue
            if rule["effect"] == "deny" and rule.get("sources"):
                self.sources |= set(rule["sources"])
            elif rule["effect"] == "deny":
                self.denied |= set(rule["topics"])
            else:
                self.allowed = (self.allowed or set()) | set(rule["topics"])

    def topics(self, found: set[str]) -> bool:
        """Information with these topics is withheld."""
        if found & self.denied:
            return True
        return self.allowed is not None and bool(found - self.allowed)

    def source(self, party: str) -> bool:
        """Information from this party is withheld (it is, or works for, a refused source)."""
        return party in self.sources or ORGANISATION_OF.get(party) in self.sources


def _labelled(marks: Marks, withheld: bool) -> str:
    return marks.text(withheld)


def _parts(marks: Marks, judge: Judge, drawn: list[list[str]], also: bool) -> list[Any]:
    return [{"text": marks.text(also or judge.topics(set(t))), "topics": t} for t in drawn]


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], Marks, tuple[str, str | None]]:
    plan = json.loads(json.dumps(BASE))
    sharing = plan["sharing_consent"]
    sharing["refused_topics"] = draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True))
    rules: list[dict[str, Any]] = []
    for target in TARGETS:
        kind = draw(st.sampled_from(("none", "deny", "permit", "both")))
        if kind in ("deny", "both"):
            rules.append({"effect": "deny", "recipients": [target], "topics": draw(some_topics)})
        if kind in ("permit", "both"):
            rules.append({"effect": "permit", "recipients": [target], "topics": draw(some_topics)})
    if draw(st.booleans()):
        source = draw(st.sampled_from(SOURCES))
        to = draw(st.sampled_from((None, *TARGETS)))
        rules.append(
            {"effect": "deny", "sources": [source], **({"recipients": [to]} if to else {})}
        )
    sharing["rules"] = rules
    org, prac = draw(st.sampled_from(ACTORS))
    judge = Judge(sharing, org, prac)
    marks = Marks(set())
    for group in ("goals", "needs", "resources"):
        for item in plan[group]:
            item["topic"] = draw(topic)
            item["text"] = _labelled(marks, judge.topics({item["topic"]} - {None}))
    for measure in plan["measures"]:
        measure["topic"] = draw(topic)
        hidden = judge.topics({measure["topic"]} - {None}) or judge.source(measure["responsible"])
        measure["title"] = _labelled(marks, hidden)
        measure["how"] = _labelled(marks, hidden)
    plan["situation"] = _parts(marks, judge, draw(free_text), False)
    plan["person_contribution_topic"] = draw(topic)
    hidden = judge.topics({plan["person_contribution_topic"]} - {None})
    plan["person_contribution"] = _parts(marks, judge, draw(free_text), hidden)
    refused_individuals = set(sharing.get("refused_individuals", []))
    for party in plan["parties"]:
        if party.get("takes_part", True):
            party["topic"] = draw(topic)
            hidden = (
                judge.topics({party["topic"]} - {None})
                or party["id"] in refused_individuals
                or judge.source(party["id"])
            )
            party["contribution"] = _parts(marks, judge, draw(free_text), hidden)
    for co in plan["cooperation"]:
        co["description"] = _parts(marks, judge, draw(free_text), False)
    for consent in ("plan_consent", "sharing_consent"):  # Consents go to the owner only
        plan[consent]["remarks"] = _parts(marks, judge, draw(free_text), True)
    return plan, marks, (org, prac)


def _bundle(plan: dict[str, Any]) -> dict[str, Any]:
    from ipfhir.mappings.plan_io import plan_from_json
    from ipfhir.mappings.to_fhir import plan_to_bundle

    return plan_to_bundle(plan_from_json(json.dumps(plan, ensure_ascii=False)))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_no_text_a_rule_withholds_reaches_that_recipient_on_any_path(
    case: tuple[dict[str, Any], Marks, tuple[str, str | None]],
) -> None:
    plan, marks, (org, prac) = case
    place: Place = _stored(_bundle(plan), "2026-06-01")
    orgnr = identifier(one(place.bundle, "Organization", org), "4.101")
    hpr = identifier(one(place.bundle, "Practitioner", prac), "4.4") if prac else None
    as_json, as_xml = as_text(egress(place, place.as_actor(orgnr, hpr)))
    for mark in marks.withheld:
        assert mark not in as_json and mark not in as_xml, mark
    for part in plan["situation"]:
        if part["text"] in marks.shown:
            assert part["text"] in as_json and part["text"] in as_xml, part
