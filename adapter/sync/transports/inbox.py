"""A legacy partner's message received: carried out like a FHIR message, answered with an AppRec.

:meth:`LegacyInbox.handle` takes the bytes as they arrived (a file, a queue message):

1. read hardened and checked against the schemas (:func:`ipfhir.mappings.legacy.read_message`:
   no DTD or entities, size and depth limits, MsgHead 1.2 / AppRec namespaces, strict XSD); a
   refusal is answered with an AppRec «avvist» (X99, the IP-62xx id and text as its detail) and
   nothing is stored;
2. an AppRec (a partner's receipt for a message of ours) is answered with nothing; it settles
   that message in the outbox (when the inbox has one): «avvist» makes it dead — visible with
   the partner's error codes, replayable — and OK keeps it delivered with the receipt as its
   response. Handing a Dialogmelding to a folder or queue is not its acceptance. Only the
   partner the message went to answers it: the AppRec's sender (by HER-id) must be the
   directory's legacy partner whose endpoint the message was delivered to, and the message
   must be one of ours delivered there; anything else changes nothing (logged);
3. the sender must be a routable legacy partner of this adapter's directory, found by its
   organisasjonsnummer or HER-id, with the HER-id the directory holds (else IP-6155); the
   receiver an organisation of the directory (by HER-id of the unit or the organisation, or
   organisasjonsnummer; else IP-6156) — whom this adapter serves is decided by the receiver.
   A receiver that names no one organisation is filed with none (IP-6157): a HER-id several
   entries hold (the directory refuses that since IP-6023; an older load may hold it), or an
   organisation HER-id and organisasjonsnummer naming different organisations. The sender's
   HER-id, when several hold it, identifies no partner (IP-6155);
4. the message becomes the FHIR message Bundle (:func:`ipfhir.mappings.legacy.fhir.to_fhir`)
   with the sender's directory endpoint as its source and this adapter as its destination, and
   goes through the same :class:`~adapter.sync.receiver.Receiver` as ``$process-message``: the
   same checks, one write transaction with its audit, de-duplication by (sender, MsgId) — a
   duplicate gets the stored answer, so the very same AppRec (its id and time come from that
   answer);
5. the answer becomes the AppRec (ok, or avvist with the receiver's IP-60xx ids), addressed to
   the partner's endpoint (where messages to it go).

Every AppRec given — refusals at any step included — is kept (:mod:`.receipts`, which also
says what counts as the same message): the same message again, even with a new GenDate, gets
those very bytes; another message under a MsgId the partner used before is refused (IP-6160)
and never answered with the first one's AppRec. A message first received before the AppRecs
were kept (migration 0013) has no kept content to compare: the receiver's de-duplication by
(sender, MsgId) answers it as before (an accepted residual).

The trust boundary is the channel: whoever may write into the incoming folder or queue is the
partner's communication program (Norsk Helsenett's signed and encrypted transport ends there).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ipfhir.adapter.directory.model import DirectoryEntry
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.store.outbox import Outbox
from ipfhir.adapter.sync.receiver import Receiver
from ipfhir.adapter.sync.transports.receipts import (
    Kept,
    Receipts,
    conflict_key,
    content_digest,
    key_of_bytes,
    key_of_message,
)
from ipfhir.mappings.errors import IpError
from ipfhir.mappings.legacy import AppRec, Message, read_message
from ipfhir.mappings.legacy.codes import Code
from ipfhir.mappings.legacy.fhir import to_fhir
from ipfhir.mappings.legacy.fhir_apprec import OTHER_ERROR, apprec_from_bundle
from ipfhir.mappings.legacy.fhir_common import Org
from ipfhir.mappings.legacy.messages import MESSAGES
from ipfhir.mappings.legacy.model_apprec import (
    AppRecParty,
    Institution,
    OriginalMessage,
)
from ipfhir.mappings.legacy.safexml import DEFAULT_MAX_BYTES, parse_bytes
from ipfhir.mappings.legacy.schemas import NS
from ipfhir.mappings.legacy.write_apprec import STATUS, receipt_for, write_apprec

__all__ = ["LegacyInbox", "Reply"]

_log = logging.getLogger(__name__)
_RECEIPTS = uuid.UUID("5d2b8f3a-6c1e-4e0a-9b7d-3f1a2c4e6b80")  # names refusal AppRec ids
_HER = Code(v="HER", dn="HER-id")


@dataclass(frozen=True)
class Reply:
    """The AppRec to send back: ``address`` the partner's legacy endpoint (``None``: unknown
    sender, the inbox's own reply place), ``name`` its file / message name."""

    address: str | None
    name: str
    data: bytes
    outcome: str


def _errors(err: IpError) -> tuple[Code, ...]:
    return tuple(
        Code(
            v=OTHER_ERROR.v,
            s=OTHER_ERROR.s,
            dn=OTHER_ERROR.dn,
            ot=f"{i.message_id}: {i.text}"[:500],
        )
        for i in err.issues
    )


