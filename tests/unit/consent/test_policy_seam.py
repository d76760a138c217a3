"""The policy is pluggable, the mechanism is not: the enforcement point takes its decision from a
:class:`~adapter.ports.DisclosurePolicy` (the server's is :class:`ConsentRules`), and whatever
the policy, every read is still scope-checked and audited. A permit-all policy
(tests/permit_all.py) shows it: an outsider then sees the plan, and the audit names the read."""

from __future__ import annotations

import typing

import pytest

from ipfhir.adapter.audit import InMemoryAuditSink, InMemoryLedger
from ipfhir.adapter.consent.context import PlanContext
from ipfhir.adapter.consent.enforce import ConsentRepositoryFactory
from ipfhir.adapter.consent.operation import Enforcement
from ipfhir.adapter.consent.policy import Access, ConsentRules, Decision
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor, DisclosurePolicy
from ipfhir.adapter.security_errors import Forbidden
from tests.permit_all import PermitAllPolicy
from tests.unit.consent.conftest import ORGNR, World, make_world, standard_spec
from tests.unit.consent.fakes import FixedClock

PT = "Patient/ip1-pt"


def _permit_all(world: World, enforce_scopes: bool = False) -> ConsentRepositoryFactory:
    enforcement = Enforcement(
        world.repo,
        world.audit,
        world.ledger,
        FixedClock(),
        enforce_scopes=enforce_scopes,
        policy=PermitAllPolicy(),
    )
    return ConsentRepositoryFactory(enforcement)


def test_the_seam_is_a_typed_policy_and_the_default_is_the_consent_rules() -> None:
    hint = typing.get_type_hints(Enforcement)["policy"]
    assert typing.get_origin(hint) is DisclosurePolicy
    assert typing.get_args(hint) == (PlanContext, Access, Decision)
    repo = make_world(standard_spec()).repo
    enforcement = Enforcement(repo, InMemoryAuditSink(), InMemoryLedger(), FixedClock())
    assert isinstance(enforcement.policy, ConsentRules)


def test_the_consent_rules_hide_the_plan_from_an_outsider() -> None:
    world = make_world(standard_spec())
    with pytest.raises(NotFound):
        world.as_org("annen").read("Patient", "ip1-pt")


def test_a_permit_all_policy_decides_but_the_mechanism_still_audits() -> None:
    world = make_world(standard_spec())
    outsider = _permit_all(world).repository_for(Actor(organisation=ORGNR["annen"]))
    goal = outsider.read("Goal", "ip1-g2")  # «rus», refused by the person under the real rules
    assert goal["id"] == "ip1-g2" and "meta" in goal
    [event] = world.audit.events
    assert (
        event["outcome"] == "0"
        and event["agent"][0]["who"]["identifier"]["value"] == (ORGNR["annen"])
    )
    assert [e["what"]["reference"] for e in event["entity"]][0] == PT


def test_a_permit_all_policy_does_not_lift_the_token_scopes() -> None:
    world = make_world(standard_spec())
    reader = Actor(organisation=ORGNR["annen"], scopes=("system/Goal.rs",))
    repo = _permit_all(world, enforce_scopes=True).repository_for(reader)
    assert repo.read("Goal", "ip1-g1")["id"] == "ip1-g1"
    with pytest.raises(Forbidden) as refused:
        repo.read("Patient", "ip1-pt")
    assert refused.value.issues[0].message_id == "IP-5003"
