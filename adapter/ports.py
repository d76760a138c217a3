"""Ports: the Protocols the FHIR server is built on, and the value types that cross them — all of
them, in this one module (infrastructure implements them, the layers above depend on them only):

- resources: :class:`ResourceRepository` (with the optional :class:`BulkReader`,
  :class:`ContextReader`, :class:`ChangeStamps` and :class:`UnitOfWork`), handed out per caller
  by a :class:`SecureRepositoryFactory`; :class:`Validator`; :class:`Clock`;
- audit: :class:`AuditSink` (AuditEvents) and :class:`DisclosureLedger` (recipients to inform);
- consent: :class:`DisclosurePolicy`, the decision the enforcement point applies (the project's
  rules are ``adapter.consent.policy.ConsentRules``; tests of the mechanism may plug a
  permit-all one, tests/permit_all.py);
- sync: :class:`OutboxWriter` (a message queued on the write transaction of the change it
  announces), :class:`Outbox` (the delivery side), :class:`Transport` (one delivery attempt) and
  :class:`Directory` (organisations, endpoints and where a person's messages go; implemented by
  ``adapter.directory.SqlDirectory``);
- idempotent writes: :func:`request_key` (the HTTP layer names the request a write belongs to;
  the store keeps the write's outcome under it, ``adapter.store.idempotency``).

Every route obtains a :class:`ResourceRepository` through a :class:`SecureRepositoryFactory`
(``repository_for(actor)``) and never touches the store directly. That makes the repository the
one place every disclosure passes through: a consent-enforcing wrapper (``adapter/consent``) can
implement the same Protocol around the store's repository and filter or redact every read, search
page, include, history page, ``$everything`` and transaction response, and decide which totals a
caller may see.

Resources cross this boundary as plain FHIR R4 JSON dicts. ``meta.versionId`` and
``meta.lastUpdated`` of every returned resource are set by the store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, cast, runtime_checkable

from typing_extensions import TypeIs

__all__ = [
    "Actor",
    "AuditSink",
    "BulkReader",
    "ChangeStamps",
    "Clock",
    "ContextReader",
    "Directory",
    "DisclosureLedger",
    "DisclosurePolicy",
    "HistoryEntry",
    "HistoryPage",
    "REQUEST_KEY",
    "Outbox",
    "OutboxWriter",
    "PreCommitHook",
    "ReadScope",
    "Reads",
    "Recipient",
    "ResourceRepository",
    "SearchParam",
    "SearchQuery",
    "SearchResult",
    "SecureRepositoryFactory",
    "Transport",
    "UnitOfWork",
    "Validator",
    "WriteOutcome",
    "Written",
    "implements",
    "request_key",
]

Resource = dict[str, Any]
M = TypeVar("M")  # a message of the outbox
M_contra = TypeVar("M_contra", contravariant=True)
A_co = TypeVar("A_co", covariant=True)  # what one delivery attempt gives
E_co = TypeVar("E_co", covariant=True)  # an entry of the directory
C_contra = TypeVar("C_contra", contravariant=True)  # what the policy knows of a person's plan
H = TypeVar("H")  # what an actor holds on one person's plan
D_co = TypeVar("D_co", covariant=True)  # the decision on one resource


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
    total_wanted: bool = False  # _total=accurate: count every match (else only when cheap)


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
    row_cursors: Sequence[tuple[str, str]] = ()  # the store's: sealed when asked for
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


@dataclass(frozen=True)
class Written:
    """One resource written in a unit of work, as the store stored it: ``resource`` is the new
    version (for a deletion, the version it ended: who it was about)."""

    action: Literal["create", "update", "delete"]
    resource_type: str
    resource_id: str
    version_id: str
    resource: Resource | None


# Runs just before a write transaction commits, on that transaction (the first argument: opaque
# outside the store, handed on to ports that write on it, such as ``AuditSink.record_in``).
PreCommitHook = Callable[[Any, Sequence[Written]], None]


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


class Reads(Protocol):
    """Reads on one connection: what :meth:`ContextReader.reader` yields."""

    def by_patient(self, patient_id: str, pairs: Sequence[tuple[str, str]]) -> list[Resource]: ...

    def fetch(self, refs: Iterable[tuple[str, str]]) -> list[Resource]: ...


@runtime_checkable
class ContextReader(Protocol):
    """Optional on a repository: a person's resources found through the reference index and
    fetched by id in plain SQL on one connection (``SqlRepository.reader``) — the consent
    loader's whole load in three queries."""

    def reader(self) -> AbstractContextManager[Reads]: ...


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


