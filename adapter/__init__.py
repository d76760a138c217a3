"""The FHIR adapter service: CLI, FHIR REST API, store, consent enforcement and audit."""
