"""``_history`` as a store without the hidden versions would answer it: every version judged
with the current consent and the newest labels (a label added later hides earlier versions
too), pages filled to ``_count`` from the versions the caller may see, a next page only when
one more visible version exists (docs/threat-model.md: totals, page sizes, links).

The store's pages are read one after another, each asking for what is still missing, so that
every row of a page read is either shown or hidden and the store's next token after it is
exactly where the following page starts; once the page is full, further store pages are read
only until one visible version proves a next page (or none is left). No previous link: a
backwards store page would have to be refilled backwards, and FHIR paging does not need it.
"""

from __future__ import annotations

from dataclasses import replace

from ipfhir.adapter.consent.operation import Operation
from ipfhir.adapter.consent.versions import newest_of, with_newest_labels
from ipfhir.adapter.ports import HistoryEntry, HistoryPage, ResourceRepository

__all__ = ["visible_history"]


def visible_history(
    op: Operation,
    inner: ResourceRepository,
    rtype: str,
    rid: str | None,
    count: int,
    since: str | None,
    cursor: str | None,
) -> HistoryPage:
    """One page of ``count`` visible versions (fewer only on the last page)."""
    shown: list[HistoryEntry] = []
    token, resume = cursor, None
    while True:
        full = len(shown) >= count
        page = inner.history(
            rtype, rid, count=count if full else count - len(shown), since=since, cursor=token
        )
        kept = _seen(op, inner, rtype, page.entries)
        if full and kept:
            return HistoryPage(shown, None, resume, None)
        if not full:
            shown += kept
            resume = page.next_cursor
        if page.next_cursor is None or not page.entries:
            return HistoryPage(shown, None, None, None)
        token = page.next_cursor


def _seen(
    op: Operation, inner: ResourceRepository, rtype: str, entries: list[HistoryEntry]
) -> list[HistoryEntry]:
    """The ``entries`` the caller may see, as it may see them."""
    latest = newest_of(inner, rtype, {e.resource_id for e in entries})
    op.prepare([*(e.resource for e in entries), *latest.values()])
    out = []
    for entry in entries:
        last = latest.get(entry.resource_id)
        if last is None:
            continue
        if op.see(last, record=False).resource is None:
            op.see(last)  # hidden now: none of its versions is shown (refusal audited)
            continue
        if entry.resource is None:
            out.append(entry)
            continue
        decision = op.see(with_newest_labels(entry.resource, last))
        if decision.resource is not None:
            kept = entry.resource if decision.effect == "permit" else decision.resource
            out.append(replace(entry, resource=kept))
    return out
