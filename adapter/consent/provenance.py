"""A Provenance is one person's data: it belongs to the one Patient among its targets
(:func:`~adapter.consent.context.patient_of`, as the R4 Patient compartment has it), and every
other target must be a resource of that person — else its agents and activity would be
disclosed under one person's consent about another person's data."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.consent.context import patient_of, references_in
from ipfhir.adapter.consent.versions import newest
from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.ports import ResourceRepository

__all__ = ["check_targets"]


def check_targets(repo: ResourceRepository, resource: dict[str, Any]) -> None:
    """Raise IP-4140 for a target of a Provenance that is not its person's resource. Read from
    the store whatever the caller may see, and said alike for a target that does not exist, is
    hidden or is another person's. A Provenance of nobody is refused by ``check_write``."""
    person = patient_of(resource)
    if resource.get("resourceType") != "Provenance" or person is None:
        return
    for ref in dict.fromkeys(references_in(resource.get("target"))):
        rtype, _, rid = ref.partition("/")
        if rtype == "Patient":
            continue
        latest = newest(repo, rtype, rid) if rid else None
        if latest is None or patient_of(latest) != person:
            where = "Provenance.target"
            raise BadRequest([issue("IP-4140", where, "invalid", ref=ref, patient=person)])
