"""A notification waiting in an inbox: its addressee's coordinating unit only (pure rule)."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.consent.inbox import inbox_verdict, waiting_notification
from ipfhir.mappings.codes import cs_url
from ipfhir.mappings.identifiers import ORGNR_SYSTEM

OWNER, SENDER, OTHER = "974600951", "983974899", "889640782"


def _task(status: str = "requested", requester: str = SENDER) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "status": status,
        "code": {"coding": [{"system": cs_url("ip-exchange"), "code": "ip-notification"}]},
        "owner": {"identifier": {"system": ORGNR_SYSTEM, "value": OWNER}},
        "requester": {"identifier": {"system": ORGNR_SYSTEM, "value": requester}},
        "description": "Melding om behov for individuell plan – Guovdageaidnu, Bærum",
    }


def test_only_the_addressees_coordinating_unit_sees_a_received_notification() -> None:
    assert inbox_verdict(_task(), OWNER, True, set()) == "addressee"
    assert inbox_verdict(_task(), OWNER, True, {OWNER}) == "addressee"
    assert inbox_verdict(_task(), OWNER, False, {OWNER}) == "hidden"  # not the unit
    assert inbox_verdict(_task(), OTHER, True, {OTHER}) == "hidden"  # the plan's owner elsewhere
    assert inbox_verdict(_task(), SENDER, True, set()) == "hidden"  # nor the sender


def test_a_notification_the_plans_owner_sent_follows_the_plans_rules() -> None:
    assert inbox_verdict(_task(requester=OWNER), OTHER, True, {OWNER}) is None


def test_acted_on_or_other_tasks_follow_the_plans_rules() -> None:
    assert waiting_notification(_task("accepted")) is None
    assert inbox_verdict(_task("accepted"), OTHER, True, {OWNER}) is None
    plain = {**_task(), "code": {"coding": [{"system": cs_url("ip-exchange"), "code": "x"}]}}
    assert inbox_verdict(plain, OTHER, True, set()) is None
    assert waiting_notification({"resourceType": "Goal", "status": "requested"}) is None


def test_a_notification_without_a_requester_is_hidden() -> None:
    task = {k: v for k, v in _task().items() if k != "requester"}
    assert inbox_verdict(task, OTHER, True, {OWNER}) == "hidden"
