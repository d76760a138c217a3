"""Authentication, consent and audit errors and the IP-5xxx message catalogue.

A leaf module (it imports only ``mappings.errors``): the token check (``adapter.auth``), the
consent enforcement point (``adapter.consent``) and ``adapter.errors`` all raise these, so none
of them has to import another's package for its errors.

    IpError                          (mappings.errors)
    ├── Unauthenticated              no / bad bearer token                         401 (IP-50xx)
    ├── Forbidden                    scope missing, purpose not served, a write   403
    │                                beyond the writer's authority, AuditEvent
    │                                written by a client                   (IP-50xx, IP-51xx)
    └── PlanRuleViolation            (mappings.errors) who may consent     400     (IP-52xx)

A resource hidden by consent is answered exactly like a missing one (``adapter.errors.NotFound``,
IP-4201), so that a refusal does not reveal that the resource exists.
"""

from __future__ import annotations

from ipfhir.mappings.errors import IpError, Issue, catalogue_issue

__all__ = ["MESSAGES", "Forbidden", "Unauthenticated", "issue5"]

# Retired, never to be reused: IP-5105 (a refused recipient gets the outsider's answer, IP-5101).
MESSAGES: dict[str, str] = {
    "IP-5001": "This request needs a bearer token (Authorization: Bearer <JWT>).",
    "IP-5002": "The bearer token was not accepted: {detail}",
    "IP-5003": "The token's scopes do not allow '{interaction}' on {rtype} (need {needed}).",
    "IP-5004": "The token names no organisation (organisasjonsnummer claim missing).",
    "IP-5005": "Authentication is not configured: set IPFHIR_AUTH_ISSUER and IPFHIR_AUTH_JWKS, "
    "or start the server with --dev.",
    # IP-5006 reaches clients: it never names the key source (a server-side path or address).
    "IP-5006": "The token's signing key could not be checked just now; try again later.",
    "IP-5007": "The signing keys (JWKS) could not be loaded from '{source}': {detail}",
    "IP-5101": "Only the plan's care team may write {rtype} for this person; the caller is not in "
    "it.",
    "IP-5102": "AuditEvent is written by the server only; clients may read it.",
    "IP-5103": "Only the plan's owner or coordinator may ask what others are disclosed.",
    "IP-5104": "The CarePlan/CareTeam of a new plan must name the caller's own organisation as "
    "owner.",
    "IP-5106": "A {rtype} is personal data of one person and must name that person as a local "
    "reference (Patient/id).",
    # IP-5107..5111: write authority and token identity (adapter.consent.authority, adapter.auth)
    "IP-5107": "The token's purpose of use '{purpose}' is not one this server serves.",
    "IP-5108": "{what} identifies who acts in a plan and cannot be changed; create a new "
    "{rtype} instead.",
    "IP-5109": "Only the plan's owner or coordinator may write this; a care-team member writes "
    "only its own contribution and the progress of measures it is responsible for.",
    "IP-5110": "A plan relies on this {rtype}; only the plan's owner may change or delete it.",
    "IP-5111": "The token names no purpose of use (purpose_of_use claim missing).",
    "IP-5112": "A refusal in a sharing consent is a deny that nests no further provision: a "
    "permit below it would out-rank the person's refusal.",
    "IP-5113": "A notification may be filed through the API only in the caller's own inbox; "
    "notifications to other organisations are sent with the exchange, under the consent.",
    "IP-5114": "A Consent's person never changes: it was given by and for {patient}; record "
    "the other person's consent as a new Consent.",
    "IP-5202": "The Consent's patient {patient} must be stored with a birthDate before consent "
    "can be judged.",
    "IP-5203": "The Consent names performer {ref} which is neither the person nor a stored "
    "RelatedPerson of the person.",
    # IP-5204..5206: who may consent (texts come from mappings.competence, IP-1024..1026)
    "IP-5204": "The person cannot give this consent alone, or the givers cannot give it for them.",
    "IP-5205": "A guardian's mandate does not cover this consent.",
    "IP-5206": "A performer's capacity does not fit who they are.",
    "IP-5301": "Parameter '{name}' is required.",
    "IP-5302": "Parameter '{name}' has an invalid value '{value}'.",
}


def issue5(
    message_id: str, expression: str | None = None, code: str = "security", **kw: object
) -> Issue:
    """An :class:`Issue` with the IP-5xxx catalogue text for ``message_id``."""
    return catalogue_issue(MESSAGES, message_id, expression, code, fields=kw)


class Unauthenticated(IpError):
    """No bearer token, or one that does not verify (HTTP 401)."""


class Forbidden(IpError):
    """Authenticated, but not allowed to do this (HTTP 403)."""
