"""Which resources are the directory and which fields tie a resource to a person: one statement
of the fact that the consent context (``adapter.consent.context.patient_of``: whose data a
resource is) and the store's change stamps (``adapter.store.stamps.ties``: whose cached context
a write invalidates) both depend on. Were they written twice they could drift, and a cached
consent context would outlive the write that changed it
(tests/unit/adapter/test_person_ties.py checks the two agree on every resource type).

- Directory types say nothing about a person on their own (providers, their addresses); a
  write of one bumps the one global stamp, so every cached context reloads.
- A resource is a person's through the first of :data:`PERSON_FIELDS` that references a Patient;
  a Provenance through the Patient among its targets (:data:`PERSON_LIST_FIELDS`); the Patient
  itself is its own. An AuditEvent names its person in ``entity.what``: read when deciding who
  may see it, but it bumps no stamp (the server writes it, and no plan context holds one).
- Only a write of a :data:`CONTEXT_TYPES` resource bumps its person's stamp: those are what a
  cached consent context holds (the person's Patient, CarePlans, CareTeams, Consents and
  relatives). A write of any other type tied to the person (a Goal, a Task, an Observation)
  changes nothing a cached context holds, so it bumps nothing and leaves every cached context
  valid: ten clients writing Goals for one person do not make each other reload the person's
  consent context. The Goals a judged CarePlan names are fetched by every operation that judges
  it, never cached (``adapter.consent.cache.cacheable`` refuses a context holding another type).
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "CONTEXT_TYPES",
    "DIRECTORY_KEY",
    "DIRECTORY_TYPES",
    "PERSON_FIELDS",
    "PERSON_LIST_FIELDS",
]

DIRECTORY_KEY = "*"  # the change stamp of the whole directory
DIRECTORY_TYPES = frozenset(
    {
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Endpoint",
        "HealthcareService",
        "Location",
    }
)
# The person's resources a cached consent context holds (adapter.consent.loader: the searches
# by person and the relatives named as parties; Patient is the person): a write of one bumps
# the person's stamp.
CONTEXT_TYPES = frozenset({"Patient", "CarePlan", "CareTeam", "Consent", "RelatedPerson"})
PERSON_FIELDS = ("subject", "patient", "beneficiary", "for")  # for: Task.for
# Fields holding a list of references among which a Patient ties the resource to that person.
PERSON_LIST_FIELDS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {"Provenance": ("target",)}
)
