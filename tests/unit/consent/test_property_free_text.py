"""Property: for generated plans, no text the person's consent withholds from a recipient —
in a labelled element (goal, need, resource, measure, participation) or inside free text
(situation, cooperation, contributions, remarks) — reaches that recipient on any egress path
(read, vread, searches with includes and pages, ``_id`` searches, history, ``$everything``,
batch), as JSON or as XML.

Plans are ``rus-psykisk-helse`` with every text replaced by a unique marker and every topic
drawn at random, mapped by the project mapping (``mappings.to_fhir``) and written through the
enforcement point by the owning municipality. Which texts are withheld is worked out here from
the plan JSON alone, not from the engine."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.consent.real_plans import (
    ROOT,
    Place,
    as_text,
    egress,
    identifier,
    one,
)
from tests.unit.consent.test_real_plans import _stored

TOPICS = ("rus", "psykisk-helse", "familie", "bolig", "arbeid", "okonomi")
# recipients of the sharing consent: (organisation party, practitioner party or None)
RECIPIENTS = (("nav", None), ("sshf", "lar-lege"), ("legekontor", "fastlege"))
BASE = json.loads((ROOT / "plans" / "rus-psykisk-helse.plan.json").read_text("utf-8"))

topic = st.none() | st.sampled_from(TOPICS)
part_topics = st.lists(st.sampled_from(TOPICS), max_size=2, unique=True)
free_text = st.lists(part_topics, min_size=1, max_size=4)  # the topics of each part


class Marks:
    """Unique markers for texts, and which of them the recipient must not get."""

    def __init__(self, refused: set[str]) -> None:
        self.refused, self.count = refused, 0
        self.withheld: set[str] = set()
        self.shown: set[str] = set()

    def text(self, withheld: bool) -> str:
        self.count += 1
        mark = f"«merke-{self.count:03d}-æøå»"
        (self.withheld if withheld else self.shown).add(mark)
        return mark

    def labelled(self, code: str | None, also: bool = False) -> str:
        return self.text(also or code in self.refused)

    def parts(self, topics: list[list[str]], also: bool = False) -> list[dict[str, Any]]:
        return [
            {"text": self.text(also or bool(set(t) & self.refused)), "topics": t} for t in topics
        ]


def _plan(draw: st.DrawFn, refused: set[str]) -> tuple[dict[str, Any], Marks]:
    plan = json.loads(json.dumps(BASE))
    marks = Marks(refused)
    plan["sharing_consent"]["refused_topics"] = sorted(refused)
    for group in ("goals", "needs", "resources"):
        for item in plan[group]:
            item["topic"] = draw(topic)
            item["text"] = marks.labelled(item["topic"])
    for measure in plan["measures"]:
        measure["topic"] = draw(topic)
        measure["title"] = marks.labelled(measure["topic"])
        measure["how"] = marks.labelled(measure["topic"])
    plan["situation"] = marks.parts(draw(free_text))
    plan["person_contribution_topic"] = draw(topic)
    hidden = plan["person_contribution_topic"] in refused
    plan["person_contribution"] = marks.parts(draw(free_text), hidden)
    for party in plan["parties"]:
        if party.get("takes_part", True):
            party["topic"] = draw(topic)
            # a refused individual's participation is withheld whatever its topics
            hidden = party["topic"] in refused or party["id"] == "bror"
            party["contribution"] = marks.parts(draw(free_text), hidden)
    for co in plan["cooperation"]:
        co["description"] = marks.parts(draw(free_text))
    for consent in ("plan_consent", "sharing_consent"):  # Consents go to the owner only
        plan[consent]["remarks"] = marks.parts(draw(free_text), True)
    return plan, marks


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], Marks, tuple[str, str | None]]:
    refused = set(draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3, unique=True)))
    plan, marks = _plan(draw, refused)
    return plan, marks, draw(st.sampled_from(RECIPIENTS))


def _bundle(plan: dict[str, Any]) -> dict[str, Any]:
    from ipfhir.mappings.plan_io import plan_from_json
    from ipfhir.mappings.to_fhir import plan_to_bundle

    return plan_to_bundle(plan_from_json(json.dumps(plan, ensure_ascii=False)))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_no_withheld_text_reaches_a_recipient_on_any_path(
    case: tuple[dict[str, Any], Marks, tuple[str, str | None]],
) -> None:
    plan, marks, (org, prac) = case
    place: Place = _stored(_bundle(plan), "2026-06-01")
    orgnr = identifier(one(place.bundle, "Organization", org), "4.101")
    hpr = identifier(one(place.bundle, "Practitioner", prac), "4.4") if prac else None
    as_json, as_xml = as_text(egress(place, place.as_actor(orgnr, hpr)))
    for mark in marks.withheld:
        assert mark not in as_json and mark not in as_xml, mark
    # the recipient does get the plan: every situation part it may see arrives
    for part in plan["situation"]:
        if part["text"] in marks.shown:
            assert part["text"] in as_json and part["text"] in as_xml, part
