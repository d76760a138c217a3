"""Transports for legacy (KITH XML) partners: the outbox's messages to them and theirs to us.

- :mod:`.channels`: where bytes go — a folder (written atomically: a temporary file, then a
  rename) or an AMQP queue (persistent, publisher-confirmed) — and where they come from;
- :mod:`.outgoing`: :class:`TransportRouter`, the worker's transport chosen per endpoint — FHIR
  (http/https, :class:`~adapter.sync.worker.HttpTransport`) or legacy (``file:``, ``amqp:``,
  the directory's ``kith-folder`` / ``kith-amqp`` endpoints), which writes the queued,
  consent-enforced FHIR message as MsgHead + Dialogmelding and hands it over;
- :mod:`.inbox`: :class:`LegacyInbox`, a received Dialogmelding carried out through the same
  receiver as ``$process-message`` (directory-known sender, de-duplication by MsgId, one write
  transaction) and answered with an AppRec; hostile or unusable XML with an AppRec «avvist»;
- :mod:`.pollers`: the loops that read a folder or a queue and send the AppRecs back.
"""

from ipfhir.adapter.sync.transports.channels import AmqpChannel, Channel, FolderChannel
from ipfhir.adapter.sync.transports.inbox import LegacyInbox, Reply
from ipfhir.adapter.sync.transports.outgoing import LegacyTransport, TransportRouter
from ipfhir.adapter.sync.transports.pollers import AmqpPoller, FolderPoller

__all__ = [
    "AmqpChannel",
    "AmqpPoller",
    "Channel",
    "FolderChannel",
    "FolderPoller",
    "LegacyInbox",
    "LegacyTransport",
    "Reply",
    "TransportRouter",
]