def _refusal(message_id: str, **fields: str) -> IpError:
    text = MESSAGES[message_id] + "".join(f" {k}: {v}." for k, v in fields.items())
    return IpError.single(message_id, text, None, "forbidden")


class LegacyInbox:
    """``own``: this adapter's organisation (the sender of AppRecs for refused messages);
    ``base``: its FHIR base (where the receiver expects messages addressed)."""

    def __init__(
        self,
        receiver: Receiver,
        directory: SqlDirectory,
        own: DirectoryEntry,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
        outbox: Outbox | None = None,
    ) -> None:
        self.receiver = receiver
        self.outbox = outbox
        self.directory = directory
        self.own = own
        self.base = receiver.address.removesuffix("/$process-message")
        self.max_bytes = max_bytes
        self.clock = clock
        self.receipts = Receipts(receiver.repository)

    def handle(self, data: bytes) -> Reply | None:
        try:
            model = read_message(data, max_bytes=self.max_bytes)
        except IpError as err:
            return self._once(key_of_bytes(data), None, partial(self._refused, data, err, None))
        if isinstance(model, AppRec) or any(isinstance(d.content, AppRec) for d in model.documents):
            self._receipt(model)
            return None
        partner = self._partner(model)
        if partner is None or partner.endpoint is None:
            refusal = _refusal("IP-6155")
            return self._once(
                key_of_bytes(data), None, partial(self._refused, data, refusal, None, model)
            )
        address = partner.endpoint.address
        key, digest = key_of_message(partner.orgnr, model.msg_id), content_digest(model)
        kept = self.receipts.claim(key, digest, self.clock())
        if kept.digest != digest:  # the MsgId names another message received before
            _log.warning("legacy MsgId %s from %s reused", model.msg_id[:80], partner.orgnr)
            refusal = _refusal("IP-6160", MsgId=model.msg_id[:80])
            return self._once(
                conflict_key(key, digest),
                address,
                partial(self._refused, data, refusal, address, model),
            )
        if kept.apprec is None:
            reply = self._carry_out(data, model, partner, address)
            kept = self.receipts.keep(
                key, digest, self.clock(), reply.name, reply.outcome, reply.data
            )
        return _reply(address, kept)

    def _once(self, key: str, address: str | None, answer: Callable[[], Reply]) -> Reply:
        """The AppRec kept under ``key``, else ``answer()`` kept there (a refusal, sent again
        byte for byte when the same message comes again)."""
        kept = self.receipts.get(key)
        if kept is None or kept.apprec is None:
            reply = answer()
            kept = self.receipts.keep(key, key, self.clock(), reply.name, reply.outcome, reply.data)
        return _reply(address, kept)

    def _carry_out(
        self, data: bytes, model: Message, partner: DirectoryEntry, address: str
    ) -> Reply:
        addressee = self._addressee(model)
        if isinstance(addressee, str):
            return self._refused(data, _refusal(addressee), address, model)
        try:
            bundle = to_fhir(
                model,
                Org(partner.orgnr, partner.name, address, partner.her_id),
                Org(addressee.orgnr, addressee.name, self.base, addressee.her_id),
            )
            _status, answer = self.receiver.process(partner.orgnr, bundle)
        except IpError as err:  # the mapping's IP-614x, the receiver's refusals (IP-607x)
            return self._refused(data, err, address, model)
        ack = apprec_from_bundle(answer)
        receipt = receipt_for(
            model,
            receipt_id=ack.id,
            gen_date=ack.gen_date,
            outcome=ack.outcome,
            errors=ack.errors,
        )
        _log.info("legacy message %s from %s: %s", model.msg_id, partner.orgnr, ack.outcome)
        return Reply(address, f"apprec-{receipt.id}.xml", write_apprec(receipt), receipt.outcome)

    def _partner(self, message: Message) -> DirectoryEntry | None:
        """The routable legacy partner that sent ``message``, its HER-id agreeing."""
        org = message.sender.organisation
        hers = {h for h in (org.her_id, org.unit.her_id if org.unit else None) if h}
        entry = self.directory.get(org.orgnr) if org.orgnr else None
        if entry is None:
            entry = next((e for h in hers if (e := self.directory.by_her_id(h))), None)
        if entry is None or not entry.routable or entry.endpoint is None:
            return None
        if not entry.endpoint.legacy or (entry.her_id is not None and entry.her_id not in hers):
            return None
        return entry

    def _addressee(self, message: Message) -> DirectoryEntry | str:
        """The one organisation the message is addressed to, else the refusal's id (IP-6157
        ambiguous, IP-6156 none): never whichever entry sorts first."""
        org = message.receiver.organisation
        numbered = self.directory.get(org.orgnr) if org.orgnr else None
        for her, whole in ((org.unit.her_id if org.unit else None, False), (org.her_id, True)):
            holders = self.directory.her_id_holders(her) if her else []
            if len(holders) > 1:
                return "IP-6157"
            if holders:
                # the unit may be an entry of its own (an underenhet); the organisation's
                # HER-id and organisasjonsnummer must name the same organisation
                if whole and numbered is not None and numbered.orgnr != holders[0].orgnr:
                    return "IP-6157"
                return holders[0]
        return numbered if numbered is not None else "IP-6156"

    def _receipt(self, model: Message | AppRec) -> None:
        receipts = [model] if isinstance(model, AppRec) else []
        if isinstance(model, Message):
            receipts = [d.content for d in model.documents if isinstance(d.content, AppRec)]
        for receipt in receipts:
            codes = " ".join(f"{e.v} {e.dn or ''} {e.ot or ''}".strip() for e in receipt.errors)
            _log.info(
                "AppRec %s for message %s: %s %s",
                receipt.id,
                receipt.original.id,
                receipt.outcome,
                codes,
            )
            if self.outbox is not None:
                self._settle(receipt, codes)

    def _settle(self, receipt: AppRec, codes: str) -> None:
        """The outbox message ``receipt`` answers, settled — if its sender is the partner the
        message was delivered to."""
        assert self.outbox is not None
        inst = receipt.sender.institution
        hers = [h for h in (inst.id if inst else None,) if h]
        hers += [d.id for d in (inst.departments if inst else ()) if d.id]
        partner = next((e for h in hers if (e := self.directory.by_her_id(h))), None)
        if partner is None or partner.endpoint is None or not partner.endpoint.legacy:
            _log.warning("AppRec %s from no legacy partner: nothing settled", receipt.id)
            return
        outcome = receipt.outcome
        text = f"AppRec {receipt.id} {outcome}" + (f": {codes}" if codes else "")
        settled = self.outbox.receipt(
            receipt.original.id,
            partner.endpoint.address,
            response=text,
            error=f"AppRec avvist: {codes}" if outcome == "rejected" else None,
        )
        if not settled:
            _log.warning(
                "AppRec %s answers no message of ours delivered to %s: nothing settled",
                receipt.id,
                partner.orgnr,
            )

    def _refused(
        self, data: bytes, err: IpError, address: str | None, model: Message | None = None
    ) -> Reply:
        """An AppRec «avvist» for a message nothing was stored of."""
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC).replace(microsecond=0)
        digest = hashlib.sha256(data).hexdigest()
        receipt_id = str(uuid.uuid5(_RECEIPTS, digest))
        if model is not None:
            receipt = receipt_for(
                model, receipt_id=receipt_id, gen_date=now, outcome="rejected", errors=_errors(err)
            )
        else:
            msg_id, msg_type, sender_her = _salvage(data, self.max_bytes)
            receipt = AppRec(
                msg_type=Code(v="APPREC", dn="Applikasjonskvittering"),
                gen_date=now,
                id=receipt_id,
                sender=self._own_party(),
                receiver=AppRecParty(
                    institution=Institution(
                        name="Ukjent avsender", id=sender_her or "0", type_id=_HER
                    )
                ),
                status=STATUS["rejected"],
                original=OriginalMessage(
                    msg_type=Code(v=msg_type or "UKJENT", dn=None if msg_type else "Ukjent"),
                    issue_date=now,
                    id=msg_id or f"sha256:{digest[:40]}",
                ),
                errors=_errors(err),
            )
        shown = ", ".join(i.message_id for i in err.issues)
        _log.warning("legacy message refused (%s): AppRec %s", shown, receipt_id)
        return Reply(address, f"apprec-{receipt_id}.xml", write_apprec(receipt), "rejected")

    def _own_party(self) -> AppRecParty:
        number, kind = (
            (self.own.her_id, _HER)
            if self.own.her_id
            else (self.own.orgnr, Code(v="ENH", dn="Organisasjonsnummer"))
        )
        return AppRecParty(institution=Institution(name=self.own.name, id=number, type_id=kind))


def _reply(address: str | None, kept: Kept) -> Reply:
    assert kept.apprec is not None and kept.name is not None and kept.outcome is not None
    return Reply(address, kept.name, kept.apprec, kept.outcome)


def _salvage(data: bytes, max_bytes: int) -> tuple[str | None, str | None, str | None]:
    """MsgId, message type and sender HER-id of a message the schemas refused, if it is at least
    well-formed and harmless (the same hardened parser; anything else gives nothing)."""
    try:
        root = parse_bytes(data, max_bytes=max_bytes)
    except IpError:
        return None, None, None
    ns = {"mh": NS["mh"]}

    def first(path: str) -> str | None:
        found = root.xpath(path, namespaces=ns)
        value = str(found[0]).strip() if found else ""
        return value[:80] if value and value.isprintable() else None

    return (
        first("/mh:MsgHead/mh:MsgInfo/mh:MsgId/text()"),
        first("/mh:MsgHead/mh:MsgInfo/mh:Type/@V"),
        first(
            "/mh:MsgHead/mh:MsgInfo/mh:Sender/mh:Organisation/mh:Ident[mh:TypeId/@V='HER']/mh:Id/text()"
        ),
    )
