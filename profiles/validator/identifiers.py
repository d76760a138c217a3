"""Norwegian identifier checksums (mod 11) for the identifier systems of no-basis.

The checksums themselves live in ``mappings/identifiers.py`` (one implementation for the whole
project); this module maps identifier systems to them and to the validator's message ids.
"""

from __future__ import annotations

from collections.abc import Callable

from ipfhir.mappings.identifiers import is_valid_dnr, is_valid_fnr, is_valid_orgnr

__all__ = ["CHECKS", "DNR", "ENH", "FNR"]

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
ENH = "urn:oid:2.16.578.1.12.4.1.4.101"

# identifier system -> (check, message id)
CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    FNR: (is_valid_fnr, "IP-3019"),
    DNR: (is_valid_dnr, "IP-3020"),
    ENH: (is_valid_orgnr, "IP-3021"),
}
