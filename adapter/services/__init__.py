"""Use cases of the FHIR server: search-parameter registry, date ranges, validation wiring,
the capability statement and the plan rules the store enforces."""
