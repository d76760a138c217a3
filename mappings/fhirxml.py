"""FHIR R4 XML <-> R4 JSON dicts, per https://hl7.org/fhir/R4/xml.html (not fhir.resources' XML).

Type knowledge (repeating or single, primitive type, choice names, backbone and content-reference
types, XML attributes) comes from ``mappings/data/r4-elements.json``, compiled from the shipped R4
StructureDefinitions by ``tools/gen_r4_elements.py``.

* Primitives: ``value`` attribute; ``id`` attribute and ``extension`` children become ``_name`` in
  JSON (arrays of primitives aligned with ``null``). booleans and integers become JSON booleans and
  ints, decimals :class:`~decimal.Decimal` (lexical precision kept), everything else strings.
* ``Element.id`` and ``Extension.url`` are attributes; a resource's own ``id`` is an element.
* ``contained``, ``Bundle.entry.resource``, ``Parameters.parameter.resource``: resource wrappers.
* Narrative ``div`` (xhtml namespace) is a string in JSON, as FHIR JSON has it: serialised by
  lxml with ``"`` in text written ``&quot;`` (as the FHIR reference serialiser does); :func:`to_xml`
  embeds the JSON string verbatim after checking it is one well-formed xhtml ``div``.

The reader is hardened: UTF-8 only, no DTD, no entities, no network, no huge trees; any DOCTYPE or
ENTITY declaration is refused (XXE, billion laughs). Errors are :class:`FormatError` s with
IP-2040..IP-2053 and the FHIRPath of the offending element.
"""

from __future__ import annotations

from ipfhir.mappings.fhirxml_read import parse_xml
from ipfhir.mappings.fhirxml_spec import FHIR_NS, XHTML_NS
from ipfhir.mappings.fhirxml_write import to_xml

__all__ = ["FHIR_NS", "XHTML_NS", "parse_xml", "to_xml"]
