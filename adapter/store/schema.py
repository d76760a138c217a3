"""Table definitions (SQLAlchemy Core). The Alembic migrations create exactly these tables."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "active_plans",
    "audit_log",
    "change_stamps",
    "client_assertions",
    "consent_recipients",
    "directory_entries",
    "idx_date",
    "idx_reference",
    "idx_token",
    "legacy_receipts",
    "metadata",
    "outbox",
    "received_messages",
    "request_outcomes",
    "resource_versions",
    "resources",
    "server_keys",
]

metadata = MetaData()
_Seq = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only

# Current version of every resource (deleted ones keep a tombstone row: 410 Gone, not 404).
resources = Table(
    "resources",
    metadata,
    Column("res_type", String(40), primary_key=True),
    Column("res_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("last_updated", String(26), nullable=False),  # fixed-width UTC text, sortable
    Column("sort_date", String(26), nullable=False),  # low bound of the type's "date" parameter
    Column("deleted", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_resources_type_updated", "res_type", "last_updated", "res_id"),
    Index("ix_resources_type_date", "res_type", "sort_date", "res_id"),
)

# Every version ever written; ``seq`` orders history globally.
resource_versions = Table(
    "resource_versions",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("res_type", String(40), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", String(26), nullable=False),
    Column("method", String(6), nullable=False),
    Column("body", Text, nullable=True),  # NULL for a deletion
    UniqueConstraint("res_type", "res_id", "version", name="uq_resource_versions"),
    Index("ix_resource_versions_type_seq", "res_type", "seq"),
)

idx_token = Table(
    "idx_token",
    metadata,
    Column("res_type", String(40), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("param", String(40), nullable=False),
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=False),
    Index("ix_idx_token_lookup", "res_type", "param", "code", "system"),
    Index("ix_idx_token_owner", "res_type", "res_id"),
)

idx_reference = Table(
    "idx_reference",
    metadata,
    Column("res_type", String(40), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("param", String(40), nullable=False),
    Column("target_type", String(40), nullable=False),
    Column("target_id", String(64), nullable=False),
    # (migration 0010) a search by reference reads its page in id order from this index
    Index("ix_idx_reference_lookup", "res_type", "param", "target_id", "target_type", "res_id"),
    Index("ix_idx_reference_target", "target_type", "target_id"),
    Index("ix_idx_reference_owner", "res_type", "res_id"),
)

idx_date = Table(
    "idx_date",
    metadata,
    Column("res_type", String(40), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("param", String(40), nullable=False),
    Column("low", String(26), nullable=False),
    Column("high", String(26), nullable=False),
    Index("ix_idx_date_lookup", "res_type", "param", "low"),
    # (migration 0012) ge, gt and eb compare the end of the range
    Index("ix_idx_date_high", "res_type", "param", "high"),
    Index("ix_idx_date_owner", "res_type", "res_id"),
)

# One active individual plan per person (forskrift § 6): the primary key is the guarantee.
active_plans = Table(
    "active_plans",
    metadata,
    Column("patient_id", String(64), primary_key=True),
    Column("careplan_id", String(64), nullable=False, unique=True),
)

# Recipients to inform when a sharing Consent is revoked (adapter/store/ledger.py writes it):
# which organisation received plan data under which consent, first and last time.
consent_recipients = Table(
    "consent_recipients",
    metadata,
    Column("consent", String(80), primary_key=True),
    Column("organisation", String(20), primary_key=True),
    Column("first_disclosed", String(40), nullable=False),
    Column("last_disclosed", String(40), nullable=False),
)

# Change stamps for consent caching (adapter/store/stamps.py): one row per person
# (``Patient/id``) and ``"*"`` for the directory, bumped in every write transaction that touches
# them.
change_stamps = Table(
    "change_stamps",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("stamp", BigInteger, nullable=False),
)

# Messages to other organisations (adapter/sync): written in the same transaction as the change
# they announce (transactional outbox), delivered by ``ipfhir worker``. ``seq`` orders them;
# ``person`` + ``destination`` keep one person's messages to one receiver in that order.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("destination", String(500), nullable=False),
    Column("kind", String(80), nullable=False),
    Column("person", String(80), nullable=True),
    Column("payload", Text, nullable=False),
    Column("status", String(12), nullable=False),  # queued | in_flight | delivered | dead
    Column("attempts", Integer, nullable=False),
    # attempts that may have reached the receiver, over the message's whole life (a replay
    # keeps it): each delivered or retried, and each whose lease ran out unsettled
    Column("maybe_reached", Integer, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),  # epoch seconds
    Column("due_at", Float, nullable=False),  # next attempt (queued) or lease end (in_flight)
    Column("finished_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("response", Text, nullable=True),
    Index("ix_outbox_due", "status", "due_at"),
    Index("ix_outbox_person", "person", "destination", "seq"),
)

# Secrets the server makes for itself at first use and shares between its processes
# (adapter/store/cursors.py: the page-token key), hex text.
server_keys = Table(
    "server_keys",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("secret", String(128), nullable=False),
)

# The directory of organisations and endpoints (adapter/directory): written only by
# ``ipfhir directory load``, never through the FHIR API; the FHIR resources as JSON text.
directory_entries = Table(
    "directory_entries",
    metadata,
    Column("orgnr", String(9), primary_key=True),
    Column("kommunenummer", String(4), nullable=True),
    Column("coordinating_unit", Boolean, nullable=False),
    Column("routable", Boolean, nullable=False),
    Column("organization", Text, nullable=False),
    Column("endpoint", Text, nullable=True),
    Column("loaded_at", String(26), nullable=False),
    Index("ix_directory_route", "kommunenummer", "coordinating_unit"),
)

# Client assertions the token endpoint accepted (adapter/auth/replay.py): the hash of the
# client id and ``jti``, kept until the assertion expires, so no process accepts it twice.
client_assertions = Table(
    "client_assertions",
    metadata,
    Column("jti_key", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Index("ix_client_assertions_expiry", "expires_at"),
)

# Messages ``POST [base]/$process-message`` processed (adapter/sync/receiver.py): per sender and
# message id the answer given, written in the transaction that stored what the message carried,
# so a redelivery gets the original answer and changes nothing.
received_messages = Table(
    "received_messages",
    metadata,
    Column("sender", String(9), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("event", String(80), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("response", Text, nullable=False),
)

# The AppRec the legacy inbox gave each message (adapter/sync/transports/receipts.py): ``key``
# names the message (a digest of the partner's organisasjonsnummer and MsgId, or of the bytes
# of a message from no known partner), ``digest`` its content (MsgId, GenDate and signature
# aside); ``apprec`` stays empty while the message is being carried out. A resend gets these
# very bytes; another content under a used key gets a refusal (stored under its own key).
legacy_receipts = Table(
    "legacy_receipts",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("name", String(200)),
    Column("outcome", String(20)),
    Column("apprec", LargeBinary),
)

# The audit trail as written: one row per AuditEvent, appended in the transaction of the request
# it records (adapter/store/audit_log.py), made a versioned AuditEvent resource when AuditEvents
# are read. ``event_id`` becomes the resource id; ``body`` is the AuditEvent's JSON.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("body", Text, nullable=False),
)

# The outcome of every write made with a client's request id (adapter/store/idempotency.py),
# stored in the write's transaction: a retry of the same request is answered with it.
request_outcomes = Table(
    "request_outcomes",
    metadata,
    Column("request_key", String(64), primary_key=True),  # sha256 of caller, id and request
    Column("action", String(10), nullable=False),  # create | update | delete
    Column("res_type", String(40), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", String(20), nullable=False),
    Column("created_at", Float, nullable=False),  # epoch seconds
)
