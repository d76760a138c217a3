"""Where the third-party reference artefacts are: ``fixtures/third-party`` or ``IPFHIR_REFERENCE``.

They ship with the repository, so a missing folder is a broken checkout: the tests fail, they
do not skip.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
REFERENCE = Path(os.environ.get("IPFHIR_REFERENCE", REPO / "fixtures" / "third-party"))


def reference_dir(*parts: str) -> Path:
    """A folder of the reference set; raises when it is missing."""
    path = REFERENCE.joinpath(*parts)
    if not path.is_dir():
        raise FileNotFoundError(f"reference data missing at {path} (set IPFHIR_REFERENCE)")
    return path
