"""Whose data a resource is (``consent.context.patient_of``) and whose cached consent context its
write invalidates (``store.stamps.ties``) read one statement (``adapter.fhir.person_ties``) and
one reference parser (``adapter.fhir.references``); on every resource type the stamps a write
bumps cover the person the consent context finds. Were they to drift, a revoked Consent could
stay in a cached context after the write that revoked it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipfhir.adapter.consent import context, loader
from ipfhir.adapter.consent.cache import cacheable
from ipfhir.adapter.consent.context import PERSON_TYPES, PlanContext, patient_of
from ipfhir.adapter.fhir import person_ties
from ipfhir.adapter.fhir.person_ties import (
    CONTEXT_TYPES,
    DIRECTORY_KEY,
    DIRECTORY_TYPES,
    PERSON_FIELDS,
    PERSON_LIST_FIELDS,
)
from ipfhir.adapter.fhir.plan_rules import active_plan_subject
from ipfhir.adapter.fhir.references import patient_key, split_reference
from ipfhir.adapter.fhir.search_params import RESOURCE_TYPES
from ipfhir.adapter.store import stamps
from ipfhir.adapter.store.stamps import ties

# Every type the server serves, the directory and the person types, and one it does not serve.
ALL_TYPES = sorted({*RESOURCE_TYPES} | DIRECTORY_TYPES | PERSON_TYPES | {"Coverage"})
# Written by the server only and held by no plan context: its write bumps no stamp (documented
# in adapter.fhir.person_ties), though patient_of reads its person for the read decision.
SERVER_WRITTEN = {"AuditEvent"}
IDS = st.text("abcøæå-ÁŊ019.", min_size=0, max_size=8)
REFERENCES = st.one_of(
    IDS.map(lambda i: f"Patient/{i}"),
    st.tuples(IDS, st.integers(1, 9)).map(lambda t: f"Patient/{t[0]}/_history/{t[1]}"),
    IDS.map(lambda i: f"https://x.no/fhir/Patient/{i}"),
    IDS.map(lambda i: f"Patient/{i}/extra"),
    IDS.map(lambda i: f"Patient/{i}/"),
    st.sampled_from(["Group/1", "Goal/ip1-g1", "Patient", "", "#contained", "Patient//x"]),
    IDS,
)


def _agree(resource: dict[str, Any]) -> None:
    """A write of a type a cached context holds bumps the person the context finds; any other
    person's resource is a type the cache refuses to keep (its write bumps nothing)."""
    rtype = resource["resourceType"]
    person = patient_of(resource)
    bumped = ties(rtype, str(resource.get("id")), resource)
    if person is not None and rtype in DIRECTORY_TYPES:
        assert bumped == {DIRECTORY_KEY}, (resource, person, bumped)
    elif person is not None and rtype in CONTEXT_TYPES:
        assert person in bumped, (resource, person, bumped)
    elif person is not None:
        assert bumped == set(), (resource, person, bumped)
        assert not cacheable(PlanContext(person, {f"{rtype}/x": resource}))
    if person is not None:
        assert patient_key(person) == person  # only ever a well-formed Patient/id


def test_one_statement_of_the_directory() -> None:
    assert context.DIRECTORY_TYPES is stamps.DIRECTORY_TYPES is person_ties.DIRECTORY_TYPES
    assert stamps.PERSON_FIELDS is person_ties.PERSON_FIELDS
    assert stamps.CONTEXT_TYPES is person_ties.CONTEXT_TYPES


def test_the_loader_finds_only_types_whose_writes_bump() -> None:
    """What the loader searches by the person and takes as parties is of a stamped type, so
    no cached context holds a resource whose write would not invalidate it."""
    searched = {rtype for rtype, _ in loader._BY_PATIENT}
    assert searched | {"Patient", "RelatedPerson"} <= CONTEXT_TYPES
    assert context.PARTY_TYPES <= CONTEXT_TYPES | DIRECTORY_TYPES


@pytest.mark.parametrize("rtype", ALL_TYPES)
@pytest.mark.parametrize("field", [*PERSON_FIELDS, "target", "focus"])
def test_every_type_and_field_agree(rtype: str, field: str) -> None:
    for ref in ("Patient/ip1-pt", "Patient/ip1-pt/_history/3", "https://x.no/fhir/Patient/ip1"):
        value: Any = {"reference": ref}
        if field in PERSON_LIST_FIELDS.get(rtype, ()):
            value = [{"reference": "Goal/ip1-g1"}, value]
        _agree({"resourceType": rtype, "id": "x", field: value})


@given(
    rtype=st.sampled_from(ALL_TYPES),
    fields=st.dictionaries(
        st.sampled_from([*PERSON_FIELDS, "target", "entity"]),
        st.lists(REFERENCES, min_size=1, max_size=3),
        max_size=3,
    ),
    as_list=st.booleans(),
)
def test_patient_of_and_the_stamps_agree_on_any_references(
    rtype: str, fields: dict[str, list[str]], as_list: bool
) -> None:
    resource: dict[str, Any] = {"resourceType": rtype, "id": "x"}
    for name, refs in fields.items():
        if name == "entity":
            resource[name] = [{"what": {"reference": r}} for r in refs]
        elif as_list or name == "target":
            resource[name] = [{"reference": r} for r in refs]
        else:
            resource[name] = {"reference": refs[0]}
    _agree(resource)


@pytest.mark.parametrize(
    ("reference", "parts", "key"),
    [
        ("Patient/7", ("Patient", "7"), "Patient/7"),
        ("Patient/7/_history/2", ("Patient", "7"), "Patient/7"),
        ("https://x.no/fhir/Patient/7", ("Patient", "7"), "Patient/7"),
        ("https://x.no/fhir/Patient/7/_history/2", ("Patient", "7"), "Patient/7"),
        ("Patient/7/extra", ("7", "extra"), None),  # not a reference to a Patient
        ("Patient/", ("Patient", ""), None),
        ("Goal/g1", ("Goal", "g1"), None),
        ("7", (None, "7"), None),
    ],
)
def test_one_reference_parser(
    reference: str, parts: tuple[str | None, str], key: str | None
) -> None:
    assert split_reference(reference) == parts
    assert patient_key(reference) == key
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "category": [{"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "A02-2"}]}],
        "subject": {"reference": reference},
    }
    assert active_plan_subject(plan) == (key.removeprefix("Patient/") if key else None)
    if reference.startswith("Patient/"):
        assert patient_of({"resourceType": "Goal", "subject": {"reference": reference}}) == key
