"""The installed namespace of ip-fhir-adapter.

The repository keeps its four top-level folders; the distribution installs them under this one
package so that they cannot collide with other distributions' names in a user's environment
(``pyproject.toml`` ``[tool.setuptools] package-dir``):

- ``ipfhir.mappings``    ← ``mappings/``    the plan model and its FHIR mapping (pure)
- ``ipfhir.profiles``    ← ``profiles/``    profiles as data and the offline validator
- ``ipfhir.adapter``     ← ``adapter/``     CLI, FHIR server, store, consent, audit
- ``ipfhir.conformance`` ← ``conformance/`` the vendor test kit
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("ip-fhir-adapter")
except PackageNotFoundError:  # pragma: no cover - only when run from an uninstalled tree
    __version__ = "0+unknown"
