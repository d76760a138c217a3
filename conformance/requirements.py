"""What the kit verifies: every requirement an individual-plan server must meet, with its source.

Ids: ``IP-a`` … ``IP-i`` are the content list of the regulation (forskrift om individuell plan,
items a–i); ``PROF-*`` the project's profiles (profiles/mapping-table.md); ``REST-*`` FHIR R4 REST
rules (http://hl7.org/fhir/R4/http.html); ``CONSENT-*`` the person's consent (§ 5 of the domain
digest, docs/threat-model.md); ``WF-*`` the workflows (§ 6); ``SEC-*`` hostile input.
``tests/conformance`` proves that every requirement is verified by at least one check.
"""

from __future__ import annotations

__all__ = ["REQUIREMENTS"]

REQUIREMENTS: dict[str, str] = {
    "IP-a": "The person's goals, resources and need for services (content list item a)",
    "IP-b": "Who takes part in the plan work (item b)",
    "IP-c": "Who is responsible for coordination and progress: the coordinator (item c)",
    "IP-d": "What the person, providers and relatives each contribute (item d)",
    "IP-e": "Which measures, their extent, and who is responsible for each (item e)",
    "IP-f": "How the measures are carried out (item f)",
    "IP-g": "Plan period, and times for adjustment and revision (item g)",
    "IP-h": "Consent to make the plan, and consent to share information (item h)",
    "IP-i": "Necessary or desired cooperation with other providers and agencies (item i)",
    "PROF-careplan": "CarePlan conforms to ip-careplan",
    "PROF-careteam": "CareTeam conforms to ip-careteam",
    "PROF-goal": "Goal conforms to ip-goal",
    "PROF-consent": "Consents conform to ip-plan-consent and ip-sharing-consent",
    "PROF-xml": "The IP resources are served as valid FHIR XML too",
    "REST-capability": "GET /metadata returns a CapabilityStatement for FHIR 4.0.1",
    "REST-formats": "JSON and XML (application/fhir+json, application/fhir+xml)",
    "REST-profiles": "The CapabilityStatement declares the IP profiles it supports",
    "REST-interactions": "read, vread, create, update, history, search and transaction declared",
    "REST-operations": "The operations a vendor offers ($validate, CarePlan/$everything)",
    "REST-security": "The CapabilityStatement declares how clients authenticate (OAuth / SMART)",
    "REST-auth": "A request without a token gets 401 and no data",
    "REST-crud": "create (201, Location, ETag) and read return what was written",
    "REST-versioning": "update makes a new version; vread and history return every version",
    "REST-if-match": "An update with a stale If-Match is refused with 412",
    "REST-conditional-create": "If-None-Exist finds the existing resource instead of a duplicate",
    "REST-transaction": "A transaction is atomic: one failing entry stores nothing",
    "REST-search-identifier": "The person is found by the national identifier",
    "REST-paging": "Search results page with next links that reach every match once",
    "REST-errors": "Errors are OperationOutcomes with a 4xx status for the client's mistakes",
    "CONSENT-permit": "A recipient named by the sharing Consent sees the consented part",
    "CONSENT-topic": "A topic the person refused is absent for the recipient",
    "CONSENT-actor": "An environment the person refused gets nothing of the plan",
    "CONSENT-revocation": "A revoked consent takes effect on the next request",
    "CONSENT-channels": "Totals, links, status codes and error texts do not reveal hidden data",
    "CONSENT-xml": "The consent is enforced the same way in XML",
    "WF-notice": "Hospital → municipality: notice of need for IP and coordinator is acknowledged",
    "WF-dedup": "A duplicate message is answered with the original acknowledgement",
    "WF-transfer": "Municipality → municipality: transfer of the plan when the person moves",
    "SEC-malformed": "Malformed JSON and XML get a 4xx OperationOutcome, nothing is stored",
    "SEC-xxe": "XML with DOCTYPE / external entities is refused, nothing is read or stored",
    "SEC-oversize": "An oversize body is refused with a 4xx OperationOutcome, nothing stored",
}
