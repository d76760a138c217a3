"""The kit against a generic FHIR server: the bare store behind HTTP (bench/serve_store.py), no
authentication, no consent. The kit must fail it cleanly: exit 1, every check answered in
report.json, no traceback, no hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ipfhir.conformance.checks import all_checks
from tests.conformance.stub_vendor import OWNER_ORG, SECOND_ORG
from tests.integration.conftest import ROOT, free_port

pytestmark = pytest.mark.slow  # a server subprocess and the kit as a subprocess


@pytest.fixture
def generic_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, str(ROOT / "bench" / "serve_store.py"), "--port", str(port)]
    cmd += ["--database", f"sqlite:///{tmp_path / 'store.sqlite3'}"]
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/metadata", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError((tmp_path / "serve.log").read_text(errors="replace"))
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_server_without_consent_or_authentication_fails_cleanly(
    generic_server: str, tmp_path: Path
) -> None:
    cmd = [sys.executable, "-m", "ipfhir.adapter.cli", "conformance", "--base-url", generic_server]
    cmd += ["--token", "none", "--org", OWNER_ORG, "--timeout", "20", "--report-dir", str(tmp_path)]
    # no authentication: any second token is accepted, the kit names its organisation
    cmd += ["--second-token", "anyone", "--second-org", SECOND_ORG]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    results = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["results"]
    assert [r["id"] for r in results] == [c.id for c in all_checks()]
    assert all(r["result"] in ("pass", "fail", "skip") and r["message"] for r in results)
    verdict = {r["id"]: r["result"] for r in results}
    for leak in ("consent.refused-topic", "consent.refused-actor", "consent.revocation"):
        assert verdict[leak] == "fail", leak
    assert verdict["capability.authentication"] == "fail"
    assert verdict["hostile.xxe"] == "pass"  # the store's XML parser is the hardened one
