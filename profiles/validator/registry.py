"""Conformance resources by canonical URL: base R4, no-basis and the project's IP profiles.

Every ``profiles/packages/*/*.json`` and ``profiles/ip/*.json`` file is indexed once (url → file);
the parsed resource is kept only for what is actually asked for. Nothing is read at import time.
The files are package data, found through ``importlib.resources`` (never through the source tree),
so an installed wheel validates exactly as the checkout does.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

__all__ = ["CORE_SD", "IP_CANONICAL_BASE", "Registry", "default_roots"]

CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
IP_CANONICAL_BASE = "https://ip-fhir-adapter.no/fhir"
_KINDS = ("StructureDefinition", "ValueSet", "CodeSystem")


def default_roots() -> list[Traversable]:
    """Package folders first (third-party), then the project's own profiles."""
    here = files("ipfhir.profiles")
    roots = sorted((p for p in here.joinpath("packages").iterdir() if p.is_dir()), key=_name)
    return [*roots, here.joinpath("ip")]


def _name(item: Traversable) -> str:
    return item.name


@dataclass
class Registry:
    """Index of StructureDefinitions, ValueSets and CodeSystems by canonical URL (version-less)."""

    roots: list[Traversable] = field(default_factory=default_roots)
    _files: dict[tuple[str, str], Traversable] = field(default_factory=dict, init=False)
    _types: dict[str, str] = field(default_factory=dict, init=False)  # SD url -> type
    _resource_types: set[str] = field(default_factory=set, init=False)
    _known: set[tuple[str, str]] = field(default_factory=set, init=False)
    _loaded: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, init=False)
    _ready: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _index(self) -> None:
        with self._lock:
            if self._ready:
                return
            for root in self.roots:
                for path in _json_files(root):
                    self._index_file(path)
            self._ready = True

    def overlay(self) -> Registry:
        """A copy sharing the file index (no re-scan) to which resources can be ``add``-ed."""
        if not self._ready:
            self._index()
        other = Registry(roots=list(self.roots))
        other._files, other._types = dict(self._files), dict(self._types)
        other._resource_types, other._known = set(self._resource_types), set(self._known)
        other._loaded, other._ready = dict(self._loaded), True
        return other

    def add(self, data: dict[str, Any]) -> None:
        """Register one more conformance resource (kept in memory), e.g. a supporting profile."""
        if not self._ready:
            self._index()
        url = data.get("url")
        if data.get("resourceType") in _KINDS and isinstance(url, str):
            self._register(data, None)
            self._loaded[(data["resourceType"], url)] = data

    def _index_file(self, path: Traversable) -> None:
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return
        self._register(data, path)

    def _register(self, data: Any, path: Traversable | None) -> None:
        if not isinstance(data, dict) or data.get("resourceType") not in _KINDS:
            return
        url = data.get("url")
        if not isinstance(url, str):
            return
        key = (data["resourceType"], url)
        if path is not None:
            self._files[key] = path  # later roots win: the project may override a package
        self._loaded.pop(key, None)
        self._known.add(key)
        if data["resourceType"] == "StructureDefinition" and isinstance(data.get("type"), str):
            self._types[url] = data["type"]
            if data.get("kind") == "resource" and data.get("derivation") == "specialization":
                self._resource_types.add(data["type"])

    def get(self, kind: str, url: str) -> dict[str, Any] | None:
        """The resource of ``kind`` with canonical ``url`` (a ``|version`` suffix is ignored)."""
        if not self._ready:
            self._index()
        key = (kind, url.split("|", 1)[0])
        found = self._loaded.get(key)
        if found is None and key in self._files:
            found = json.loads(self._files[key].read_bytes())
            self._loaded[key] = found
        return found

    def structure(self, url: str) -> dict[str, Any] | None:
        return self.get("StructureDefinition", url)

    def value_set(self, url: str) -> dict[str, Any] | None:
        return self.get("ValueSet", url)

    def code_system(self, url: str) -> dict[str, Any] | None:
        return self.get("CodeSystem", url)

    def type_of(self, url: str) -> str | None:
        """The resource/data type a StructureDefinition constrains (``Patient`` for a profile)."""
        if not self._ready:
            self._index()
        return self._types.get(url.split("|", 1)[0])

    def is_resource_type(self, code: str) -> bool:
        if not self._ready:
            self._index()
        return code in self._resource_types

    def knows(self, kind: str, url: str) -> bool:
        if not self._ready:
            self._index()
        return (kind, url.split("|", 1)[0]) in self._known

    def urls(self, kind: str) -> list[str]:
        if not self._ready:
            self._index()
        return sorted(u for k, u in self._known if k == kind)


def _json_files(root: Traversable) -> list[Traversable]:
    if not root.is_dir():
        return []
    return sorted(
        (p for p in root.iterdir() if p.name.endswith(".json") and p.is_file()), key=_name
    )
