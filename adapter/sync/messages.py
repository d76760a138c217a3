"""Catalogue of the exchanges' message ids (IP-605x–608x, IP-6100–6119; the directory and
login own IP-6000–6049 in :mod:`adapter.directory.messages`, legacy XML IP-62xx).

- IP-6050–6069: the sender (``ipfhir notify``, ``ipfhir notify respond``): nothing is queued.
- IP-6070–6089: the receiver (``POST [base]/$process-message``): the OperationOutcome of a
  refusal or of a ``fatal-error`` answer.
- IP-6090–6099: the plan transfer between municipalities (``ipfhir transfer``): refusals of the
  commands, the receiver's refusals of transfer messages, and the reasons a transfer Task gives
  (``Task.statusReason``) when it did not happen.
- IP-6100–6103: revocation notices — IP-6100 the sender's audit of a recipient it cannot tell,
  IP-6101–6103 the receiver's refusals of a revocation (``fatal-error``).
- IP-6104–6112: the plan transfer, continued — the reasons a transfer Task gives when B,
  asked (``ip-transfer-query``), has not stored the plan, when an operator abandons the
  transfer or a revocation notice ends it, and the refusals of ``transfer abandon``.
"""

from __future__ import annotations

from ipfhir.adapter.security_errors import Forbidden
from ipfhir.mappings.errors import InvalidInput, Issue, catalogue_issue

__all__ = [
    "MESSAGES",
    "MessageRefused",
    "NotifyRefused",
    "SenderRefused",
    "TransferRefused",
    "TryAgain",
    "issue_sync",
]

MESSAGES: dict[str, str] = {
    "IP-6050": "Patient/{pid} is not in this adapter's store.",
    "IP-6051": "The person's consent in force does not let organisation {orgnr} receive "
    "their data: nothing was queued.",
    "IP-6052": "Patient/{pid} has no home address in force naming one kommunenummer: give "
    "--to-kommune or --to-org.",
    "IP-6053": "This adapter's own address is unknown: load its own directory entry "
    "(organisation {orgnr}) or give --from-base.",
    "IP-6054": "Task/{tid} is not a notification this adapter received, or it is answered "
    "already ({status}).",
    "IP-6055": "Organisation {orgnr} (--as) is not a valid organisasjonsnummer.",
    "IP-6056": "Not sent: the person's consent no longer lets organisation {orgnr} receive "
    "this (withdrawn, narrowed or expired after the message was queued).",
    "IP-6057": "Not sent: the directory no longer routes organisation {orgnr} to this message's "
    "destination (suspended, inactive or moved after the message was queued).",
    "IP-6070": "Only an organisation in this adapter's directory may send messages here.",
    "IP-6071": "The body is not a FHIR message: {detail}",
    "IP-6072": "MessageHeader.source.endpoint is not the endpoint the directory holds for the "
    "authenticated organisation.",
    "IP-6073": "MessageHeader.destination.endpoint '{value}' is not this adapter.",
    "IP-6074": "Event '{event}' is not processed here (ip-exchange ip-notification, "
    "ip-notification-response, ip-transfer, ip-transfer-response, ip-transfer-plan, "
    "ip-transfer-query, ip-revocation).",
    "IP-6075": "The message's Task is unusable: {detail}",
    "IP-6076": "The answer names no notification this adapter sent to the answering organisation.",
    "IP-6077": "MessageHeader.destination.receiver '{orgnr}' is not an organisation this adapter "
    "serves.",
    "IP-6090": "Patient/{pid} has no active individual plan that organisation {orgnr} owns here: "
    "there is nothing it can transfer.",
    "IP-6091": "Task/{tid} is not a transfer request this adapter received, or it is answered "
    "already ({status}).",
    "IP-6092": "The person already has an active individual plan here: the transfer cannot be "
    "taken on (one person has one plan).",
    "IP-6093": "A transfer of this plan is already under way (Task/{tid}, {status}).",
    "IP-6094": "Task/{tid} is not a transfer this adapter requested.",
    "IP-6095": "The transfer message does not fit a transfer between these organisations: {detail}",
    "IP-6096": "The plan was not sent: the person's consent no longer lets organisation {orgnr} "
    "receive it. The plan stays active here.",
    "IP-6097": "Organisation {orgnr} was not reached ({why}): the plan stays active here.",
    "IP-6098": "Organisation {orgnr} did not answer by {date}: the plan stays active here.",
    "IP-6099": "--overlap-days must be a whole number from 0 to 90, not '{value}'.",
    # revocation notices (IP-6100–6103)
    "IP-6100": "Organisation {orgnr} received data under {consent} but is not told of its "
    "withdrawal or narrowing: {why}.",
    "IP-6101": "The revocation names no notification this adapter received from the sending "
    "organisation.",
    "IP-6102": "The revocation is unusable: {detail}",
    "IP-6103": "The security label ip-exchange#consent-revoked is set by this adapter only, on "
    "what a revocation notice sealed; it is never written through the API or carried in a "
    "message.",
    # the plan transfer, continued (IP-6104–6112)
    "IP-6104": "Organisation {orgnr} asked about the transfer before its plan arrived here: the "
    "transfer is closed here, and a plan arriving for it later is refused.",
    "IP-6105": "Organisation {orgnr} has not stored the plan and has closed the transfer: the "
    "plan stays active here.",
    "IP-6106": "Task/{tid} is not a transfer organisation {orgnr} requested here.",
    "IP-6107": "Task/{tid} is {status}: only an open transfer can be abandoned.",
    "IP-6108": "Abandoned by organisation {orgnr}: {why}. Organisation {receiver} may hold a "
    "copy of the plan if the plan message reached it; the plan stays active here.",
    "IP-6109": "Not sent: transfer Task/{tid} is {status} here (it ended after the message was "
    "queued).",
    "IP-6110": "The person's consent was withdrawn or narrowed and organisation {orgnr} is "
    "told so (ip-revocation): the transfer request is ended; the plan stays active here.",
    "IP-6111": "--coordinator-hpr must be an HPR number (1 to 9 digits) given with --accept, "
    "not '{value}'.",
}


def issue_sync(
    message_id: str, expression: str | None = None, code: str = "invalid", **kw: object
) -> Issue:
    """An :class:`Issue` with the catalogue text for ``message_id`` filled in with ``kw``."""
    return catalogue_issue(MESSAGES, message_id, expression, code, fields=kw)


class NotifyRefused(InvalidInput):
    """A notification or answer the sender will not queue (IP-6050–6069)."""


class MessageRefused(InvalidInput):
    """A message the receiver refuses as it stands (IP-6071–6077): answered ``fatal-error``,
    retrying the same message cannot help."""


class TransferRefused(InvalidInput):
    """A transfer command this adapter will not carry out (IP-6090–6099): nothing is queued."""


class TryAgain(Exception):
    """A message that cannot be carried out right now (answered ``transient-error``, recorded
    nowhere, so the sender's retry is carried out afresh)."""


class SenderRefused(Forbidden):
    """The caller is not a directory-known sender of this message (IP-6070, IP-6072)."""
