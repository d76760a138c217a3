"""Where the shared reference artefacts are (``../shared/reference`` or ``IPFHIR_REFERENCE``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
REFERENCE = Path(os.environ.get("IPFHIR_REFERENCE", REPO.parent / "shared" / "reference"))


def reference_dir(*parts: str) -> Path:
    """A folder of the shared reference set; skips (with the reason) when it is not checked out."""
    path = REFERENCE.joinpath(*parts)
    if not path.is_dir():
        pytest.skip(f"reference data not available at {path} (set IPFHIR_REFERENCE)")
    return path
