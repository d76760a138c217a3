"""Use case: revocation notices — a consent withdrawn or narrowed reaches every organisation
that received data under it (forskrift om individuell plan; pasient- og brukerrettighetsloven
§ 4-1: a withdrawn consent takes effect at once for all that is not yet shared, and those who
received data under it must be told).

:class:`RevocationNotices` runs on the write transaction of every change the enforced
repositories commit (``Enforcement.on_writes``, wired in :func:`adapter.bootstrap
.secure_factory`), after the change's audit:

1. for each Consent created, updated or deleted, the version before the change and the one
   after are compared (:func:`adapter.consent.narrowing.narrowing`): withdrawn, period
   shortened, a permit narrowed (an actor or a topic removed), a deny added; and the person's
   combined decision (every Consent of theirs, before and after the change) is compared too
   (:func:`adapter.consent.narrowing.lost`), so a *new* Consent refusing a recipient narrows as
   an edit of the old one would — or nothing, then nothing more;
2. every organisation the recipients ledger holds for any Consent of that person
   (``consent_recipients``: each disclosure made on it, notifications included) gets one
   ``ip-revocation`` message, queued
   in the outbox **on the same transaction** as the Consent change: both commit or neither. It
   names the notifications about the person that may have reached that organisation (Task
   identifiers; one never tried is judged again by the consent gate before it leaves) and why,
   coarsely (withdrawn / narrowed: which topic or recipient the person refused is not told);
3. a plan transfer this adapter asked that organisation for, for that person, and still
   waiting for its answer (A's Task ``requested``) fails on the same transaction, IP-6110: B
   cancels its side on receipt (:mod:`adapter.sync.revocation`), so A's Task would otherwise
   stay open for ever (a plan already accepted and queued is held back at the send-time gate,
   :mod:`adapter.sync.gate`, and its Task fails with IP-6096);
4. every notice queued, and every recipient that cannot be told (no route in the directory, or
   this adapter's own address unknown because it never sent a message: IP-6100), is audited on
   that transaction. A recipient that cannot be told never stops the withdrawal itself (a failure
   of the database does, as it stops any write: the change and its notices are one).

Narrowing is read coarsely on purpose: any narrowing tells every recipient, and the receiver
withdraws all it got under the consent from this sender (the sender may notify again with what
the consent gives now). When in doubt, tell.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ipfhir.adapter.consent.context import patient_of
from ipfhir.adapter.consent.narrowing import lost, narrowing
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.ports import Written
from ipfhir.adapter.services.notify import party_of
from ipfhir.adapter.sync.messages import MESSAGES
from ipfhir.adapter.sync.messaging import REVOCATION, Party, message_bundle
from ipfhir.adapter.sync.recorded import record_write
from ipfhir.adapter.sync.revocation import revocation_task
from ipfhir.adapter.sync.sent import (
    consents_of,
    delivered_to,
    own_party,
    previous_version,
    queue,
    recipients_of,
)
from ipfhir.adapter.sync.transfer_state import end_requests

__all__ = ["RevocationNotices"]

Resource = dict[str, Any]


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


class RevocationNotices:
    """The pre-commit work of revocation notices (see the module doc); ``directory``: this
    adapter's directory."""

    def __init__(self, directory: SqlDirectory, clock: Callable[[], float] = time.time) -> None:
        self._directory = directory
        self._clock = clock

    def __call__(self, transaction: Any, writes: Sequence[Written]) -> None:
        today = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date().isoformat()
        changed: dict[str, list[tuple[str, Resource | None, Resource | None]]] = {}
        for written in writes:
            if written.resource_type != "Consent":
                continue
            old = None
            if written.action != "create":
                old = previous_version(
                    transaction, "Consent", written.resource_id, written.version_id
                )
            new = None if written.action == "delete" else written.resource
            person = patient_of(old or {}) or patient_of(written.resource or {})
            if person is not None:
                changed.setdefault(person, []).append((written.resource_id, old, new))
        for person, consents in changed.items():
            reasons = self._narrowed(transaction, person, consents, today)
            if reasons:
                names = ", ".join(f"Consent/{rid}" for rid, _, _ in consents)
                self._tell(transaction, names, person, reasons, [rid for rid, _, _ in consents])

    @staticmethod
    def _narrowed(
        conn: Any,
        person: str,
        consents: list[tuple[str, Resource | None, Resource | None]],
        today: str,
    ) -> tuple[str, ...]:
        """How the changes to the person's ``consents`` (id, before, after) take away what they
        gave: each Consent compared with its version before (:func:`narrowing`), and the
        person's combined decision — every Consent of theirs, before and after — compared too
        (:func:`lost`: a new Consent that refuses a recipient, or a change that gives less only
        together with another Consent)."""
        found: list[str] = []
        for _rid, old, new in consents:
            found += [r for r in narrowing(old, new, today) if r not in found]
        after = consents_of(conn, person)
        for rid, _old, new in consents:
            if new is None:
                after.pop(rid, None)
            else:
                after[rid] = dict(new)
        before = dict(after)
        for rid, old, _new in consents:
            if old is None:
                before.pop(rid, None)
            else:
                before[rid] = dict(old)
        if not found and lost(list(before.values()), list(after.values()), today):
            found.append("permit narrowed: the person's consents together give less")
        return tuple(found)

    def _tell(
        self, conn: Any, consent: str, person: str, reasons: tuple[str, ...], written: list[str]
    ) -> None:
        reason = "withdrawn" if reasons[0].startswith("withdrawn") else "narrowed"
        me = own_party(conn)
        ids = dict.fromkeys([*written, *consents_of(conn, person)])
        for orgnr in recipients_of(conn, [f"Consent/{rid}" for rid in ids]):
            entry = self._directory.get_in(conn, orgnr)
            delivered = delivered_to(conn, orgnr, person)
            source = delivered.source or me
            if source is not None and orgnr == source.orgnr:
                continue  # this adapter's own organisation: nothing to tell
            if entry is None or not entry.routable or entry.endpoint is None:
                self._untold(conn, source, person, consent, orgnr, "no route in the directory")
            elif source is None:
                why = "this adapter's own address is unknown (it has sent no message yet)"
                self._untold(conn, source, person, consent, orgnr, why)
            else:
                receiver = party_of(entry)
                self._queue(conn, source, receiver, person, delivered.identifiers, reason)
                why = "IP-6110: " + MESSAGES["IP-6110"].format(orgnr=orgnr)
                end_requests(conn, person, orgnr, why)
                detail = (
                    f"ip-revocation queued to {orgnr} for {consent} ({'; '.join(reasons)}), "
                    f"{len(delivered.identifiers)} notification(s) named"
                )
                self._audit(conn, source.orgnr, person, detail)

    def _queue(
        self,
        conn: Any,
        source: Party,
        receiver: Party,
        person: str,
        identifiers: list[str],
        reason: str,
    ) -> None:
        message_id, now = str(uuid.uuid4()), _iso(self._clock())
        task = revocation_task(str(uuid.uuid4()), source, receiver, identifiers, reason, now)
        bundle = message_bundle(
            message_id=message_id,
            event=REVOCATION,
            source=source,
            destination=receiver,
            timestamp=now,
            resources=[task],
        )
        destination = receiver.endpoint + "/$process-message"
        queue(conn, destination=destination, payload=bundle, person=person, message_id=message_id)

    def _untold(
        self, conn: Any, source: Party | None, person: str, consent: str, orgnr: str, why: str
    ) -> None:
        text = MESSAGES["IP-6100"].format(orgnr=orgnr, consent=consent, why=why)
        self._audit(conn, source.orgnr if source else "", person, f"IP-6100: {text}")

    @staticmethod
    def _audit(conn: Any, organisation: str, person: str, detail: str) -> None:
        record_write(
            conn,
            organisation=organisation,
            interaction="update",
            patient=None,
            patient_ref=person,
            stored=[],
            detail=detail,
        )
