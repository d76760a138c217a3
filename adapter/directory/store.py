"""The directory in the adapter's own database (``directory_entries``) and routing over it.

Written only by :meth:`SqlDirectory.load` (``ipfhir directory load``): the entries decide where
plan data is sent and whose keys the token endpoint trusts, so no FHIR API caller may write
them (the FHIR store lets any caller with the scope create an Organization or Endpoint no plan
relies on yet). Every process reads the table, so a load takes effect everywhere at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from ipfhir.adapter.directory.messages import DirectoryFileError, NoRoute, issue6
from ipfhir.adapter.directory.model import DirectoryEntry, is_kommunenummer
from ipfhir.adapter.directory.parse import endpoint_of, entry_of
from ipfhir.adapter.store.engine import WRITE_OPTION
from ipfhir.adapter.store.schema import directory_entries as table
from ipfhir.mappings.identifiers import is_valid_orgnr

__all__ = ["SqlDirectory"]

_log = logging.getLogger("ipfhir.directory")


class SqlDirectory:
    """Reads come from the table's state as of the read: one small query (how many entries,
    the newest ``loaded_at``) tells whether the entries this object holds are still the
    table's — every load, in any process, changes that — and only then are the rows read
    again. (A receiver looks up its sender, the organisations it serves and two names for
    every message.)"""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._held: tuple[tuple[Any, ...], dict[str, DirectoryEntry]] | None = None
        self._fixed: dict[str, DirectoryEntry] | None = None

    def snapshot(self) -> SqlDirectory:
        """The entries as they are now, read once: ``get`` and ``entries`` of the snapshot
        ask the database nothing (one message's several lookups see one directory)."""
        view = SqlDirectory(self._engine)
        view._fixed = self._current()
        return view

    def _current(self) -> dict[str, DirectoryEntry]:
        if self._fixed is not None:
            return self._fixed
        with self._engine.connect() as conn:
            version = tuple(conn.execute(select(func.count(), func.max(table.c.loaded_at))).one())
            held = self._held
            if held is None or held[0] != version:
                rows = conn.execute(select(table).order_by(table.c.orgnr)).mappings().all()
                held = (version, {row["orgnr"]: _entry(row) for row in rows})
                self._held = held  # rows read after the version: as new as it, or newer
        return held[1]

    def load(
        self,
        entries: list[DirectoryEntry],
        *,
        replace: bool = False,
        record: Callable[[Connection, str], None] | None = None,
    ) -> None:
        """Store ``entries`` in one transaction (an organisation's entry replaces its earlier
        one; ``replace``: the file is the whole directory). A second coordinating unit for a
        kommunenummer (IP-6015) or a HER-id another organisation holds (IP-6023: the legacy
        inbox files a message with the holder of the HER-id it is addressed to) refuses the
        whole load. ``record(conn, what)``: the audit of the load (``ipfhir directory load``
        writes an AuditEvent), on the same transaction — the entries and their record commit
        together or not at all."""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        writer = self._engine.execution_options(**{WRITE_OPTION: True})
        with writer.begin() as conn:
            if replace:
                conn.execute(delete(table))
            else:
                orgnrs = [e.orgnr for e in entries]
                conn.execute(delete(table).where(table.c.orgnr.in_(orgnrs)))
            hers = _held_her_ids(conn)
            for entry in entries:
                _check_single_unit(conn, entry)
                _check_her_id(hers, entry)
                conn.execute(table.insert().values(**_row(entry), loaded_at=now))
            what = _what(entries, replace)
            if record is not None:
                record(conn, what)
        # Whose keys the server trusts changed: a warning too, so it shows in every log.
        _log.warning("%s", what)

    def get(self, orgnr: str) -> DirectoryEntry | None:
        return self._current().get(orgnr)

    @staticmethod
    def get_in(conn: Connection, orgnr: str) -> DirectoryEntry | None:
        """:meth:`get` on an open connection (a write transaction's pre-commit work: no second
        connection from the pool while the first is held)."""
        row = conn.execute(select(table).where(table.c.orgnr == orgnr)).mappings().first()
        return _entry(row) if row is not None else None

    def by_her_id(self, her_id: str) -> DirectoryEntry | None:
        """The one organisation with this HER-id; ``None`` when none or — in a directory
        loaded before IP-6023 refused it — several hold it (never whichever sorts first)."""
        holders = self.her_id_holders(her_id)
        return holders[0] if len(holders) == 1 else None

    def her_id_holders(self, her_id: str) -> list[DirectoryEntry]:
        """Every organisation with this HER-id (a directory is small: read whole)."""
        return [e for e in self.entries() if e.her_id == her_id]

    def entries(self) -> list[DirectoryEntry]:
        return list(self._current().values())

    def route(
        self, *, kommunenummer: str | None = None, orgnr: str | None = None
    ) -> DirectoryEntry:
        """The entry to send to: the coordinating unit of the person's municipality, or the
        organisation named; IP-6001/6002 when there is none (nothing may be queued then)."""
        if (kommunenummer is None) == (orgnr is None):
            raise NoRoute([issue6("IP-6005", None, "required")])
        if orgnr is not None:
            if not is_valid_orgnr(orgnr):
                raise NoRoute([issue6("IP-6004", None, "value", value=orgnr[:20])])
            entry = self.get(orgnr)
            if entry is None or not entry.routable:
                raise NoRoute([issue6("IP-6002", None, "not-found", orgnr=orgnr)])
            return entry
        assert kommunenummer is not None
        if not is_kommunenummer(kommunenummer):
            raise NoRoute([issue6("IP-6003", None, "value", value=kommunenummer[:20])])
        query = select(table).where(
            table.c.kommunenummer == kommunenummer,
            table.c.coordinating_unit.is_(True),
            table.c.routable.is_(True),
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NoRoute([issue6("IP-6001", None, "not-found", kommune=kommunenummer)])
        return _entry(row)


def _what(entries: list[DirectoryEntry], replace: bool) -> str:
    """The load in words: how, how many, and each organisation with its endpoint."""
    shown = "; ".join(
        f"{e.orgnr} {e.endpoint.address if e.endpoint else '-'}"
        f"{'' if e.routable else ' (not routable)'}"
        for e in entries[:10]
    )
    more = f"; and {len(entries) - 10} more" if len(entries) > 10 else ""
    how = "replaced" if replace else "merged"
    return f"directory loaded ({how}): {len(entries)} organisation(s): {shown}{more}"


def _check_single_unit(conn: Any, entry: DirectoryEntry) -> None:
    if not entry.coordinating_unit:
        return
    query = select(table.c.orgnr).where(
        table.c.kommunenummer == entry.kommunenummer, table.c.coordinating_unit.is_(True)
    )
    other = conn.execute(query).scalar()
    if other is not None:
        detail = f"{other} and {entry.orgnr} both for {entry.kommunenummer}"
        raise DirectoryFileError([issue6("IP-6015", None, detail=detail)])


def _held_her_ids(conn: Any) -> dict[str, str]:
    """HER-id → organisasjonsnummer of what stays stored (this load's organisations deleted)."""
    rows = conn.execute(select(table.c.organization, table.c.endpoint)).mappings().all()
    held: dict[str, str] = {}
    for row in rows:
        entry = _entry(row)
        if entry.her_id is not None:
            held.setdefault(entry.her_id, entry.orgnr)
    return held


def _check_her_id(held: dict[str, str], entry: DirectoryEntry) -> None:
    if entry.her_id is None:
        return
    other = held.setdefault(entry.her_id, entry.orgnr)
    if other != entry.orgnr:
        issue = issue6("IP-6023", None, her=entry.her_id, other=other, orgnr=entry.orgnr)
        raise DirectoryFileError([issue])


def _row(entry: DirectoryEntry) -> dict[str, Any]:
    endpoint = entry.endpoint.resource if entry.endpoint is not None else None
    return {
        "orgnr": entry.orgnr,
        "kommunenummer": entry.kommunenummer,
        "coordinating_unit": entry.coordinating_unit,
        "routable": entry.routable,
        "organization": json.dumps(entry.organization, ensure_ascii=False),
        "endpoint": json.dumps(endpoint, ensure_ascii=False) if endpoint is not None else None,
    }


def _entry(row: Any) -> DirectoryEntry:
    return _parsed(row["organization"], row["endpoint"])


@functools.lru_cache(maxsize=4096)
def _parsed(organization: str, endpoint: str | None) -> DirectoryEntry:
    """An entry from its stored text, parsed once per text (the JWKS check is the costly part,
    and every message checks its sender): keyed by the text itself, so a load — in any
    process — is seen at the next read. The entry is shared: read it, never change it."""
    parsed = endpoint_of(json.loads(endpoint)) if endpoint else None
    return entry_of(json.loads(organization), parsed)
