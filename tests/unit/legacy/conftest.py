"""Where the legacy examples live: Helsedirektoratet's (shared reference folder) and ours."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures" / "legacy"


def _reference() -> Path:
    """The shared reference folder's XSD copies: IPFHIR_REFERENCE_XSD, else ``../shared`` beside
    the checkout, else where this workplace keeps it (a clean clone elsewhere still finds it)."""
    if os.environ.get("IPFHIR_REFERENCE_XSD"):
        return Path(os.environ["IPFHIR_REFERENCE_XSD"])
    beside = ROOT.parent / "shared" / "reference" / "xsd"
    return beside if beside.is_dir() else Path("/work/shared/reference/xsd")


REFERENCE = _reference()


def reference_or_skip() -> None:
    """Skip (or fail, when IPFHIR_REQUIRE_REFERENCE=1, as CI sets it) without the reference."""
    if REFERENCE.is_dir():
        return
    if os.environ.get("IPFHIR_REQUIRE_REFERENCE") == "1":
        pytest.fail(f"the shared reference folder is required but not at {REFERENCE}")
    # Justified skip: a checkout without the project's shared reference folder (a vendor's or a
    # user's machine); never in CI, where the line above fails instead.
    pytest.skip(f"the shared reference folder is not at {REFERENCE} (set IPFHIR_REFERENCE_XSD)")


def reference_examples() -> list[Path]:
    """Every Dialogmelding and AppRec example under the reference folder (none is AppRec today)."""
    if not REFERENCE.is_dir():
        return []
    return sorted(
        p
        for p in REFERENCE.rglob("*.xml")
        if "/meta/" not in p.as_posix()
        and any(k in p.as_posix().lower() for k in ("dialogmelding", "apprec"))
    )


def own_examples() -> list[Path]:
    return sorted(FIXTURES.glob("*.xml"))