@runtime_checkable
class ReadScope(Protocol):
    """Optional on a repository: one connection for every read until the block ends.

    While ``reading()`` is open (on the thread and context that opened it), the repository's
    reads share one connection and one transaction instead of taking a connection of the pool
    each: a read-only operation (a read and the consent decision on it) then reads one snapshot
    of the store. Writes keep their own transactions; a store that writes during the block
    (AuditEvents made resources before they are read) starts the shared transaction afresh, so
    the reads after it see what it wrote. Nested blocks share the outer one."""

    def reading(self) -> AbstractContextManager[None]: ...


@runtime_checkable
class UnitOfWork(Protocol):
    """Optional on a repository: work that commits with its writes or not at all.

    While ``pre_commit(hook)`` is open, every write transaction of the store calls
    ``hook(transaction, writes)`` just before it commits (after its last write, before the change
    stamps are bumped); what the hook writes on ``transaction`` commits with the writes, and an
    error it raises rolls them back. A transaction that is retried calls it again."""

    def pre_commit(self, hook: PreCommitHook) -> AbstractContextManager[None]: ...


class SecureRepositoryFactory(ABC):
    """The type of everything that serves or discloses plan data: ``repository_for(actor)``, a
    repository that discloses to ``actor`` only what the person's consent covers (and audits
    what it discloses).

    A base class, not a Protocol, on purpose: the store's bare repository answers the same calls,
    so a structural type would accept it and serve plans without consent. The one implementation
    in the adapter is ``adapter.consent.enforce.ConsentRepositoryFactory``
    (tests/unit/test_secure_factory.py refuses any other); tests of store and HTTP mechanics
    declare their permit-all factory in the open, under tests/. The server's own writes (the
    audit trail) go through the named system repository (``adapter.bootstrap
    .system_repository``), which is never a factory and so can never be served."""

    @abstractmethod
    def repository_for(self, actor: Actor) -> ResourceRepository:
        """The repository bound to ``actor`` (the caller named by its verified token)."""


class Validator(Protocol):
    """Profile validation: returns an OperationOutcome (JSON); errors mean "do not store"."""

    def __call__(self, resource: Resource, profile: str | None = None) -> Resource: ...


class Clock(Protocol):
    """Source of ``meta.lastUpdated`` (UTC instant, ISO 8601 with 'Z' or +00:00)."""

    def now_iso(self) -> str: ...


class AuditSink(Protocol):
    """Where AuditEvents go: append-only, written by the server, never by a client."""

    def record(self, event: Resource) -> None:
        """Record one event in a transaction of its own."""
        ...

    def record_in(self, transaction: Any, events: list[Resource]) -> None:
        """Record ``events`` on an open write transaction of the store (a pre-commit hook's
        first argument): they commit with it or not at all."""
        ...

    def record_with(self, events: list[Resource], then: Callable[[Any], None]) -> bool:
        """``events`` and then ``then(transaction)`` in one write transaction of the store;
        ``False`` (nothing written) when the sink has no transactions (then record one by one)."""
        ...


class DisclosurePolicy(Protocol[C_contra, H, D_co]):
    """The policy decision point, apart from the mechanism that enforces it (HAPI FHIR's
    ConsentInterceptor and its IConsentService): pure, no I/O and no clock (``today`` is an ISO
    date passed in). The enforcement point finds the person's plan context, asks
    :meth:`access_for` once per person and operation (it decides writes too: who holds the
    plan), :meth:`decide` for every resource it would disclose, and audits what was decided."""

    def access_for(self, ctx: C_contra, actor: Actor, today: str) -> H:
        """What ``actor`` holds on the plan of ``ctx`` today."""
        ...

    def decide(
        self,
        ctx: C_contra | None,
        actor: Actor,
        resource: Resource,
        today: str,
        access: H | None = None,
    ) -> D_co:
        """Permit, deny or redact ``resource`` for ``actor`` (``ctx``: the resource's person,
        ``None`` when it is tied to none; ``access``: :meth:`access_for`, when known)."""
        ...


