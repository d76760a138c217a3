"""The vendor conformance kit: checks any FHIR endpoint over HTTP (never imports ``adapter``)."""
