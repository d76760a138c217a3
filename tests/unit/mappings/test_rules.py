"""Plan rules (mappings.rules, .coordination, .competence): the invalid fixtures and the boundaries.

Every file in fixtures/invalid/ breaks one rule: load_plan must refuse it with exactly the issues
its .expect.json names (the expected one plus any consequence listed under "also"). The unit tests
below pin the rules at their edges: birthdays, one-day overlaps and gaps, mandate periods.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ipfhir.mappings.coordination import coordinators_on
from ipfhir.mappings.errors import PlanRuleViolation
from ipfhir.mappings.rules import MESSAGES, load_plan

ROOT = Path(__file__).resolve().parents[3]
INVALID = ROOT / "fixtures" / "invalid"
PLANS = ROOT / "fixtures" / "plans"
INVALID_PLANS = sorted(INVALID.glob("*.plan.json"))


def _gen_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_fixtures", ROOT / "tools" / "gen_fixtures.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plan(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PLANS / f"{name}.plan.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def _issues(data: dict[str, Any], on: dt.date | None = None) -> set[tuple[str, str]]:
    """(message id, path) of every issue load_plan reports (checked on the fixed day ``on``, if
    given); empty when the plan is accepted."""
    try:
        load_plan(data, on=on)
    except PlanRuleViolation as err:
        return {(i.message_id, i.expression[0] if i.expression else "") for i in err.issues}
    return set()


def _expect(path: Path) -> dict[str, Any]:
    text = path.with_name(path.name.replace(".plan.", ".expect.")).read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _expected(path: Path) -> set[tuple[str, str]]:
    expect = _expect(path)
    found = [expect, *expect.get("also", [])]
    return {(e["message_id"], e["path"]) for e in found}


def _on(path: Path) -> dt.date | None:
    """The fixed day a variant is checked on (rules that depend on the day), if any."""
    on = _expect(path).get("on")
    return dt.date.fromisoformat(on) if on else None


# --- the invalid fixtures ------------------------------------------------------------------


def test_there_are_invalid_fixtures() -> None:
    assert len(INVALID_PLANS) >= 24


@pytest.mark.parametrize("path", INVALID_PLANS, ids=lambda p: p.name.removesuffix(".plan.json"))
def test_invalid_fixture_is_refused_with_exactly_the_expected_issues(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert _issues(data, _on(path)) == _expected(path)


@pytest.mark.parametrize("path", INVALID_PLANS, ids=lambda p: p.name.removesuffix(".plan.json"))
def test_invalid_fixture_outcome_names_message_id_and_expression(path: Path) -> None:
    with pytest.raises(PlanRuleViolation) as caught:
        load_plan(json.loads(path.read_text(encoding="utf-8")), on=_on(path))
    outcome = caught.value.outcome()
    assert outcome["resourceType"] == "OperationOutcome"
    for issue in outcome["issue"]:
        code = issue["details"]["coding"][0]["code"]
        assert code in MESSAGES
        assert issue["severity"] == "error"
        assert issue["code"] in {
            "structure",
            "duplicate",
            "business-rule",
            "code-invalid",
            "required",
        }
        assert issue["expression"] and issue["expression"][0]


def test_every_rule_has_an_invalid_fixture() -> None:
    # plans and coordinator assignments on their own (*.assignment.json) share the catalogue
    invalid = [*INVALID_PLANS, *INVALID.glob("*.assignment.json")]
    covered = {
        mid
        for path in invalid
        for mid, _ in _expected(path.with_name(path.name.replace(".assignment.", ".plan.")))
    }
    assert set(MESSAGES) - covered == set()


def test_invalid_fixtures_are_generated_and_up_to_date() -> None:
    generated = _gen_fixtures().invalid_files()
    lists = {"variants.json", "assignment-variants.json"}
    on_disk = {p for p in INVALID.glob("*.json") if p.name not in lists}
    assert set(generated) == on_disk, "run: .venv/bin/python tools/gen_fixtures.py"
    stale = [p.name for p, text in generated.items() if p.read_text(encoding="utf-8") != text]
    assert stale == [], "run: .venv/bin/python tools/gen_fixtures.py"


def test_every_invalid_fixture_is_one_small_edit_of_a_valid_plan() -> None:
    variants = json.loads((INVALID / "variants.json").read_text(encoding="utf-8"))
    assert len({v["name"] for v in variants}) == len(variants)
    for variant in variants:
        assert (PLANS / f"{variant['base']}.plan.json").is_file()
        assert 1 <= len(variant["patch"]) <= 3, variant["name"]
        assert _issues(_plan(variant["base"])) == set()


def test_all_issues_are_reported_at_once() -> None:
    data = _plan("stroke-handover")
    data["coordinators"][1].pop("handover_from")
    data["sharing_consent"]["permitted_recipients"] = []
    data["goals"][0]["topic"] = "slag"
    assert _issues(data) == {
        ("IP-1010", "coordinators[1].period"),
        ("IP-1021", "sharing_consent.permitted_recipients"),
        ("IP-1040", "goals[0].topic"),
    }


def test_shape_errors_stop_before_the_domain_rules() -> None:
    data = _plan("child-barnekoordinator")
    data["status"] = "aktiv"
    data["coordinators"] = []  # would be IP-1012 if the shape were right
    assert _issues(data) == {("IP-1000", "status")}


# --- competence to consent (mappings.competence) -------------------------------------------


def _with_consent(
    name: str, day: str, givers: list[dict[str, str]], domain: str = "health-and-care"
) -> dict[str, Any]:
    data = _plan(name)
    data["plan_consent"].update({"date": day, "given_by": givers, "domain": domain})
    # a consent given later (a renewal at 16, at 18) covers from the day it is given (IP-1041)
    start = max(day, data["plan_consent"].get("period", {}).get("start", day))
    data["plan_consent"]["period"] = {"start": start}
    data.pop("sharing_consent", None)
    return data


SELF = [{"party": "person", "capacity": "self"}]
MOTHER = [{"party": "mor", "capacity": "parent"}]
INGRID_BORN = dt.date(2010, 3, 9)


@pytest.mark.parametrize(
    ("day", "domain", "accepted"),
    [
        ("2026-03-09", "health-and-care", True),  # 16th birthday
        ("2026-03-08", "health-and-care", False),  # the day before
        ("2025-03-09", "child-welfare", True),  # 15th birthday
        ("2025-03-08", "child-welfare", False),
        ("2025-03-09", "health-and-care", False),  # 15 is enough in child welfare only
    ],
)
def test_person_consents_alone_from_the_age_limit(day: str, domain: str, accepted: bool) -> None:
    data = _with_consent("sixteen-alone", day, SELF, domain)
    expected = set() if accepted else {("IP-1024", "plan_consent.given_by")}
    assert _issues(data) == expected


@pytest.mark.parametrize(
    ("day", "domain", "accepted"),
    [
        ("2026-03-08", "health-and-care", True),  # 15: parents consent
        ("2026-03-09", "health-and-care", False),  # 16: parents alone no longer enough
        ("2025-03-08", "child-welfare", True),  # 14: parents consent
        ("2025-03-09", "child-welfare", False),  # 15 in child welfare
    ],
)
def test_parents_alone_consent_below_the_age_limit(day: str, domain: str, accepted: bool) -> None:
    data = _with_consent("sixteen-alone", day, MOTHER, domain)
    expected = set() if accepted else {("IP-1024", "plan_consent.given_by")}
    assert _issues(data) == expected


def test_young_person_and_parents_together_are_accepted_at_seventeen() -> None:
    assert _issues(_with_consent("sixteen-alone", "2027-06-01", SELF + MOTHER)) == set()


@pytest.mark.parametrize(
    ("day", "accepted"),
    [("2028-03-08", True), ("2028-03-09", False)],  # 18th birthday
)
def test_parents_have_no_say_from_eighteen(day: str, accepted: bool) -> None:
    data = _with_consent("sixteen-alone", day, SELF + MOTHER)
    expected = set() if accepted else {("IP-1024", "plan_consent.given_by[1]")}
    assert _issues(data) == expected


def test_draft_consent_is_not_checked_for_competence() -> None:
    data = _with_consent("sixteen-alone", "2026-03-08", SELF)
    data["status"] = "draft"
    data["plan_consent"]["status"] = "draft"
    assert _issues(data) == set()


def _guardian_consent(day: str, mandate_period: dict[str, str]) -> dict[str, Any]:
    data = _with_consent("guardian-adult", day, [{"party": "verge", "capacity": "guardian"}])
    data["parties"][3]["mandate"]["period"] = mandate_period
    return data


@pytest.mark.parametrize(
    ("day", "accepted"),
    [("2024-01-01", True), ("2023-12-31", False), ("2024-12-31", True), ("2025-01-01", False)],
)
def test_guardian_consents_only_inside_the_mandate_period(day: str, accepted: bool) -> None:
    data = _guardian_consent(day, {"start": "2024-01-01", "end": "2024-12-31"})
    expected = (
        set()
        if accepted
        else {("IP-1025", "plan_consent.given_by[0]"), ("IP-1024", "plan_consent.given_by")}
    )
    assert _issues(data) == expected


def test_guardian_mandate_for_child_welfare_does_not_cover_health_and_care() -> None:
    data = _guardian_consent("2024-06-01", {"start": "2016-03-01"})
    data["parties"][3]["mandate"]["covers"] = ["child-welfare"]
    assert ("IP-1025", "plan_consent.given_by[0]") in _issues(data)


def test_relative_cannot_sign_as_guardian() -> None:
    data = _with_consent("guardian-adult", "2024-06-01", [{"party": "mor", "capacity": "guardian"}])
    assert _issues(data) == {
        ("IP-1026", "plan_consent.given_by[0]"),
        ("IP-1024", "plan_consent.given_by"),
    }


@pytest.mark.parametrize("capacity", ["parent", "guardian"])
def test_person_cannot_consent_as_own_parent_or_guardian(capacity: str) -> None:
    data = _with_consent("child-barnekoordinator", "2026-01-20", [
        {"party": "person", "capacity": capacity}
    ])  # fmt: skip
    assert ("IP-1026", "plan_consent.given_by[0]") in _issues(data)


# --- one coordinator at a time (mappings.coordination) --------------------------------------


def _stroke_with(temporary_end: str, municipal_start: str, handover: bool) -> dict[str, Any]:
    data = _plan("stroke-handover")
    data["coordinators"][0]["period"]["end"] = temporary_end
    data["coordinators"][1]["period"]["start"] = municipal_start
    if not handover:
        data["coordinators"][1].pop("handover_from")
    return data


def test_one_day_overlap_without_handover_is_refused() -> None:
    data = _stroke_with("2026-04-08", "2026-04-08", handover=False)
    assert _issues(data) == {("IP-1010", "coordinators[1].period")}


def test_one_day_overlap_with_declared_handover_is_accepted() -> None:
    data = _stroke_with("2026-04-08", "2026-04-08", handover=True)
    assert _issues(data) == set()
    plan = load_plan(data)
    assert [c.id for c in coordinators_on(plan, dt.date(2026, 4, 8))] == [
        "koord-sykehus",
        "koord-kommune",
    ]
    assert [c.id for c in coordinators_on(plan, dt.date(2026, 4, 9))] == ["koord-kommune"]


def test_adjacent_assignments_need_no_handover() -> None:
    assert _issues(_stroke_with("2026-04-07", "2026-04-08", handover=False)) == set()


def test_gap_of_one_day_is_refused_in_an_active_plan() -> None:
    data = _stroke_with("2026-04-07", "2026-04-09", handover=False)
    with pytest.raises(PlanRuleViolation) as caught:
        load_plan(data)
    [issue] = caught.value.issues
    assert (issue.message_id, issue.expression) == ("IP-1012", ("coordinators",))
    assert "2026-04-08" in issue.text


def test_gap_is_not_checked_when_the_plan_is_not_active() -> None:
    data = _stroke_with("2026-04-07", "2026-04-09", handover=False)
    data["status"] = "on-hold"
    assert _issues(data) == set()


@pytest.mark.parametrize(("end", "accepted"), [("2027-03-31", True), ("2027-03-30", False)])
def test_last_coordinator_must_reach_the_plan_end(end: str, accepted: bool) -> None:
    data = _plan("stroke-handover")
    data["coordinators"][1]["period"]["end"] = end
    assert _issues(data) == (set() if accepted else {("IP-1012", "coordinators")})


def test_handover_declared_by_the_older_assignment_does_not_count() -> None:
    data = _plan("stroke-handover")
    data["coordinators"][1].pop("handover_from")
    data["coordinators"][0]["handover_from"] = "koord-kommune"
    assert _issues(data) == {("IP-1010", "coordinators[1].period")}


@pytest.mark.parametrize(("start", "accepted"), [("2036-05-13", True), ("2036-05-14", False)])
def test_barnekoordinator_starts_before_the_eighteenth_birthday(start: str, accepted: bool) -> None:
    data = _plan("child-barnekoordinator")
    data["coordinators"][0]["period"]["start"] = start
    data["status"] = "on-hold"  # keep the gap rule out of the way
    assert _issues(data) == (set() if accepted else {("IP-1013", "coordinators[0].kind")})


def test_barnekoordinator_belongs_to_the_municipality() -> None:
    data = _plan("child-barnekoordinator")
    data["coordinators"][0]["service_level"] = "spesialisthelsetjeneste"
    assert _issues(data) == {("IP-1013", "coordinators[0].service_level")}


def test_handover_from_unknown_assignment_is_an_unknown_reference() -> None:
    data = _plan("stroke-handover")
    data["coordinators"][1]["handover_from"] = "koord-finnes-ikke"
    data["coordinators"][0]["period"]["end"] = "2026-04-07"  # no overlap: only the reference
    assert ("IP-1002", "coordinators[1].handover_from") in _issues(data)


def test_duplicate_resource_id_is_reported_at_the_resource() -> None:
    data = _plan("child-barnekoordinator")
    data["resources"][1]["id"] = data["needs"][0]["id"]
    assert _issues(data) == {("IP-1001", "resources[1].id")}


@pytest.mark.parametrize(
    ("plan_end", "expected"),
    [("2036-05-13", set()), ("2036-05-14", {("IP-1013", "coordinators[0].kind")})],
)
def test_open_barnekoordinator_must_not_outlast_childhood(
    plan_end: str, expected: set[tuple[str, str]]
) -> None:
    data = _plan("child-barnekoordinator")  # born 2018-05-14, barnekoordinator without an end
    assert data["person"]["birth_date"] == "2018-05-14"
    assert "end" not in data["coordinators"][0]["period"]
    data["period"]["end"] = plan_end
    data["plan_consent"]["period"]["end"] = plan_end  # the consent lasts as the plan (IP-1042)
    assert _issues(data) == expected


LAPSE = {
    "period": {"start": "2026-01-01"},
    "assessed_by": "helsesykepleier",
    "description": "Alvorlig kognitiv svikt etter hjerneskade; forstår ikke samtykket.",
}


@pytest.mark.parametrize(
    ("givers", "expected"),
    [
        (MOTHER, set()),  # 16-17 and without capacity: the parents consent
        (SELF, {("IP-1024", "plan_consent.given_by[0]"), ("IP-1024", "plan_consent.given_by")}),
    ],
)
def test_parents_consent_for_a_sixteen_year_old_who_lost_capacity(
    givers: list[dict[str, str]], expected: set[tuple[str, str]]
) -> None:
    data = _with_consent("sixteen-alone", "2026-06-01", givers)
    data["plan_consent"]["capacity_lapse"] = LAPSE
    assert _issues(data) == expected


def test_parents_do_not_consent_for_an_adult_who_lost_capacity() -> None:
    data = _with_consent("sixteen-alone", "2028-06-01", MOTHER)  # Ingrid is 18
    data["plan_consent"]["capacity_lapse"] = LAPSE
    assert ("IP-1024", "plan_consent.given_by") in _issues(data)


def test_a_need_no_measure_meets_is_unmet() -> None:
    from ipfhir.mappings.link_rules import unmet_needs

    data = _plan("rus-psykisk-helse")
    assert unmet_needs(load_plan(data)) == []
    data["measures"][2]["needs"] = []  # the qualification programme no longer says what it meets
    assert unmet_needs(load_plan(data)) == ["n-okonomi", "n-arbeid"]
    data["measures"][0]["status"] = "stopped"
    assert unmet_needs(load_plan(data)) == ["n-lar", "n-okonomi", "n-arbeid"]


# --- the re-check at 18 (IP-1045): checked on a fixed day the test gives, never today -------


def _open_parents_consent() -> dict[str, Any]:
    data = _plan("child-barnekoordinator")  # Sofie, born 2018-05-14; her parents consented
    data["plan_consent"]["period"].pop("end")
    return data


@pytest.mark.parametrize(
    ("on", "found"),
    [
        ("2036-05-13", set()),
        ("2036-05-14", {("IP-1045", "plan_consent.given_by")}),
        ("2041-01-01", {("IP-1045", "plan_consent.given_by")}),
    ],
)
def test_a_parents_consent_is_rechecked_on_the_eighteenth_birthday(
    on: str, found: set[tuple[str, str]]
) -> None:
    assert _issues(_open_parents_consent(), dt.date.fromisoformat(on)) == found


def test_the_recheck_runs_only_on_a_day_the_caller_gives() -> None:
    assert _issues(_open_parents_consent()) == set()


def test_a_consent_the_young_person_gave_too_needs_no_recheck() -> None:
    data = _plan("sixteen-alone")  # Ingrid consented herself at 16
    data["plan_consent"]["period"].pop("end", None)
    data["plan_consent"]["given_by"].append({"party": "mor", "capacity": "parent"})
    assert _issues(data, dt.date(2040, 1, 1)) - {("IP-1042", "plan_consent.period.end")} == set()


def test_a_parents_consent_that_ended_is_history_not_rechecked() -> None:
    data = _plan("child-barnekoordinator")  # the consent ends 2027-01-31
    assert _issues(data, dt.date(2036, 5, 14)) == set()


@pytest.mark.parametrize(
    ("on", "found"),
    [("2036-05-13", set()), ("2036-05-14", {("IP-1045", "coordinators[0].period")})],
)
def test_an_open_barnekoordinator_is_rechecked_at_eighteen(
    on: str, found: set[tuple[str, str]]
) -> None:
    data = _plan("child-barnekoordinator")
    data["period"].pop("end")
    data["plan_consent"]["period"].pop("end")  # the parents' consent: re-checked as well
    got = _issues(data, dt.date.fromisoformat(on))
    assert got - {("IP-1045", "plan_consent.given_by")} == found
