"""The FHIR version pin: R4 (4.0.1) through ``fhir.resources.R4B``, and the R4 element table.

This is the only module of the project that imports ``fhir.resources`` (always the ``R4B``
package: there is no R4 package, and the R5 default rejects R4 data). The import happens on first
use, never at import time.

Resources travel as plain JSON dicts (R4 JSON form). Decimals are best carried as
:class:`decimal.Decimal` (what :func:`mappings.fhirjson.parse_json` produces), so that ``1.50``
keeps its precision; floats and ints are accepted too.

Coercions found in fhir.resources 8.3.0 R4B (``model_validate(..., strict=True)``):

* boolean: ``"yes"``, ``"on"``, ``"1"``, ``1`` become ``true`` even in strict mode;
* integer: ``"5"`` and ``5.0`` become ``5``, also in strict mode;
* dateTime/instant: ``+00:00`` is written back as ``Z``, fractions of a second as 6 digits;
* decimal: the string ``"1.5"`` is read as the number 1.5; written back as a float
  (``1.50`` -> ``1.5``);
* dateTime: a JSON number is read as a Unix timestamp (``20200101`` -> ``1970-08-22T19:08:21Z``).

:func:`parse_resource` therefore validates strictly, dumps the model and compares the dump with
the input: any value that changed in type or value is refused (IP-2024, IP-2025), any element
the model dropped or invented too (IP-2026). Values that only changed their lexical form
(same instant, same number) are accepted, and :func:`check_resource` returns them in the
input's original form.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, time
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

from ipfhir.mappings.errors import FormatError, Issue, MappingError, catalogue_issue

__all__ = [
    "MESSAGES",
    "check_resource",
    "parse_resource",
    "r4_elements",
    "resource_to_dict",
]

# Catalogue of the FHIR layer's message ids (IP-20xx): JSON 2001-2019, models 2020-2039,
# XML 2040-2069.
MESSAGES: dict[str, str] = {
    "IP-2001": "The body is not valid UTF-8.",
    "IP-2002": "The body is not valid JSON.",
    "IP-2003": "A JSON object has the same key twice.",
    "IP-2004": "NaN and Infinity are not JSON numbers.",
    "IP-2005": "The JSON is nested too deeply.",
    "IP-2006": "The top level of a FHIR resource must be a JSON object.",
    "IP-2007": "The body is larger than allowed.",
    "IP-2008": "The value cannot be written as JSON.",
    "IP-2020": "A resource must be a JSON object with a string resourceType.",
    "IP-2021": "Unknown or abstract resource type.",
    "IP-2022": "The element's value is not valid for its FHIR type.",
    "IP-2023": "Unknown element.",
    "IP-2024": "A FHIR boolean must be the JSON literal true or false.",
    "IP-2025": "The value would be changed (coerced) by reading it; give it in its FHIR JSON type.",
    "IP-2026": "The element would be lost or added by reading it.",
    "IP-2027": "A required element is missing.",
    "IP-2040": "The XML is not well-formed.",
    "IP-2041": "DOCTYPE and ENTITY declarations are not allowed.",
    "IP-2042": "FHIR XML must be encoded as UTF-8.",
    "IP-2043": "The root element is not a FHIR resource in the namespace http://hl7.org/fhir.",
    "IP-2044": "Unknown element.",
    "IP-2045": "The element may appear only once.",
    "IP-2046": "Unknown attribute.",
    "IP-2047": "Text is not allowed here.",
    "IP-2048": "The value attribute is not valid for the element's type.",
    "IP-2049": "A primitive element needs a value or an extension.",
    "IP-2050": "A resource wrapper must hold exactly one resource.",
    "IP-2051": "The narrative must be one xhtml div (namespace http://www.w3.org/1999/xhtml).",
    "IP-2052": "The JSON value has the wrong type for this element.",
    "IP-2053": "The text contains characters that XML cannot carry.",
}

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@cache
def r4_elements() -> dict[str, Any]:
    """The compiled R4 element table (``mappings/data/r4-elements.json``), loaded once."""
    text = files("ipfhir.mappings").joinpath("data", "r4-elements.json").read_text(encoding="utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


def _issue(message_id: str, expression: str, detail: str = "", code: str = "invalid") -> Issue:
    return catalogue_issue(MESSAGES, message_id, expression, code, detail)


def _model_class(data: Any) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FormatError([_issue("IP-2020", "Resource", code="structure")])
    resource_type = data["resourceType"]
    if resource_type not in r4_elements()["resources"]:
        raise FormatError([_issue("IP-2021", resource_type, repr(resource_type), "not-supported")])
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def _fhirpath(root: str, loc: tuple[int | str, ...]) -> str:
    """FHIRPath of a pydantic location: ('name', 0, '_given', 1) -> Patient.name[0].given[1]."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENT.fullmatch(part) and part != "__root__":
            path += "." + part.removeprefix("_")
    return path


