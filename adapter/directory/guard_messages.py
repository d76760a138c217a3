"""Catalogue of the exchange guards' message ids (IP-6120–6139; the directory and login own
IP-6000–6049 in :mod:`adapter.directory.messages`, the exchanges IP-6050–6089 in
:mod:`adapter.sync.messages`).

- IP-6120: ``$process-message`` with a token that does not carry the message scope.
- IP-6121: the token endpoint's lockout after repeated failed client authentications (429).
- IP-6122: a directory file with a second Endpoint for one organisation.
- IP-6123: a receiver's SMART configuration (where its token endpoint is) is unusable.
- IP-6124: ``ipfhir serve --worker-as`` names no valid organisasjonsnummer.
"""

from __future__ import annotations

from ipfhir.mappings.errors import Issue, catalogue_issue

__all__ = ["MESSAGE_SCOPE", "MESSAGES", "issue_guard"]

MESSAGE_SCOPE = "system/MessageHeader.c"  # the scope a sender's token needs for $process-message

MESSAGES: dict[str, str] = {
    "IP-6120": "$process-message needs an access token with the scope "
    "system/MessageHeader.c; this token grants '{scopes}'.",
    "IP-6121": "Too many failed client authentications from this address: try again in "
    "{seconds} s.",
    "IP-6122": "Organisation {orgnr} has more than one Endpoint in the file ({detail}): one "
    "endpoint per organisation — name the one to use in Organization.endpoint and leave the "
    "other out.",
    "IP-6123": "The SMART configuration {url} gives no usable token endpoint: {detail}",
    "IP-6124": "'{value}' (--worker-as) is not a valid organisasjonsnummer.",
}


def issue_guard(
    message_id: str, expression: str | None = None, code: str = "invalid", **kw: object
) -> Issue:
    """An :class:`Issue` with the catalogue text for ``message_id`` filled in with ``kw``."""
    return catalogue_issue(MESSAGES, message_id, expression, code, fields=kw)
