"""Catalogue of the directory's and server-to-server authentication's message ids (IP-60xx).

- IP-6000–6009: routing (no route, unusable route input).
- IP-6010–6029: a directory file ``ipfhir directory load`` refuses, and ``directory show``.
- IP-6030–6039: the token endpoint's refusals (the ``error_description`` of an OAuth error).
- IP-6040–6049: the client side: a token the receiver would not give.

The legacy XML layer owns IP-62xx (``mappings/legacy/messages.py``).
"""

from __future__ import annotations

from ipfhir.mappings.errors import InvalidInput, IpError, Issue, catalogue_issue

__all__ = ["MESSAGES", "DirectoryFileError", "NoRoute", "TokenRequestFailed", "issue6"]

MESSAGES: dict[str, str] = {
    "IP-6001": "No route: the directory has no coordinating unit (koordinerende enhet) with an "
    "active endpoint for kommunenummer {kommune}.",
    "IP-6002": "No route: organisation {orgnr} is not in the directory or has no active endpoint.",
    "IP-6003": "'{value}' is not a kommunenummer (four digits, county 01–56, municipality 01–99).",
    "IP-6004": "'{value}' is not an organisasjonsnummer (nine digits with a valid mod-11 "
    "control digit).",
    "IP-6005": "Route by a kommunenummer or by an organisasjonsnummer: give exactly one.",
    "IP-6010": "The directory file cannot be read: {detail}",
    "IP-6011": "A directory is a FHIR Bundle of type collection or transaction holding "
    "Organization and Endpoint resources; {detail}",
    "IP-6012": "The Organization has no valid organisasjonsnummer (identifier system "
    "urn:oid:2.16.578.1.12.4.1.4.101): {detail}",
    "IP-6013": "Organisation {orgnr} occurs more than once in the file.",
    "IP-6014": "'{value}' is not a kommunenummer (four digits, county 01–56, municipality 01–99).",
    "IP-6015": "A coordinating unit (koordinerende enhet) needs a kommunenummer, and a "
    "kommunenummer has at most one: {detail}",
    "IP-6016": "Organization.endpoint '{ref}' names no Endpoint in the file (one Endpoint per "
    "organisation).",
    "IP-6017": "Endpoint.address '{value}' is not an absolute http(s) URL without user info, "
    "query or fragment.",
    "IP-6018": "The Endpoint's JWKS (extension ip-endpoint-jwks, valueAttachment with url or "
    "data) is unusable: {detail}",
    "IP-6019": "Organisation {orgnr} is not in the directory.",
    "IP-6020": "The Endpoint is invalid: {detail}",
    "IP-6021": "The Organization's HER-id (identifier system urn:oid:2.16.578.1.12.4.1.2) must be "
    "one number: '{value}'.",
    "IP-6022": "A legacy Endpoint's address '{value}' must be file:///absolute/folder "
    "(kith-folder) or amqp://host[:port]/queue (kith-amqp), without user info, query or fragment.",
    "IP-6023": "HER-id {her} is held by organisation {other} already: a HER-id names one "
    "communication party (Adresseregisteret), so {orgnr} cannot have it too.",
    "IP-6030": "Client authentication failed.",
    "IP-6031": "Only grant_type=client_credentials is supported.",
    "IP-6032": "The token request is malformed: {detail}",
    "IP-6033": "The requested scope is not granted to organisations: {detail}",
    "IP-6040": "The token endpoint {url} refused the request: {error}.",
    "IP-6041": "The token endpoint {url} gave no usable answer: {detail}",
    "IP-6042": "The organisation key {path} cannot be used: {detail}. Move it away to make a "
    "new one (and give the others the new JWKS if they hold it inline).",
}


def issue6(
    message_id: str, expression: str | None = None, code: str = "invalid", **kw: object
) -> Issue:
    """An :class:`Issue` with the catalogue text for ``message_id`` filled in with ``kw``."""
    return catalogue_issue(MESSAGES, message_id, expression, code, fields=kw)


class NoRoute(InvalidInput):
    """No directory entry to send to (IP-6001, IP-6002) or unusable route input: nothing may be
    queued for it."""


class DirectoryFileError(InvalidInput):
    """A directory file that cannot be loaded (IP-6010–6023); nothing of it is stored."""


class TokenRequestFailed(IpError):
    """The receiver's token endpoint did not give an access token (IP-6040, IP-6041)."""
