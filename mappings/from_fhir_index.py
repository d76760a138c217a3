"""Resolving references inside a FHIR Bundle, and turning resource ids back into plan-local ids."""

from __future__ import annotations

import re
from typing import Any

from ipfhir.mappings.errors import Issue, MappingError
from ipfhir.mappings.fhir_common import Json

__all__ = ["BundleIndex"]

_LOCAL = re.compile(r"^[a-z0-9][a-z0-9-]{0,26}$")


class BundleIndex:
    """The resources of a Bundle, addressable by fullUrl and by ``Type/id``."""

    def __init__(self, bundle: Any) -> None:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise MappingError.single("IP-2101", "Expected a FHIR Bundle.", "Bundle", "structure")
        self.resources: list[Json] = []
        self._by_key: dict[str, Json] = {}
        for index, entry in enumerate(bundle.get("entry", [])):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or "resourceType" not in resource:
                raise MappingError.single(
                    "IP-2102",
                    "A Bundle entry has no resource.",
                    f"Bundle.entry[{index}]",
                    "structure",
                )
            self.resources.append(resource)
            if entry.get("fullUrl"):
                self._by_key[entry["fullUrl"]] = resource
            if resource.get("id"):
                self._by_key[f"{resource['resourceType']}/{resource['id']}"] = resource
        self.plan_id = ""

    def of_type(self, resource_type: str) -> list[Json]:
        return [r for r in self.resources if r["resourceType"] == resource_type]

    def resolve(self, reference: Json | None, path: str) -> Json:
        target = (reference or {}).get("reference", "")
        found = self._by_key.get(target)
        if found is None and "/" in target:
            found = self._by_key.get("/".join(target.rstrip("/").split("/")[-2:]))
        if found is None:
            raise MappingError.single(
                "IP-2103",
                f"Reference '{target}' does not resolve inside the Bundle.",
                path,
                "not-found",
            )
        return found

    def local_id(self, resource: Json, path: str) -> str:
        """The plan-local id of a resource: its id without the ``{plan id}-`` prefix."""
        rid = str(resource.get("id", ""))
        prefix = f"{self.plan_id}-"
        local = rid[len(prefix) :] if rid.startswith(prefix) else rid.lower()
        if not _LOCAL.match(local):
            raise MappingError.single(
                "IP-2104",
                f"Cannot derive a plan-local id from '{rid}' (expected '{prefix}<local id>').",
                f"{path}.id",
                "value",
            )
        return local

    def party_id(self, reference: Json | None, path: str) -> str:
        resource = self.resolve(reference, path)
        if resource["resourceType"] == "Patient":
            return "person"
        return self.local_id(resource, path)


def issue(mid: str, text: str, path: str) -> MappingError:
    return MappingError([Issue(mid, text, (path,), "invalid")])