def _validation_error(root: str, error: Any) -> MappingError:
    issues = []
    for e in error.errors():
        where = _fhirpath(root, e["loc"])
        if e["type"] == "extra_forbidden":
            issues.append(_issue("IP-2023", where, code="structure"))
        elif e["type"] in ("missing", "model_field_validation.missing"):
            issues.append(_issue("IP-2027", where, code="required"))
        else:
            issues.append(_issue("IP-2022", where, e["msg"], "value"))
    return MappingError(issues)


def _validate(data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Model and verified output (input lexical forms kept where the value is the same)."""
    from pydantic import ValidationError

    cls = _model_class(data)
    try:
        model = cls.model_validate(data, strict=True)
    except ValidationError as error:
        raise _validation_error(data["resourceType"], error) from None
    issues: list[Issue] = []
    out = _reconcile(data, model.model_dump(mode="json"), data["resourceType"], issues)
    if issues:
        raise MappingError(issues)
    return model, out


def parse_resource(data: dict[str, Any]) -> Any:
    """Read an R4 JSON resource into its fhir.resources (R4B) model; refuse what it would coerce.

    Raises :class:`FormatError` when ``data`` is not a resource of a known concrete type, and
    :class:`MappingError` (with FHIRPath expressions) when elements are invalid, unknown or would
    be changed by reading them.
    """
    return _validate(data)[0]


def resource_to_dict(model: Any) -> dict[str, Any]:
    """The R4 JSON form of a model, as fhir.resources writes it (decimals as floats, ``Z`` for UTC).

    To keep the input's lexical forms use :func:`check_resource` on the JSON instead.
    """
    out: dict[str, Any] = model.model_dump(mode="json")
    return out


def check_resource(data: dict[str, Any]) -> dict[str, Any]:
    """Parse and dump (the round trip); returns the resource with its original lexical forms.

    Every value of the result was checked against the model's dump: equal, or the same
    date/time instant or number written differently (then the input's form is kept).
    """
    return _validate(data)[1]


def _reconcile(given: Any, dumped: Any, path: str, issues: list[Issue]) -> Any:
    if isinstance(given, dict) and isinstance(dumped, dict):
        out: dict[str, Any] = {}
        for key in [*given, *(k for k in dumped if k not in given)]:
            where = f"{path}.{key.removeprefix('_')}"
            if key not in given or key not in dumped:
                issues.append(_issue("IP-2026", where, code="structure"))
            else:
                out[key] = _reconcile(given[key], dumped[key], where, issues)
        return out
    if isinstance(given, list) and isinstance(dumped, list):
        if len(given) != len(dumped):
            issues.append(_issue("IP-2026", path, code="structure"))
            return dumped
        return [
            _reconcile(g, d, f"{path}[{i}]", issues)
            for i, (g, d) in enumerate(zip(given, dumped, strict=True))
        ]
    if _same_value(given, dumped):
        return given
    if isinstance(dumped, bool):
        issues.append(_issue("IP-2024", path, f"Got {given!r}.", "value"))
    else:
        issues.append(_issue("IP-2025", path, f"Got {given!r}, read as {dumped!r}.", "value"))
    return dumped


def _same_value(given: Any, dumped: Any) -> bool:
    if isinstance(given, bool) or isinstance(dumped, bool):
        return type(given) is type(dumped) and given == dumped
    if given is None or dumped is None:
        return given is dumped
    if isinstance(dumped, int) and not isinstance(given, int):
        return False  # an integer given as 5.0 or "5"
    if isinstance(given, int | float | Decimal) and isinstance(dumped, int | float | Decimal):
        return Decimal(str(given)) == Decimal(str(dumped))
    if isinstance(given, str) and isinstance(dumped, str):
        return given == dumped or _same_instant(given, dumped)
    return False


_TEMPORAL = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)|\d\d:\d\d:\d\d(\.\d+)?")


def _same_instant(given: str, dumped: str) -> bool:
    """Same dateTime/instant/time written otherwise (``+00:00``/``Z``, ``.12``/``.120000``)."""
    if not (_TEMPORAL.fullmatch(given) and _TEMPORAL.fullmatch(dumped)):
        return False
    parse = time.fromisoformat if "T" not in given else datetime.fromisoformat
    try:
        return bool(parse(given) == parse(dumped))
    except ValueError:
        return False
