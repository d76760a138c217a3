"""Who sees a notification waiting in a coordinating unit's inbox (and a plan transfer request,
``ip-exchange#ip-transfer``, which waits there the same way).

A notification (a Task coded ``ip-exchange#ip-notification``, status ``requested``) is a
request addressed to one organisation's coordinating unit (``Task.owner``, by organisasjonsnummer):
until that unit acts on it (the status changes), its words are the sender's, not the plan's.

- A practitioner the notification names as refused by the person (``ip-refused-individual``,
  by HPR number: the sender's Consent refused them outright) never sees it, whatever token.
- The addressee's coordinating unit (the token's organisation is the ``Task.owner``
  organisation, with the :data:`~adapter.consent.policy.OWNER_ROLE` role) sees it — also where
  no plan exists yet for the person (a new person's first notification).
- A notification another organisation sent (its ``requester`` is not an organisation that owns
  the person's plan) is shown to nobody else: not the plan's holders, not its recipients —
  a party the person refused cannot put anything in front of the plan's recipients by sending
  a notification about the person.
- A notification the plan's owner sent (``requester`` among the plan's owners) is the plan's
  own work and judged like any other Task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ipfhir.mappings.codes import cs_url, ext_url
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM

__all__ = ["inbox_verdict", "refused_in", "waiting_notification"]

_EXCHANGE = cs_url("ip-exchange")
_REFUSED = ext_url("ip-refused-individual")  # adapter/sync/refusals.py
_NOTIFICATION = "ip-notification"
_WAITING = frozenset({_NOTIFICATION, "ip-transfer"})  # a plan transfer request waits the same way


def _orgnr(reference: Any) -> str | None:
    ident = reference.get("identifier") if isinstance(reference, Mapping) else None
    if isinstance(ident, Mapping) and ident.get("system") == ORGNR_SYSTEM:
        value = ident.get("value")
        return value if isinstance(value, str) else None
    return None


def waiting_notification(resource: Mapping[str, Any]) -> tuple[str | None, str | None] | None:
    """(owner orgnr, requester orgnr) of a notification still waiting (status ``requested``);
    ``None`` for any other resource."""
    if resource.get("resourceType") != "Task" or resource.get("status") != "requested":
        return None
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, Mapping) else None
    if not any(
        isinstance(c, Mapping) and c.get("system") == _EXCHANGE and c.get("code") in _WAITING
        for c in (codings if isinstance(codings, list) else ())
    ):
        return None
    return _orgnr(resource.get("owner")), _orgnr(resource.get("requester"))


def refused_in(resource: Mapping[str, Any]) -> frozenset[str]:
    """HPR numbers a notification names as refused by the person (``ip-refused-individual``)."""
    found = set()
    for ext in resource.get("extension") or ():
        if isinstance(ext, Mapping) and ext.get("url") == _REFUSED:
            ident = ext.get("valueIdentifier")
            if isinstance(ident, Mapping) and ident.get("system") == HPR_SYSTEM:
                found.add(str(ident.get("value")))
    return frozenset(found)


def inbox_verdict(
    resource: Mapping[str, Any],
    organisation: str | None,
    addressee_role: bool,
    plan_owners: set[str],
    practitioner: str | None = None,
) -> Literal["addressee", "hidden"] | None:
    """``addressee``: shown to this actor (its coordinating unit is the Task's owner);
    ``hidden``: shown to nobody else — nor to a practitioner the notification names as
    refused by the person; ``None``: not an inbox notification from another organisation
    (the plan's rules decide)."""
    waiting = waiting_notification(resource)
    if waiting is None:
        return None
    owner, requester = waiting
    if practitioner is not None and practitioner in refused_in(resource):
        return "hidden"
    if organisation is not None and organisation == owner and addressee_role:
        return "addressee"
    if requester is None or requester not in plan_owners:
        return "hidden"
    return None