@dataclass(frozen=True)
class Recipient:
    consent: str  # "Consent/id"
    organisation: str  # organisasjonsnummer
    first_disclosed: str  # ISO instant
    last_disclosed: str


class DisclosureLedger(Protocol):
    """Which organisations received plan data under which sharing consent."""

    def record(self, consent: str, organisation: str, when: str) -> None: ...

    def record_in(self, transaction: Any, consent: str, organisation: str, when: str) -> None:
        """:meth:`record` on an open write transaction of the store (the audit's)."""
        ...

    def recipients(self, consent: str) -> list[Recipient]: ...


class OutboxWriter(Protocol):
    """The sending side of the outbox: :meth:`enqueue` writes a message on an open write
    transaction of the store (``transaction``: the one the change it announces is written on),
    so the two commit together or not at all."""

    def enqueue(
        self,
        transaction: Any,
        *,
        destination: str,
        kind: str,
        payload: Resource,
        person: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Queue the message; returns its id (the receiver de-duplicates on it)."""
        ...


class Outbox(Protocol[M]):
    """Messages to other organisations, each stored with the change it announces (``enqueue``
    on the write's own transaction) and taken by the delivery worker: claimed under a lease,
    then settled; a settle returns ``False`` when the claim was lost to another worker."""

    def claim(self, limit: int = 20, lease: float = 60.0) -> list[M]: ...

    def delivered(self, message: M, response: str | None = None) -> bool: ...

    def retry(self, message: M, error: str, delay: float) -> bool: ...

    def dead(self, message: M, error: str) -> bool: ...

    def release(self, message: M) -> bool: ...


class Transport(Protocol[M_contra, A_co]):
    """One delivery attempt of a message to its destination."""

    def post(self, message: M_contra) -> A_co: ...


class Directory(Protocol[E_co]):
    """The directory of organisations and their endpoints (written by the operator only)."""

    def get(self, orgnr: str) -> E_co | None: ...

    def entries(self) -> Sequence[E_co]: ...

    def route(self, *, kommunenummer: str | None = None, orgnr: str | None = None) -> E_co:
        """Where to send: the coordinating unit of the person's municipality, or the
        organisation named; raises when there is none."""
        ...


# The key of the request the writes being made belong to (``None``: not idempotent): set by the
# HTTP layer from ``X-Request-Id`` (``adapter.api.idempotency``), read by the store, which keeps
# a write's outcome under it and answers a retry with that outcome (``adapter.store.idempotency``).
REQUEST_KEY: ContextVar[str | None] = ContextVar("ipfhir_request_key", default=None)


@contextmanager
def request_key(key: str | None) -> Iterator[None]:
    """Writes made while this block is open are idempotent under ``key`` (``None``: not)."""
    token = REQUEST_KEY.set(key)
    try:
        yield
    finally:
        REQUEST_KEY.reset(token)


_P = TypeVar("_P")


def implements(obj: object, protocol: Callable[..., _P]) -> TypeIs[_P]:
    """``isinstance(obj, protocol)`` for the optional repository Protocols above, cheaply when
    ``obj``'s class defines every member: a runtime-checkable Protocol's ``isinstance`` looks
    up each member on every call (tens of microseconds), and the enforcement asks on every
    request. That answer is kept per class (a member on the class is on each instance); an
    object that has a member only on the instance (test doubles) is asked every time."""
    key = (type(obj), protocol)
    on_class = _ON_CLASS.get(key)
    if on_class is None:
        names = [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]
        on_class = _ON_CLASS[key] = bool(names) and all(
            callable(getattr(key[0], n, None)) for n in names
        )
    return on_class or isinstance(obj, cast(type, protocol))


_ON_CLASS: dict[tuple[type, object], bool] = {}  # (class, Protocol): has every member
