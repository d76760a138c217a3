"""The labelled parts of free text under a judge (adapter.consent.redact_text), pure."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ipfhir.adapter.consent.redact import element_labels
from ipfhir.adapter.consent.redact_text import PART_URL, strip_free_text, strip_text_parts
from ipfhir.mappings.codes import cs_url, ext_url

TOPIC = cs_url("ip-information-topic")


def _part(text: str, *topics: str) -> dict[str, Any]:
    labels = [
        {"url": ext_url("ip-security-label"), "valueCoding": {"system": TOPIC, "code": t}}
        for t in topics
    ]
    return {"url": PART_URL, "extension": [{"url": "text", "valueString": text}, *labels]}


def _refuse(*topics: str) -> Any:
    def judge(element: Mapping[str, Any], _path: str) -> str | None:
        codes = {code for _s, code in element_labels(element)}
        return "refused" if codes & set(topics) else None

    return judge


def _plan() -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "text": {"status": "generated", "div": "<div>alt</div>"},
        "description": "Bolig. Angst. Jobb.",
        "_description": {
            "extension": [
                _part("Bolig.", "bolig"),
                _part("Angst.", "psykisk-helse"),
                _part("Jobb."),
            ]
        },
        "extension": [
            {
                "url": ext_url("ip-cooperation"),
                "extension": [
                    {"url": "organization", "valueReference": {"reference": "Organization/x"}},
                    {"url": "description", "extension": [_part("DPS.", "psykisk-helse")]},
                    {"url": "necessity", "valueCode": "necessary"},
                ],
            },
            {
                "url": ext_url("ip-cooperation"),
                "extension": [
                    {"url": "organization", "valueReference": {"reference": "Organization/y"}},
                    {
                        "url": "description",
                        "extension": [_part("LAR.", "rus"), _part("Familie.", "familie")],
                    },
                    {"url": "necessity", "valueCode": "desired"},
                ],
            },
        ],
    }


def test_refused_parts_go_and_the_string_is_written_from_the_parts_kept() -> None:
    plan = _plan()
    before = copy.deepcopy(plan)
    out, removed = strip_text_parts(plan, _refuse("psykisk-helse", "familie"))
    assert plan == before  # the original is never changed
    assert out["description"] == "Bolig. Jobb."
    assert len(out["_description"]["extension"]) == 2
    # the first cooperation had nothing left: it goes whole; the second keeps its LAR part
    assert len(out["extension"]) == 1
    assert out["extension"][0]["extension"][1]["extension"] == [_part("LAR.", "rus")]
    assert [r.path for r in removed] == [
        "CarePlan.description.extension:part[1]",
        "CarePlan.extension[0].extension[1].extension:part[0]",
        "CarePlan.extension[1].extension[1].extension:part[1]",
    ]


def test_nothing_refused_gives_the_same_object() -> None:
    plan = _plan()
    out, removed = strip_text_parts(plan, _refuse("okonomi"))
    assert out is plan and removed == []


def test_every_part_refused_removes_the_string() -> None:
    plan = {
        "resourceType": "CarePlan",
        "description": "A",
        "_description": {"extension": [_part("A", "rus")]},
    }
    out, removed = strip_text_parts(plan, _refuse("rus"))
    assert "description" not in out and "_description" not in out and len(removed) == 1


def test_a_string_saying_more_than_its_parts_is_cut_to_the_parts() -> None:
    plan = _plan()
    plan["description"] = "Bolig. Angst. Jobb. Og en hemmelighet."
    out, removed = strip_text_parts(plan, _refuse("okonomi"))
    assert out["description"] == "Bolig. Angst. Jobb."
    assert [r.reason for r in removed] == ["text beyond its labelled parts"]


def test_a_contribution_with_nothing_left_goes_and_the_participant_stays() -> None:
    team = {
        "resourceType": "CareTeam",
        "participant": [
            {
                "extension": [
                    {
                        "url": ext_url("ip-contribution"),
                        "extension": [_part("Angst.", "psykisk-helse")],
                    }
                ],
                "member": {"reference": "Organization/x"},
            }
        ],
    }
    out, removed = strip_text_parts(team, _refuse("psykisk-helse"))
    assert out["participant"] == [{"member": {"reference": "Organization/x"}}]
    assert [r.path for r in removed] == ["CareTeam.participant[0].extension[0].extension:part[0]"]


def test_parts_inside_an_element_already_removed_are_not_reported_twice() -> None:
    from ipfhir.adapter.consent.redact import Removal

    plan = _plan()
    stripped = {**plan, "extension": plan["extension"][1:]}
    earlier = [Removal("CarePlan.extension[0]", "refused topic")]
    out, removed = strip_free_text(plan, stripped, earlier, _refuse("psykisk-helse", "familie"))
    assert [r.path for r in removed] == [
        "CarePlan.extension[0]",
        "CarePlan.description.extension:part[1]",
        "CarePlan.extension[1].extension[1].extension:part[1]",
    ]
    assert out["extension"][0]["extension"][1]["extension"] == [_part("LAR.", "rus")]


def test_a_link_to_a_removed_need_goes_with_the_need() -> None:
    from ipfhir.adapter.consent.redact import strip_elements

    def need(nid: str, *topics: str) -> dict[str, Any]:
        part = _part(nid, *topics)  # text and labels, as in an ip-need
        return {"id": nid, "url": ext_url("ip-need"), "extension": part["extension"]}

    link = ext_url("ip-meets-need")
    plan = {
        "resourceType": "CarePlan",
        "extension": [need("n-angst", "psykisk-helse"), need("n-bolig", "bolig")],
        "activity": [
            {
                "id": "oppfolging",
                "extension": [
                    {"url": link, "valueString": "n-angst"},
                    {"url": link, "valueString": "n-bolig"},
                ],
                "detail": {"status": "in-progress"},
            }
        ],
    }
    keep = _refuse("psykisk-helse")
    out, removed = strip_elements(plan, lambda e, p: None, keep, lambda r: None)
    assert out["activity"][0]["extension"] == [{"url": link, "valueString": "n-bolig"}]
    assert [r.path for r in removed] == [
        "CarePlan.extension[0]",
        "CarePlan.activity[0].extension",
    ]
    assert plan["activity"][0]["extension"][0]["valueString"] == "n-angst"  # original untouched
