"""Hypothesis profiles: the full example count in CI, a fast run locally.

``.ci/run`` sets ``IPFHIR_HYPOTHESIS_PROFILE=ci``: every property draws its full count of fresh
cases (no example database, so each CI run explores anew). Without it (a developer's run of the
README command) the ``dev`` profile draws a tenth, at least :data:`DEV_MINIMUM`, and keeps the
local example database, so a failure found once is replayed first. Properties that set their own
``max_examples`` take it through :func:`examples`, which scales it the same way.

Both profiles derive from hypothesis' own defaults, not from whatever profile hypothesis loaded
at import: with ``CI`` in the environment it loads its built-in ``ci`` profile (derandomized, no
example database), and a profile registered on top of that would draw the same cases every run.
Neither profile has a deadline: tests never judge wall-clock time.
"""

from __future__ import annotations

import os

from hypothesis import settings

__all__ = ["DEV_MINIMUM", "ENV", "PROFILE", "examples", "load"]

ENV = "IPFHIR_HYPOTHESIS_PROFILE"
DEV_MINIMUM = 20
_CI_DEFAULT = 100  # hypothesis' own default count
PROFILES = ("ci", "dev")


def _profile() -> str:
    name = os.environ.get(ENV, "dev")
    if name not in PROFILES:
        raise ValueError(f"{ENV}={name!r}: use one of {', '.join(PROFILES)}")
    return name


PROFILE = _profile()


def examples(full: int) -> int:
    """The example count of a property whose full count is ``full``, under the active profile."""
    return full if PROFILE == "ci" else max(DEV_MINIMUM, full // 10)


def load() -> None:
    """Register both profiles and load the active one (called once, by tests/conftest.py)."""
    base = settings.get_profile("default")
    settings.register_profile(
        "ci",
        parent=base,
        max_examples=_CI_DEFAULT,
        database=None,
        derandomize=False,
        deadline=None,
        print_blob=True,
    )
    settings.register_profile(
        "dev", parent=base, max_examples=examples(_CI_DEFAULT), derandomize=False, deadline=None
    )
    settings.load_profile(PROFILE)
