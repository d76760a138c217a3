"""The exchange's Tasks are the exchange's: a write through the API (the consent-enforcing
repositories, :class:`~adapter.consent.operation.Enforcement` ``write_rules``, wired by
bootstrap) that would create, change or delete one is refused, 409 IP-6117 — like the handover
marks (IP-4491), which the plan transfer alone sets.

What the exchange trusts as its own record is what it finds by identifier
(``urn:ietf:rfc:3986``, :data:`~adapter.sync.inbox.TASK_IDENTIFIER_SYSTEM`: the transfer's
settling and answers, a notification's answer, a revocation's search) or by code (settling
reads every ``ip-transfer`` Task). A Task the API wrote there would be taken for the exchange's
own: a forged overdue transfer Task unlocks the plan being handed over, a real one set
``failed`` stalls the handover. So a Task is the exchange's when it (the stored version or the
new one) carries

- an identifier in the exchange's system, whatever its code; or
- the ``ip-exchange`` code ``ip-transfer``, ``ip-transfer-query`` or ``ip-revocation`` (no
  client use for any of them).

An ``ip-notification`` Task without such an identifier is not the exchange's: a coordinating
unit may keep a notice taken by telephone in its own inbox (adapter/consent/writes.py, IP-5113
for anyone else's inbox). The rule sees the stored version only when the caller may see it: a
hidden Task is answered as a missing one before this rule runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ipfhir.adapter.directory.model import as_dict, dicts
from ipfhir.adapter.errors import Conflict
from ipfhir.adapter.sync.inbox import TASK_IDENTIFIER_SYSTEM
from ipfhir.adapter.sync.messages import issue_sync
from ipfhir.adapter.sync.messaging import (
    EXCHANGE_SYSTEM,
    REVOCATION,
    TRANSFER,
    TRANSFER_QUERY,
)

__all__ = ["EXCHANGE_ONLY_CODES", "exchange_only", "exchange_owned"]

EXCHANGE_ONLY_CODES = frozenset({TRANSFER, TRANSFER_QUERY, REVOCATION})


def exchange_owned(resource: Mapping[str, Any] | None) -> str | None:
    """The FHIRPath that makes ``resource`` one of the exchange's Tasks, or ``None``."""
    if resource is None or resource.get("resourceType") != "Task":
        return None
    if any(i.get("system") == TASK_IDENTIFIER_SYSTEM for i in dicts(resource.get("identifier"))):
        return "Task.identifier"
    codes = dicts(as_dict(resource.get("code")).get("coding"))
    if any(
        c.get("system") == EXCHANGE_SYSTEM and c.get("code") in EXCHANGE_ONLY_CODES for c in codes
    ):
        return "Task.code"
    return None


def exchange_only(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
    """Refuse (409 IP-6117) a client's write whose stored version ``old`` or new version
    ``new`` is one of the exchange's Tasks."""
    for version in (old, new):
        where = exchange_owned(version)
        if where is not None:
            raise Conflict([issue_sync("IP-6117", where, "business-rule")])
