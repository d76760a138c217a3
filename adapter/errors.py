"""Service errors (extends ``mappings.errors``) and the IP-4xxx message catalogue.

    IpError                         (mappings.errors)
    ├── InvalidInput
    │   ├── FormatError             bad / hostile body, unsupported media type  (IP-2xxx, IP-40xx)
    │   ├── BadRequest              bad search parameter, bad Bundle, bad header (IP-41xx)
    │   └── ProfileViolation        the validator said no                       (IP-3xxx)
    ├── NotFound                    no such resource / version                  (IP-4201)
    ├── Gone                        deleted                                     (IP-4202)
    ├── NotAllowed                  interaction the domain forbids              (IP-4301)
    ├── Conflict                    one active plan per person, id clashes      (IP-4401)
    │                               a plan handed over is read-only              (IP-4490/4491)
    ├── PreconditionFailed          stale If-Match, ambiguous conditional create (IP-4402)
    ├── UnsupportedMediaType        wrong Content-Type                          (IP-4003)
    ├── NotAcceptable               Accept names no format we write             (IP-4004)
    ├── PayloadTooLarge             body over the size limit                    (IP-4001)
    ├── Unauthenticated             no / bad bearer token (adapter.security_errors)  401 IP-50xx
    ├── Forbidden                   scope, care team, AuditEvent (security_errors)  403
    └── StartupError                the server cannot start: settings, database, definitions
                                    (IP-46xx; raised before serving, one line on stderr, never
                                    an HTTP answer)

Only ``adapter/api`` maps these to HTTP status codes (one handler).
"""

from __future__ import annotations

from ipfhir.adapter.security_errors import Forbidden, Unauthenticated
from ipfhir.mappings.errors import (
    FormatError,
    InvalidInput,
    IpError,
    Issue,
    ProfileViolation,
    catalogue_issue,
)

__all__ = [
    "MESSAGES",
    "BadRequest",
    "Conflict",
    "Gone",
    "NotAcceptable",
    "NotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "StartupError",
    "UnsupportedMediaType",
    "issue",
    "status_for",
]

