"""Compile the R4 element table used by ``mappings/fhirxml.py`` (and the JSON checks).

Reads the base definitions shipped unedited in
``profiles/packages/hl7.fhir.r4.examples-4.0.1/StructureDefinition-*.json`` (snapshots) and writes
``mappings/data/r4-elements.json``:

    {
      "fhirVersion": "4.0.1",
      "primitives": {"boolean": "boolean", "decimal": "decimal", "positiveInt": "integer", ...},
      "resources": ["Account", ...],          (concrete resource types only)
      "types": {
        "Patient": {"id": "string", "meta": "Meta", "name": "HumanName*", ...},
        "Patient.contact": {"id": "@string", "extension": "Extension*", ...},
        "Extension": {"id": "@string", "extension": "Extension*", "url": "@uri",
                      "valueBase64Binary": "base64Binary", ...},
        ...
      }
    }

Per element: the type name (a primitive, a complex type, a backbone path such as
``Questionnaire.item`` — also the target of content references — or ``Resource`` for a resource
wrapper such as ``contained``); ``*`` marks a repeating element, a leading ``@`` an XML attribute
(``Element.id``, ``Extension.url``). Choice elements (``value[x]``) are expanded to their JSON/XML
names (``valueString``...). Elements are listed in definition order (the XML order).

Run from the repository root: ``.venv/bin/python tools/gen_r4_elements.py`` (``--check`` exits 1
when the committed table is out of date).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "profiles" / "packages" / "hl7.fhir.r4.examples-4.0.1"
TARGET = ROOT / "mappings" / "data" / "r4-elements.json"
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
# JSON kind of each primitive type; everything not listed is a JSON string.
JSON_KIND = {
    "boolean": "boolean",
    "integer": "integer",
    "positiveInt": "integer",
    "unsignedInt": "integer",
    "decimal": "decimal",
    "xhtml": "xhtml",
}


def _type_code(raw: dict[str, Any]) -> str:
    code = str(raw["code"])
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in raw.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXT:
                return str(ext["valueUrl"])
        return "string"
    return code


def _element_entries(sd: dict[str, Any]) -> dict[str, dict[str, str]]:
    """One ``{child name: type spec}`` table per type and per backbone element of ``sd``."""
    elements = sd["snapshot"]["element"]
    paths = {e["path"] for e in elements}
    tables: dict[str, dict[str, str]] = {sd["type"]: {}}
    for e in elements[1:]:
        path: str = e["path"]
        parent, name = path.rsplit(".", 1)
        many = "*" if e.get("max") != "1" else ""
        attr = "@" if "xmlAttr" in e.get("representation", []) else ""
        has_children = any(p.startswith(path + ".") for p in paths)
        table = tables.setdefault(parent, {})
        if "contentReference" in e:
            table[name] = e["contentReference"].lstrip("#") + many
        elif has_children:
            table[name] = path + many
            tables.setdefault(path, {})
        elif name.endswith("[x]"):
            for t in e["type"]:
                code = _type_code(t)
                table[name[:-3] + code[0].upper() + code[1:]] = code
        else:
            (code,) = {_type_code(t) for t in e["type"]}
            table[name] = attr + code + many
    return tables


def build() -> dict[str, Any]:
    primitives: dict[str, str] = {}
    resources: list[str] = []
    types: dict[str, dict[str, str]] = {}
    for file in sorted(SOURCE.glob("StructureDefinition-*.json")):
        sd = json.loads(file.read_text(encoding="utf-8"))
        if sd.get("derivation", "specialization") != "specialization":
            continue
        if sd["kind"] == "primitive-type":
            primitives[sd["type"]] = JSON_KIND.get(sd["type"], "string")
        elif sd["kind"] in ("resource", "complex-type"):
            if sd["kind"] == "resource" and not sd.get("abstract", False):
                resources.append(sd["type"])
            types.update(_element_entries(sd))
    _check_closed(types, primitives)
    return {
        "fhirVersion": "4.0.1",
        "source": "profiles/packages/hl7.fhir.r4.examples-4.0.1",
        "generator": "tools/gen_r4_elements.py",
        "primitives": dict(sorted(primitives.items())),
        "resources": sorted(resources),
        "types": dict(sorted(types.items())),
    }


def _check_closed(types: dict[str, dict[str, str]], primitives: dict[str, str]) -> None:
    """Every referenced type must be known, or the table would be silently incomplete."""
    for owner, table in types.items():
        for name, spec in table.items():
            code = spec.lstrip("@").rstrip("*")
            if code not in types and code not in primitives and code != "Resource":
                raise SystemExit(f"{owner}.{name}: unknown type {code!r}")


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is outdated")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date; run {__file__}", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
