"""Ports: the Protocols the FHIR server is built on, and the value types that cross them.

Every route obtains a :class:`ResourceRepository` through :class:`RepositoryFactory`
(``repository_for(actor)``) and never touches the store directly. That makes the repository the
one place every disclosure passes through: a consent-enforcing wrapper (``adapter/consent``) can
implement the same Protocol around the store's repository and filter or redact every read, search
page, include, history page, ``$everything`` and transaction response, and decide which totals a
caller may see.

Resources cross this boundary as plain FHIR R4 JSON dicts. ``meta.versionId`` and
``meta.lastUpdated`` of every returned resource are set by the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "Actor",
    "BulkReader",
    "ChangeStamps",
    "Clock",
    "HistoryEntry",
    "HistoryPage",
    "RepositoryFactory",
    "ResourceRepository",
    "SearchParam",
    "SearchQuery",
    "SearchResult",
    "Validator",
    "WriteOutcome",
]

Resource = dict[str, Any]


@dataclass(frozen=True)
class Actor:
    """Who is calling. Opaque to the store; authentication fills it in (placeholder for now)."""

    organisation: str | None = None
    practitioner: str | None = None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    purpose: str | None = None


@dataclass(frozen=True)
class SearchParam:
    """One search criterion: ``name[:modifier]=v1,v2`` (values OR-ed; several params AND-ed).

    ``chain`` holds the chained parameter of ``patient.identifier`` (``name="patient"``,
    ``chain="identifier"``). Values are kept as sent (prefixes like ``ge`` included).
    """

    name: str
    values: tuple[str, ...]
    modifier: str | None = None
    chain: str | None = None


@dataclass(frozen=True)
class SearchQuery:
    """A parsed type-level search. ``cursor`` is an opaque page token from a previous result."""

    resource_type: str
    params: tuple[SearchParam, ...] = ()
    count: int = 20
    sort: tuple[str, ...] = ()  # e.g. ("-_lastUpdated",); "-" means descending
    include: tuple[str, ...] = ()  # "CarePlan:care-team"
    revinclude: tuple[str, ...] = ()  # "Goal:plan" style "Type:param"
    summary_count: bool = False  # _summary=count: only the total is wanted
    cursor: str | None = None
    # Who the page tokens are for (the enforcement point: the caller and the search as asked);
    # a token made for one binding is refused under any other. A bound search also returns the
    # tokens of each row (``SearchResult.row_cursors``), so a page can be cut after any row.
    binding: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """One page of matches plus what ``_include``/``_revinclude`` brought along.

    ``total`` comes from the repository (``None`` = not disclosed); ``next_cursor`` and
    ``prev_cursor`` are opaque tokens for the neighbouring pages, ``None`` when there is none.
    For a bound query, ``row_cursors[i]`` holds the tokens of the page before and of the page
    after ``matches[i]``; ``backwards`` says the page was asked for with a "previous" token.
    """

    matches: list[Resource]
    includes: list[Resource] = field(default_factory=list)
    total: int | None = None
    next_cursor: str | None = None
    prev_cursor: str | None = None
    row_cursors: tuple[tuple[str, str], ...] = ()
    backwards: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """One version in a history: ``resource`` is ``None`` for a deletion."""

    resource_type: str
    resource_id: str
    version_id: str
    last_updated: str
    method: Literal["POST", "PUT", "DELETE"]
    resource: Resource | None


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    total: int | None = None
    next_cursor: str | None = None
    prev_cursor: str | None = None


@dataclass(frozen=True)
class WriteOutcome:
    """A stored resource (as stored, with meta) and whether the write created it."""

    resource: Resource
    created: bool


@runtime_checkable
class ResourceRepository(Protocol):
    """Everything the FHIR API does with resources. Raises ``mappings.errors.IpError`` subclasses
    (``adapter.errors.NotFound``, ``Gone``, ``PreconditionFailed``, ``Conflict``, ...).

    Optional methods (not part of this Protocol, so wrappers and fakes need not offer them;
    test with ``isinstance`` against the runtime-checkable Protocols below):

    - ``fetch(refs) -> list[Resource]`` (:class:`BulkReader`): current resources for many
      (type, id) pairs in one round per type. The SQL store has it.
    - ``stamps(patient_refs) -> dict[str, int]`` (:class:`ChangeStamps`): change stamps of
      persons and of the directory, for caching what a consent decision depends on. The SQL
      store has it.
    """

    def read(self, resource_type: str, resource_id: str) -> Resource: ...

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource: ...

    def history(
        self,
        resource_type: str,
        resource_id: str | None = None,
        *,
        count: int = 20,
        since: str | None = None,
        cursor: str | None = None,
    ) -> HistoryPage: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def create(self, resource: Resource) -> Resource: ...

    def conditional_create(self, resource: Resource, criteria: SearchQuery) -> WriteOutcome:
        """Create unless ``criteria`` matches exactly one resource (then return it, created=False);
        several matches raise ``PreconditionFailed``."""
        ...

    def update(
        self,
        resource_type: str,
        resource_id: str,
        resource: Resource,
        if_match: str | None = None,
        *,
        create_only: bool = False,
    ) -> WriteOutcome:
        """Update (or create with a client id). ``if_match`` is a versionId; stale → 412.
        ``create_only``: create or fail with 409 IP-4404 when a current version exists (a
        write authorised as a creation never becomes an update)."""
        ...

    def delete(self, resource_type: str, resource_id: str, if_match: str | None = None) -> None:
        """Delete where the domain allows it (never a plan); otherwise ``NotAllowed``."""
        ...

    def transaction(self, bundle: Resource) -> Resource:
        """Process a ``transaction`` (atomic: all or nothing) or ``batch`` Bundle; returns the
        response Bundle (``transaction-response`` / ``batch-response``)."""
        ...

    def everything(self, careplan_id: str) -> list[Resource]:
        """The whole plan: the CarePlan first, then everything it is made of."""
        ...


@runtime_checkable
class BulkReader(Protocol):
    """Optional on a repository: many current resources by reference at once."""

    def fetch(self, refs: Iterable[tuple[str, str]]) -> list[Resource]:
        """Current, non-deleted resources for (type, id) pairs, in input order; missing or
        deleted ones are left out (no error). Duplicates are read once."""
        ...


@runtime_checkable
class ChangeStamps(Protocol):
    """Optional on a repository: has anything a person's consent decision depends on changed?

    Keys are ``Patient/id`` (one per person) and ``"*"`` (the directory: Organization,
    Practitioner, PractitionerRole, Endpoint, HealthcareService, Location). A key's stamp
    changes in the same transaction as every create, update or delete (Bundle entries included)
    of the Patient itself, of a resource whose ``subject``/``patient``/``beneficiary`` refers to
    that Patient (before or after the write), or, for ``"*"``, of a directory resource. A
    rolled-back write changes nothing; every process using the same database sees a committed
    change on its next call. Compare stamps for equality only.
    """

    def stamps(self, patient_refs: Sequence[str]) -> dict[str, int]:
        """The stamp of every key asked for plus ``"*"``, in one indexed query; a key never
        written is 0."""
        ...


class RepositoryFactory(Protocol):
    """The seam every route goes through: one repository per caller."""

    def repository_for(self, actor: Actor) -> ResourceRepository: ...


class Validator(Protocol):
    """Profile validation: returns an OperationOutcome (JSON); errors mean "do not store"."""

    def __call__(self, resource: Resource, profile: str | None = None) -> Resource: ...


class Clock(Protocol):
    """Source of ``meta.lastUpdated`` (UTC instant, ISO 8601 with 'Z' or +00:00)."""

    def now_iso(self) -> str: ...