# Retired, never to be reused: IP-4002 and IP-4007 (bodies are read by mappings/, IP-20xx).
MESSAGES: dict[str, str] = {
    "IP-4001": "The request body is larger than the limit of {limit} bytes.",
    "IP-4003": "Content-Type '{ctype}' is not supported; send application/fhir+json or "
    "application/fhir+xml.",
    "IP-4004": "None of the formats in Accept/_format '{accept}' can be produced.",
    "IP-4005": "The body must be a FHIR resource of type {expected}, not {actual}.",
    "IP-4006": "The resource id '{body_id}' does not match the id '{url_id}' in the URL.",
    "IP-4008": "A request body is required.",
    "IP-4009": "The system is {n} characters long; this server stores systems of at most "
    "{limit} characters.",
    "IP-4010": "The body contains {what}, which no FHIR text may hold.",
    "IP-4101": "Unknown search parameter '{name}' for {rtype}.",
    "IP-4102": "Search parameter '{name}' has an invalid value '{value}': {detail}",
    "IP-4103": "Modifier ':{modifier}' is not supported on search parameter '{name}'.",
    "IP-4104": "_sort by '{key}' is not supported; use _id, _lastUpdated or date.",
    "IP-4105": "The paging token is invalid or belongs to another search.",
    "IP-4106": "Unknown search parameter '{name}' ignored.",
    "IP-4107": "_include/_revinclude '{value}' is not supported.",
    "IP-4110": "The Bundle type must be 'transaction' or 'batch', not '{btype}'.",
    "IP-4111": "Bundle entry {index} is invalid: {detail}",
    "IP-4112": "Transaction rolled back: entry {index} failed ({detail}).",
    "IP-4113": "Header {header} is invalid: '{value}'.",
    "IP-4114": "Resource type '{rtype}' is not supported by this server.",
    "IP-4115": "Unknown operation or path '{path}'.",
    "IP-4116": "The Bundle has {n} entries; at most {limit} are allowed in one request.",
    "IP-4117": "The HTTP request could not be parsed (method, request line, headers or "
    "chunked body); the connection is closed.",
    "IP-4120": "The search has more than {limit} criteria; at most {limit} are allowed in one "
    "request.",
    "IP-4121": "Search parameter '{name}' has {n} comma-separated values; at most {limit} are "
    "allowed.",
    "IP-4122": "The search has {n} values in all; at most {limit} are allowed in one request.",
    "IP-4130": "The database did not finish within the server's time limit; the request was "
    "cancelled. Narrow the search or retry later.",
    # Said alike for a target that does not exist, is hidden from the caller or is another
    # person's: which of these it is would tell about a resource the caller may not see.
    "IP-4140": "Provenance.target '{ref}' is not a resource of {patient}, the person this "
    "Provenance names; a Provenance records changes to one person's data.",
    "IP-4201": "{rtype}/{rid} was not found.",
    "IP-4202": "{rtype}/{rid} has been deleted.",
    "IP-4203": "{rtype}/{rid} has no version {vid}.",
    "IP-4301": "{interaction} is not allowed on {rtype}: {reason}",
    "IP-4302": "HTTP method {method} is not allowed here.",
    # The existing plan's id is not named: the caller may not be allowed to see it.
    "IP-4401": "Patient/{patient} already has an active individual plan; one person has one plan "
    "(forskrift § 6): revise or transfer that plan instead of creating another.",
    "IP-4402": "Version conflict: If-Match names version {expected}, the current version is "
    "{current}.",
    "IP-4403": "Conditional create matched {count} resources; it must match at most one.",
    "IP-4404": "The resource was changed concurrently; retry.",
    "IP-4405": "If-Match must be a weak ETag like W/\"3\", not '{value}'.",
    # The handover marks (adapter/fhir/handover.py): the plan moved to another municipality.
    "IP-4490": "{rtype}/{rid} is part of an individual plan handed over to another municipality "
    "({state}): it is read-only here; the person's active plan is kept by the new municipality.",
    "IP-4491": "meta.tag '{tag}' (ip-exchange) is set by the plan transfer only.",
    "IP-4501": "The resource failed validation against its profile.",
    "IP-4601": "The database {url} cannot be used: {detail}",
    "IP-4602": "The database {url} could not be brought to the current schema: {detail}",
    "IP-4603": "The database {url} is read-only (a standby, a read-only role or file): {detail}",
    "IP-4604": "This installation lacks the profile definitions ({missing}); reinstall "
    "ip-fhir-adapter from its wheel.",
    "IP-4605": "Setting {name} is invalid: {detail}",
    "IP-4901": "Internal server error (reference {ref}).",
}


def issue(
    message_id: str, expression: str | None = None, code: str = "invalid", **kw: object
) -> Issue:
    """An :class:`Issue` with the catalogue text for ``message_id`` filled in with ``kw``."""
    return catalogue_issue(MESSAGES, message_id, expression, code, fields=kw)


class BadRequest(InvalidInput):
    """A request the server understands but refuses: bad parameter, header or Bundle."""


class NotFound(IpError):
    """No such resource or version."""


class Gone(IpError):
    """The resource existed but its current version is a deletion."""


class NotAllowed(IpError):
    """The interaction is forbidden for this resource (e.g. deleting a plan)."""


class Conflict(IpError):
    """The write clashes with what is stored (e.g. a second active plan for one person)."""


class PreconditionFailed(IpError):
    """A condition of the request does not hold (stale If-Match, ambiguous conditional create)."""


class UnsupportedMediaType(FormatError):
    """The body's Content-Type is not one we read."""


class NotAcceptable(IpError):
    """No format the caller accepts can be produced."""


class PayloadTooLarge(FormatError):
    """The body exceeds the configured size limit."""


class StartupError(IpError):
    """The server cannot start (database, keys, settings, installation). Raised before the
    first request; the CLI prints it as one line and exits non-zero."""


_STATUS: tuple[tuple[type[IpError], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (NotAcceptable, 406),
    (NotFound, 404),
    (Gone, 410),
    (NotAllowed, 405),
    (Conflict, 409),
    (PreconditionFailed, 412),
    (ProfileViolation, 422),
    (InvalidInput, 400),
)


def status_for(err: IpError) -> int:
    """The HTTP status of ``err`` (also used for entries of batch/transaction responses)."""
    for cls, status in _STATUS:
        if isinstance(err, cls):
            return status
    return 500
