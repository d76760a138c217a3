"""Free text ⇄ FHIR: plain text as before, or labelled parts as ``ext:ip-text-part``.

Each part is one ``ext:ip-text-part`` (sub-extensions ``text`` valueString and
``ext:ip-security-label`` valueCoding per topic), in the text's order. Where the text lives:
- a string element of a resource (``CarePlan.description``): the parts are extensions on the
  primitive (``_description``) and the string holds their texts joined by one space, so a reader
  that knows nothing of parts still reads the whole text. On the way back the string must equal
  the joined parts (IP-2106): a string that says more than its parts would carry words past
  every refusal.
- a free-text extension (``ip-contribution``, ``ip-consent-remarks``, ip-cooperation's
  ``description``): ``valueString`` for plain text, or the parts as its sub-extensions
  (FHIR allows one or the other; ip-text-1).
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings import codes
from ipfhir.mappings.errors import MappingError
from ipfhir.mappings.fhir_common import Json, ext
from ipfhir.mappings.model import PART_SEPARATOR, FreeText, TextPart

__all__ = [
    "TEXT_PART_URL",
    "free_text_from_fhir",
    "free_text_of_extension",
    "free_text_to_fhir",
    "text_extension",
]

TEXT_PART_URL = codes.ext_url("ip-text-part")
_LABEL_URL = codes.ext_url("ip-security-label")
_TOPIC = codes.cs_url("ip-information-topic")


def _part_to_fhir(part: TextPart) -> Json:
    subs: list[Json] = [{"url": "text", "valueString": part.text}]
    subs += [
        ext("ip-security-label", "valueCoding", {"system": _TOPIC, "code": t}) for t in part.topics
    ]
    return {"url": TEXT_PART_URL, "extension": subs}


def free_text_to_fhir(key: str, value: FreeText) -> Json:
    """``{key: text}``, plus ``{"_" + key: {"extension": [parts]}}`` for a text in parts."""
    if isinstance(value, str):
        return {key: value}
    return {
        key: PART_SEPARATOR.join(p.text for p in value),
        f"_{key}": {"extension": [_part_to_fhir(p) for p in value]},
    }


def text_extension(url: str, value: FreeText) -> Json:
    """A free-text extension (or sub-extension) ``url``: valueString, or the labelled parts."""
    if isinstance(value, str):
        return {"url": url, "valueString": value}
    return {"url": url, "extension": [_part_to_fhir(p) for p in value]}


def free_text_of_extension(extension: Json) -> Any:
    """The free text of a free-text extension: its valueString, or its parts, or None."""
    parts = [e for e in extension.get("extension", []) if e.get("url") == TEXT_PART_URL]
    if parts:
        return [_part_from_fhir(p) for p in parts]
    return extension.get("valueString")


def _part_from_fhir(part: Json) -> Json:
    subs = part.get("extension", [])
    text = next((s.get("valueString") for s in subs if s.get("url") == "text"), None)
    topics = [
        s["valueCoding"].get("code")
        for s in subs
        if s.get("url") == _LABEL_URL and isinstance(s.get("valueCoding"), dict)
    ]
    out: Json = {"text": text}
    if topics:
        out["topics"] = topics
    return out


def free_text_from_fhir(element: Json, key: str, path: str) -> Any:
    """The plan's free text of ``element[key]``: a string, a list of parts, or None."""
    text = element.get(key)
    carrier = element.get(f"_{key}")
    parts = [
        e
        for e in (carrier.get("extension", []) if isinstance(carrier, dict) else [])
        if e.get("url") == TEXT_PART_URL
    ]
    if not parts:
        return text
    out = [_part_from_fhir(p) for p in parts]
    joined = PART_SEPARATOR.join(str(p["text"]) for p in out)
    if text != joined:
        raise MappingError.single(
            "IP-2106",
            "A text split into labelled parts must be exactly its parts joined by one space; "
            "this text says something its parts do not.",
            f"{path}.{key}",
            "invariant",
        )
    return out
