"""FHIR references as this server reads them: the one parser of ``Type/id``.

The search index, ``_include``, the plan rules, the change stamps and the consent context all
read references through here, so they cannot disagree on which resource (or which person) a
reference names. Relative (``Patient/7``), versioned (``Patient/7/_history/2``) and absolute
(``https://host/fhir/Patient/7``) forms name the same resource.
"""

from __future__ import annotations

__all__ = ["patient_key", "split_reference"]


def split_reference(ref: str) -> tuple[str | None, str]:
    """``Type/id`` (also absolute and versioned URLs) → (type, id); a bare id → (None, id)."""
    parts = ref.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    return None, ref


def patient_key(reference: object) -> str | None:
    """``Patient/id`` for a reference to a Patient (relative, absolute or versioned), else
    ``None`` (not a string, another type, no id, or more path than ``Type/id`` names)."""
    if not isinstance(reference, str):
        return None
    rtype, rid = split_reference(reference)
    return f"Patient/{rid}" if rtype == "Patient" and rid else None
