"""Parts of a native closure that read no focus (``%resource.type = 'batch'`` inside
``entry.all(...)``, bdl-3) are computed once per Env: the answers stay fhirpathpy's, for every
resource, and what only fhirpathpy can read is never kept."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.profiles.validator.fhirpath import Env, FhirPath
from ipfhir.profiles.validator.native import Unsupported, compile_native

BDL_3 = (
    "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction'"
    " or %resource.type = 'history'))"
)


def _bundle(kind: str, with_request: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Basic"}}
    if with_request:
        entry["request"] = {"method": "POST", "url": "Basic"}
    return {"resourceType": "Bundle", "type": kind, "entry": [entry, dict(entry)]}


@pytest.mark.parametrize("kind", ["batch", "transaction", "collection", "document"])
@pytest.mark.parametrize("with_request", [True, False])
def test_focus_free_parts_agree_with_fhirpathpy(kind: str, with_request: bool) -> None:
    compiled = compile_native(BDL_3)
    assert compiled is not None
    bundle = _bundle(kind, with_request)
    env = Env(bundle, bundle, bundle)
    expected = FhirPath().evaluate(BDL_3, bundle, "Bundle", env)
    assert compiled([bundle], env) == expected
    assert compiled([bundle], env) == expected  # asked again: the kept part answers
    assert env.memo  # the part that reads only %resource was kept


def test_each_env_has_its_own_answers() -> None:
    compiled = compile_native(BDL_3)
    assert compiled is not None
    batch, collection = _bundle("batch", True), _bundle("collection", True)
    assert compiled([batch], Env(batch, batch, batch)) == [True]
    assert compiled([collection], Env(collection, collection, collection)) == [False]
    assert compiled([batch], Env(batch, batch, batch)) == [True]


def test_a_focus_free_part_only_fhirpathpy_reads_raises_every_time() -> None:
    compiled = compile_native("entry.all(%resource.timestamp = '2020-01-01')")
    assert compiled is not None
    bundle = {"resourceType": "Bundle", "timestamp": "2020-01-01", "entry": [{}, {}]}
    env = Env(bundle, bundle, bundle)
    for _ in range(2):
        with pytest.raises(Unsupported):
            compiled([bundle], env)
    assert not env.memo
