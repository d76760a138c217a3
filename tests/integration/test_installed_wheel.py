"""What a user installs works: the wheel, built from the tracked files as a clean clone has them,
installed without ``-e`` into a fresh virtualenv with the pinned constraints, used from a folder
outside the source tree — ``ipfhir validate`` on valid and invalid fixtures and ``ipfhir serve
--dev`` answering the README's own example.

This is the only test that sees the installed distribution; every other test uses the editable
checkout, where a data file missing from the wheel or an import of a bare top-level name would go
unnoticed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = {  # repository folder -> installed package (pyproject.toml package-dir)
    "ipfhir": "ipfhir",
    "adapter": "ipfhir/adapter",
    "mappings": "ipfhir/mappings",
    "profiles": "ipfhir/profiles",
    "conformance": "ipfhir/conformance",
}
README_BUNDLE = ROOT / "fixtures" / "bundles" / "stroke-handover.bundle.json"
README_TOKEN_ARGS = ["--org", "920376290", "--hpr", "9031187", "--scope", "system/*.cruds"]


@dataclass
class Installed:
    wheel: Path
    venv: Path
    work: Path  # an empty folder outside the source tree: the user's current directory

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("IPFHIR_", "PYTHON"))}
        return subprocess.run(
            list(args), cwd=self.work, env=clean, capture_output=True, text=True, timeout=timeout
        )


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("the wheel test builds from the tracked files: it needs git and a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout
    return [name for name in out.decode("utf-8").split("\0") if name]


def _check(done: subprocess.CompletedProcess[str], what: str) -> None:
    assert done.returncode == 0, f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    clone = base / "clone"
    for name in _tracked_files():  # exactly what a clean clone holds, no caches, no .venv
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    dist = base / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(clone)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    _check(built, "pip wheel")
    (wheel,) = dist.glob("ip_fhir_adapter-*.whl")
    venv = base / "venv"
    _check(
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=120
        ),
        "python -m venv",
    )
    install = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "-c",
            str(ROOT / "constraints.txt"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    _check(install, "pip install of the wheel")
    work = base / "work"
    work.mkdir()
    yield Installed(wheel, venv, work)


def test_wheel_carries_every_file_of_the_packages(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
    expected = {
        PACKAGE_DIRS[name.split("/", 1)[0]] + "/" + name.split("/", 1)[1]
        for name in _tracked_files()
        if name.split("/", 1)[0] in PACKAGE_DIRS and "/" in name
    }
    assert expected - names == set()
    assert any("hl7.fhir.no.basis-2.2.0/no-basis-Patient" in n for n in names)
    assert "ipfhir/adapter/store/migrations/versions/0001_initial.py" in names
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"ipfhir"}


def test_installed_names_cannot_collide(installed: Installed) -> None:
    python = installed.bin("python")
    probe = (
        "import importlib.util, json, ipfhir, ipfhir.adapter.cli, ipfhir.profiles.validator;"
        "print(json.dumps({n: importlib.util.find_spec(n) is not None "
        "for n in ('adapter', 'mappings', 'profiles', 'conformance')}))"
    )
    done = installed.run(python, "-c", probe)
    _check(done, "import probe")
    assert json.loads(done.stdout) == dict.fromkeys(
        ("adapter", "mappings", "profiles", "conformance"), False
    )


def test_dependencies_are_all_pinned_and_consistent(installed: Installed) -> None:
    _check(installed.run(installed.bin("pip"), "check"), "pip check")
    listed = installed.run(installed.bin("pip"), "list", "--format=json")
    _check(listed, "pip list")
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if found:
            pins[re.sub(r"[-_.]+", "-", found[1]).lower()] = found[2]
    unpinned = {
        d["name"]: d["version"]
        for d in json.loads(listed.stdout)
        if d["name"] not in ("pip", "setuptools", "ip-fhir-adapter")
        and pins.get(re.sub(r"[-_.]+", "-", d["name"]).lower()) != d["version"]
    }
    assert unpinned == {}, "installed versions that constraints.txt does not pin"


def test_validate_valid_bundle_from_outside_the_tree(installed: Installed) -> None:
    done = installed.run(installed.bin("ipfhir"), "validate", str(README_BUNDLE))
    _check(done, "ipfhir validate")
    assert "Unknown resource type" not in done.stdout
    assert re.search(r": CarePlan/[^:]+: OK$", done.stdout, re.MULTILINE)
    assert "INVALID" not in done.stdout


def test_validate_invalid_fixture_names_its_message(installed: Installed) -> None:
    bad = ROOT / "fixtures" / "invalid" / "fhir" / "careplan-intent-order.json"
    expect = json.loads(bad.with_suffix(".expect.json").read_text(encoding="utf-8"))
    profile = ["--profile", expect["profile"]] if expect.get("profile") else []
    done = installed.run(
        installed.bin("ipfhir"), "validate", "--format", "json", *profile, str(bad)
    )
    assert done.returncode == 1, done.stderr
    (record,) = [json.loads(line) for line in done.stdout.splitlines()]  # one JSON line a resource
    assert record["valid"] is False
    errors = [
        (i["details"]["coding"][0]["code"], i["expression"][0])
        for i in record["outcome"]["issue"]
        if i["severity"] == "error"
    ]
    assert (expect["message_id"], expect["expression"]) in errors


def test_serve_answers_the_readme_example(installed: Installed) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (
        "ipfhir token "
        + " ".join(a if a != "system/*.cruds" else "'system/*.cruds'" for a in README_TOKEN_ARGS)
        in readme
    )
    assert "fixtures/bundles/stroke-handover.bundle.json" in readme
    port = free_port()
    log = installed.work / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [installed.bin("ipfhir"), "serve", "--dev", "--port", str(port)],
            cwd=installed.work,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, server, log)
        token = installed.run(installed.bin("ipfhir"), "token", *README_TOKEN_ARGS)
        _check(token, "ipfhir token")
        auth = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
        posted = httpx.post(
            f"{base}/",
            content=README_BUNDLE.read_bytes(),
            headers={**auth, "Content-Type": "application/fhir+json"},
            timeout=120,
        )
        assert posted.status_code == 200, posted.text[:2000]
        body = posted.json()
        assert body["type"] == "transaction-response"
        assert {e["response"]["status"] for e in body["entry"]} == {"201 Created"}
        count = httpx.get(f"{base}/CarePlan?_summary=count", headers=auth, timeout=30)
        assert count.status_code == 200 and count.json()["total"] == 1
        assert (installed.work / "ipfhir-data" / "ipfhir.sqlite3").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"ipfhir serve exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail(f"ipfhir serve did not answer within 120 s: {log.read_text(errors='replace')}")
