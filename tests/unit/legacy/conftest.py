"""Where the legacy examples live: Helsedirektoratet's (shared reference folder) and ours."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures" / "legacy"
REFERENCE = Path("/work/shared/reference/xsd")


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
