"""Pure layer: the individual plan model, its rules and its mapping to and from FHIR R4."""
