"""The handover marks of a plan moving to another municipality (``ipfhir transfer``): one
statement of the fact the store (which refuses writes to a marked resource) and the exchange
(which sets the marks) both depend on.

A mark is a ``meta.tag`` of CodeSystem ``ip-exchange``:

- ``handover-pending``: the plan's snapshot has left for the new municipality, which has not
  yet confirmed that it stored it; the plan is still the person's active plan, but nothing in it
  may change (a change now would not reach the new plan);
- ``handed-over``: the new municipality holds the person's active plan; this one is its
  completed predecessor (linked by Provenance), kept for the record and never written again.

Only the exchange sets, replaces or removes a mark (``Writer(..., handover=True)``); a marked
resource is read-only for everyone else and a client can never set one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from ipfhir.mappings.codes import EXCHANGE, cs_url

__all__ = ["HANDOVER_STATES", "HANDOVER_SYSTEM", "HandoverState", "handover_state", "marked"]

HandoverState = Literal["handover-pending", "handed-over"]
HANDOVER_STATES: Final[tuple[HandoverState, ...]] = ("handover-pending", "handed-over")
HANDOVER_SYSTEM: Final = cs_url("ip-exchange")


def handover_state(resource: Mapping[str, Any] | None) -> HandoverState | None:
    """The handover mark ``resource`` carries, if any."""
    meta = (resource or {}).get("meta")
    tags = meta.get("tag") if isinstance(meta, Mapping) else None
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, Mapping) and tag.get("system") == HANDOVER_SYSTEM:
            for state in HANDOVER_STATES:
                if tag.get("code") == state:
                    return state
    return None


def marked(resource: Mapping[str, Any], state: HandoverState | None) -> dict[str, Any]:
    """A copy of ``resource`` carrying the mark ``state`` (``None``: no mark), other tags kept."""
    meta = dict(resource.get("meta") or {})
    tags = [
        t
        for t in meta.get("tag") or []
        if not (isinstance(t, Mapping) and t.get("system") == HANDOVER_SYSTEM)
    ]
    if state is not None:
        tags.append({"system": HANDOVER_SYSTEM, "code": state, "display": EXCHANGE[state]})
    meta = {k: v for k, v in meta.items() if k not in ("tag", "versionId", "lastUpdated")}
    if tags:
        meta["tag"] = tags
    copy = {k: v for k, v in resource.items() if k != "meta"}
    return {**copy, "meta": meta} if meta else copy
