"""A bounded, in-process cache of persons' plan contexts, valid only while the store's change
stamps say nothing they depend on has changed.

What a cached context holds about one person (:class:`~adapter.consent.context.PlanContext`:
the Patient, CarePlans, CareTeams, Consents, relatives, and directory resources) changes only
through a write of one of those: a resource of ``CONTEXT_TYPES`` tied to that person, or a
directory resource (Organization, Practitioner, PractitionerRole, ...). The store bumps a change
stamp for ``Patient/id`` or for the directory (``"*"``) in the same transaction as every such
write
(:class:`adapter.ports.ChangeStamps`). So an entry is kept with the stamps read **before** its
context was loaded, and handed out again only when one query for ``stamps([patient, "*"])`` —
made on every request — answers the same. A revocation committed by any process is therefore
seen on the next request everywhere; data loaded after the stamps can only be newer than them,
never older.

A context that holds a resource whose changes the stamps of the person and the directory do
not cover (e.g. another person's RelatedPerson named as a party) is not cached. Goals (fetched
when a CarePlan is judged) are left out of what is stored: a Goal write bumps no stamp, so every
operation that judges a CarePlan fetches the Goals it names afresh. The Access of an
actor on a context (its applicable provisions, the verdicts per topic) is remembered with the
entry, per actor and day. Entries are evicted least recently used first; ``size=0`` switches the
cache off. Thread-safe: one lock around the entry table; entries are never changed after they
are stored, only replaced (contexts and Accesses are treated as immutable by every reader).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ipfhir.adapter.consent.context import DIRECTORY_TYPES, PlanContext, patient_of
from ipfhir.adapter.consent.policy import Access
from ipfhir.adapter.fhir.person_ties import CONTEXT_TYPES
from ipfhir.adapter.ports import Actor

__all__ = ["DEFAULT_SIZE", "CacheEntry", "ContextCache", "Stamps", "cacheable", "stamped_part"]

DEFAULT_SIZE = 512  # persons; a context is some tens of resources
_ACCESSES = 64  # remembered (actor, day) Accesses per entry
Stamps = tuple[int, int]  # (the person's stamp, the directory's stamp)


def cacheable(ctx: PlanContext) -> bool:
    """Every resource in ``ctx`` is directory data or the person's own of a type whose writes
    bump the person's stamp (``CONTEXT_TYPES``): covered by stamps."""
    for res in ctx.resources.values():
        rtype, owner = res.get("resourceType"), patient_of(res)
        if owner is None and rtype not in DIRECTORY_TYPES:
            return False
        if owner is not None and (owner != ctx.patient or rtype not in CONTEXT_TYPES):
            return False
    return True


def stamped_part(ctx: PlanContext) -> PlanContext:
    """``ctx`` without the resources whose writes bump no stamp (the Goals of a judged
    CarePlan): what may be kept across operations."""
    kept = {
        ref: res
        for ref, res in ctx.resources.items()
        if res.get("resourceType") in CONTEXT_TYPES or res.get("resourceType") in DIRECTORY_TYPES
    }
    return ctx if len(kept) == len(ctx.resources) else PlanContext(ctx.patient, kept)


@dataclass
class CacheEntry:
    """One person's context as loaded after ``stamps`` were read, and Accesses computed on it."""

    stamps: Stamps
    context: PlanContext
    accesses: dict[tuple[Actor, str], Access] = field(default_factory=dict)

    def access(self, actor: Actor, today: str, compute: Callable[[], Access]) -> Access:
        key = (actor, today)
        found = self.accesses.get(key)
        if found is None:
            if len(self.accesses) >= _ACCESSES:
                self.accesses.clear()
            found = self.accesses[key] = compute()
        return found


class ContextCache:
    """LRU of :class:`CacheEntry` by ``Patient/id``; counts hits and misses."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 0:
            raise ValueError("size must be 0 (off) or more")
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, patient: str, stamps: Stamps) -> CacheEntry | None:
        """The entry for ``patient`` if it was stored under exactly ``stamps``."""
        with self._lock:
            entry = self._entries.get(patient)
            if entry is None or entry.stamps != stamps:
                self.misses += 1
                return None
            self._entries.move_to_end(patient)
            self.hits += 1
            return entry

    def put(self, stamps: Stamps, context: PlanContext) -> CacheEntry:
        """An entry for the :func:`stamped_part` of ``context`` (loaded after ``stamps`` were
        read), stored when the cache is on and that is :func:`cacheable`; returned either way."""
        entry = CacheEntry(stamps, stamped_part(context))
        context = entry.context
        if self.size == 0 or not cacheable(context):
            return entry
        with self._lock:
            self._entries[context.patient] = entry
            self._entries.move_to_end(context.patient)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def evict(self, patients: list[str]) -> None:
        with self._lock:
            for patient in patients:
                self._entries.pop(patient, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
