"""The shipped KITH schemas (``xsd/``, an unedited MIT copy), compiled once, lazily, thread-safely.

Every ``xs:import`` is resolved to a file of the package by its bare name (the W3C xmldsig
schema also by its http URL, as Sarepta's MsgHead imports it); anything else is refused, and the
parser has no network. lxml's ``resolve_string`` fails for schema imports, so the resolver
answers with the package file's path: the package must be installed as files (as pip does).

One schema set covers every supported message: MsgHead 1.2 with its strict ``Content``
(Dialogmelding 1.0 and 1.1, AppRec 1.0 and 1.1, Base64Container) and AppRec 1.0/1.1 on their own.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from ipfhir.mappings.errors import FormatError, Issue
from ipfhir.mappings.legacy.messages import MESSAGES
from ipfhir.mappings.legacy.read_common import where
from ipfhir.mappings.legacy.safexml import xml_parser

__all__ = ["NS", "SCHEMA_FILES", "message_schema", "validate"]

NS = {
    "mh": "http://www.kith.no/xmlstds/msghead/2006-05-24",
    "dia10": "http://www.kith.no/xmlstds/dialog/2006-10-11",
    "dia11": "http://www.kith.no/xmlstds/dialog/2013-01-23",
    "ar10": "http://www.kith.no/xmlstds/apprec/2004-11-21",
    "ar11": "http://www.kith.no/xmlstds/apprec/2012-02-15",
    "fk1": "http://www.kith.no/xmlstds/felleskomponent1",
    "kith": "http://www.kith.no/xmlstds",
    "b64": "http://www.kith.no/xmlstds/base64container",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}

SCHEMA_FILES = {
    NS["mh"]: "MsgHead-v1_2.xsd",
    NS["dia10"]: "dialogmelding-v1.0.xsd",
    NS["dia11"]: "dialogmelding-v1.1.xsd",
    NS["ar10"]: "apprec-v1.0.xsd",
    NS["ar11"]: "apprec-v1.1.xsd",
}
_KNOWN = {
    *SCHEMA_FILES.values(),
    "felleskomponent1.xsd",
    "kith.xsd",
    "kith-base64.xsd",
    "xmldsig-core-schema.xsd",
}

_lock = threading.Lock()
_compiled: dict[str, Any] = {}
_validate_lock = threading.Lock()


class _PackageResolver(etree.Resolver):  # type: ignore[misc]  # lxml has no stubs
    def resolve(self, system_url: str, public_id: str | None, context: Any) -> Any:
        name = system_url.rsplit("/", 1)[-1]
        if name not in _KNOWN:
            raise LookupError(f"schema import outside the package refused: {system_url}")
        return self.resolve_filename(str(_folder() / name), context)


def _folder() -> Path:
    folder = resources.files("ipfhir.mappings.legacy").joinpath("xsd")
    if not isinstance(folder, Path):  # pragma: no cover - zipped installs are not supported
        raise RuntimeError("the legacy schemas must be installed as files, not zipped")
    return folder


def _driver() -> bytes:
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{name}"/>'
        for ns, name in SCHEMA_FILES.items()
    )
    return (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'targetNamespace="urn:ipfhir:legacy:driver">{imports}</xs:schema>'
    ).encode()


def message_schema() -> Any:
    """The compiled schema set for every supported message (compiled on first use)."""
    schema = _compiled.get("messages")
    if schema is not None:
        return schema
    with _lock:
        if "messages" not in _compiled:
            parser = xml_parser()
            parser.resolvers.add(_PackageResolver())
            driver = etree.fromstring(_driver(), parser, base_url=str(_folder() / "driver.xsd"))
            _compiled["messages"] = etree.XMLSchema(driver)
        return _compiled["messages"]


def validate(root: Any, message_id: str = "IP-6211") -> None:
    """Refuse ``root`` (``message_id``, XPath of the first ten errors) unless it validates."""
    schema = message_schema()
    # An XMLSchema object keeps its error log on itself: one validation at a time per schema.
    with _validate_lock:
        valid = schema.validate(root)
        errors = [] if valid else list(schema.error_log)
    if valid:
        return
    issues = [
        Issue(message_id, f"{MESSAGES[message_id]} {e.message}", _readable(root, e.path))
        for e in errors[:10]
    ]
    raise FormatError(issues)


def _readable(root: Any, path: str | None) -> tuple[str, ...]:
    """libxml2's ``/*/*[1]/*[6]`` as local names, ``/MsgHead/MsgInfo/Patient``."""
    if not path:
        return ()
    try:
        found = root.getroottree().xpath(path)
    except etree.XPathError:  # pragma: no cover - libxml2 wrote the path itself
        return (path,)
    return (where(found[0]),) if found and isinstance(found[0], etree._Element) else (path,)
