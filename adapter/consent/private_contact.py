"""A practitioner's private contact: what the directory does not disclose (docs/threat-model.md).

Practitioner is directory data every caller with the scope may read
(:mod:`adapter.consent.policy`), but a Practitioner is a person: what it carries beside the work
contact is that person's own. Work contact lives on the PractitionerRole (and its Location);
on the Practitioner only ``telecom`` with ``use`` ``work`` or no ``use`` is work contact.
Every other telecom (``home``, ``mobile`` — a phone that stays with its owner, ``temp``,
``old``) and every ``address`` (FHIR: "typically home address") is private: shown to the
practitioner itself only (a token with its HPR number), removed from every other read, search,
``_include``, history or notification (the element gone, ``meta.security`` REDACTED).

Someone who was shown the Practitioner without them and writes it back must not erase what
they were never shown: an update by anyone but the practitioner keeps the stored private
elements (and adds those it sends).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ipfhir.adapter.consent.context import identifier_values
from ipfhir.adapter.consent.redact import Removal, strip_list
from ipfhir.adapter.ports import Actor
from ipfhir.mappings.identifiers import HPR_SYSTEM

__all__ = ["is_work_telecom", "keep_private", "shown_to_self", "strip_private"]

Resource = dict[str, Any]
_WORK_USES = (None, "work")
_WHY = "a practitioner's private contact is shown to the practitioner only"


def is_work_telecom(telecom: Mapping[str, Any]) -> bool:
    return telecom.get("use") in _WORK_USES


def shown_to_self(actor: Actor, practitioner: Mapping[str, Any]) -> bool:
    return bool(actor.practitioner) and actor.practitioner in identifier_values(
        practitioner, HPR_SYSTEM
    )


def strip_private(practitioner: Resource) -> tuple[Resource, list[Removal]]:
    """``practitioner`` without private telecom and address; the original is never changed."""
    out = dict(practitioner)
    removed = strip_list(out, "telecom", lambda t, _p: None if is_work_telecom(t) else _WHY)
    removed += strip_list(out, "address", lambda _a, _p: _WHY)
    return (out, removed) if removed else (practitioner, removed)


def keep_private(stored: Resource, new: Resource) -> Resource:
    """``new`` with the private telecom and address of ``stored`` it lacks added back."""
    if stored.get("resourceType") != "Practitioner" or new.get("resourceType") != "Practitioner":
        return new
    out = copy.deepcopy(new)
    for key, private in (
        ("telecom", [t for t in stored.get("telecom") or [] if not is_work_telecom(t)]),
        ("address", list(stored.get("address") or [])),
    ):
        have = list(out.get(key) or [])
        missing = [e for e in private if e not in have]
        if missing:
            out[key] = have + missing
    return out
