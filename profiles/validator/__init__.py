"""Offline FHIR R4 profile validator (base R4, no-basis 2.2.0, the project's IP profiles).

    from ipfhir.profiles.validator import validate
    outcome = validate(resource)                    # meta.profile, else the base definition
    outcome = validate(resource, profile=canonical) # a given profile

Each issue carries severity, IssueType code, a FHIRPath ``expression`` and a stable message id
(IP-3xxx, catalogue in ``messages.py``). A :class:`Validator` keeps compiled profiles cached.
"""

from ipfhir.profiles.validator.api import Validator, default_validator, validate
from ipfhir.profiles.validator.messages import MESSAGES

__all__ = ["MESSAGES", "Validator", "default_validator", "validate"]
