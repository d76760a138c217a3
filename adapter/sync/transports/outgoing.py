"""The worker's transport, chosen per endpoint: FHIR or legacy (KITH XML).

:class:`TransportRouter` looks at the queued message's destination — the directory endpoint it
was routed to, which the directory only accepts as http(s) for FHIR endpoints and as ``file:``
/ ``amqp:`` for ``kith-folder`` / ``kith-amqp`` ones — and hands the message to the FHIR
transport or to :class:`LegacyTransport`. The outbox, its retry policy and the consent gate are
the same for both: the worker does not know which transport it talks to.

:class:`LegacyTransport` writes the queued message — the FHIR message Bundle built under the
person's consent when it was queued and checked again by the gate just before this — as MsgHead
+ Dialogmelding 1.1 (:func:`ipfhir.mappings.legacy.fhir.from_fhir`: it reads the Bundle and
nothing else, so nothing the consent refused can reach the XML), with the HER-ids of sender and
receiver from the directory, and hands it to the channel under its MsgId (= the outbox message
id: a redelivery replaces the same file or is de-duplicated by the receiver on MsgId). Handed
over is delivered; the partner's AppRec comes back through the inbox. A channel that cannot take
it now is retried with back-off and, after the policy's attempts, dead; a Bundle without an XML
form is dead at once (``fatal-error``, IP-614x).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.ports import Transport
from ipfhir.adapter.store.outbox import Message
from ipfhir.adapter.sync.messaging import response_bundle
from ipfhir.adapter.sync.policy import Attempt
from ipfhir.adapter.sync.transports.channels import Channel, ChannelError
from ipfhir.mappings.errors import IpError
from ipfhir.mappings.legacy.fhir import from_fhir
from ipfhir.mappings.legacy.messages import MESSAGES
from ipfhir.mappings.legacy.write_msghead import write

__all__ = ["LegacyTransport", "TransportRouter", "her_ids_of"]

_log = logging.getLogger(__name__)
PROCESS = "/$process-message"


def her_ids_of(directory: SqlDirectory) -> Callable[[], dict[str, str]]:
    """organisasjonsnummer → HER-id, read from the directory at each send (a load takes effect)."""
    return lambda: {e.orgnr: e.her_id for e in directory.entries() if e.her_id}


def _answer(message_id: str, err: IpError | None) -> Attempt:
    body = response_bundle(
        answer_id=str(uuid.uuid4()),
        request_id=message_id,
        code_="ok" if err is None else "fatal-error",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        err=err,
    )
    return Attempt(200, json.dumps(body, ensure_ascii=False))


class LegacyTransport:
    def __init__(
        self, channels: Mapping[str, Channel], her_ids: Callable[[], dict[str, str]]
    ) -> None:
        self.channels = dict(channels)
        self._her_ids = her_ids

    def post(self, message: Message) -> Attempt:
        address = message.destination.removesuffix(PROCESS)
        channel = self.channels.get(urlsplit(address).scheme)
        if channel is None:
            return _answer(message.message_id, _no_transport(address))
        try:
            data = write(from_fhir(message.payload, self._her_ids()))
        except IpError as err:
            _log.warning("message %s has no XML form: %s", message.message_id, err)
            return _answer(message.message_id, err)
        try:
            channel.put(address, f"{message.message_id}.xml", data)
        except ChannelError as err:
            return Attempt(error=str(err))
        return _answer(message.message_id, None)


def _no_transport(address: str) -> IpError:
    shown = urlsplit(address).scheme[:20]
    return IpError.single("IP-6158", f"{MESSAGES['IP-6158']} ({shown!r})", None, "not-supported")


class TransportRouter:
    """FHIR endpoints (http, https) to ``fhir``; legacy ones (``file``, ``amqp``) to ``legacy``."""

    def __init__(self, fhir: Transport[Message, Attempt], legacy: LegacyTransport) -> None:
        self.fhir = fhir
        self.legacy = legacy

    def post(self, message: Message) -> Attempt:
        scheme = urlsplit(message.destination).scheme
        if scheme in ("http", "https"):
            return self.fhir.post(message)
        return self.legacy.post(message)

    def close(self) -> None:
        closing: Any = getattr(self.fhir, "close", None)
        if closing is not None:
            closing()
