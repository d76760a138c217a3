"""A real ``ipfhir serve --dev`` subprocess on 127.0.0.1 for integration tests, and dev tokens
from ``ipfhir token`` (both run as ``python -m adapter.cli``)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ipfhir.mappings.identifiers import synthetic_orgnr

__all__ = ["Server", "dev_token", "free_port", "start_server"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


ROOT = Path(__file__).resolve().parents[2]
ORGNR = synthetic_orgnr(random.Random(2024))  # the organisation the test tokens speak for


@dataclass
class Server:
    base: str
    headers: dict[str, str]  # Authorization for ORGNR


def dev_token(
    data_dir: Path, orgnr: str = ORGNR, *scopes: str, role: str | None = "koordinerende-enhet"
) -> str:
    """A token from ``ipfhir token`` (the last line of its output); by default with the role
    claim of the organisation's coordinating unit, which holds the plans the organisation
    owns (``role=None``: any other token of the organisation)."""
    cmd = [sys.executable, "-m", "ipfhir.adapter.cli", "token", "--data-dir", str(data_dir)]
    cmd += ["--org", orgnr, *(a for s in scopes for a in ("--scope", s))]
    cmd += ["--role", role] if role else []
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip().splitlines()[-1]


def start_server(args: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``ipfhir serve --dev --port PORT *args``; returns once /metadata answers."""
    cmd = [sys.executable, "-m", "ipfhir.adapter.cli", "serve", "--dev", "--port", str(port), *args]
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/metadata", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    data = tmp_path / "data"
    proc = start_server(["--data-dir", str(data)], port, tmp_path / "serve.log")
    try:
        token = dev_token(data)
        yield Server(f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"})
    finally:
        proc.terminate()
        proc.wait(timeout=20)
