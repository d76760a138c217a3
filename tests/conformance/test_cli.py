"""``ipfhir conformance`` as a vendor runs it: arguments, exit codes, progress, the three
reports, and no hang or traceback when the server answers nothing."""

from __future__ import annotations

import json
import re
import socket
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ipfhir.adapter.cli.main import main
from ipfhir.conformance.checks import all_checks
from tests.conformance.stub_vendor import OWNER_ORG, SECOND_ORG, StubVendor


def _serve(httpserver: HTTPServer, *flaws: str) -> str:
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request(re.compile(".*")).respond_with_handler(StubVendor(set(flaws), base))
    return base


def _args(base: str, out: Path, *extra: str) -> list[str]:
    return [
        "conformance", "--base-url", base, "--token", "owner-token",
        "--second-token", "second-token", "--org", OWNER_ORG, "--second-org", SECOND_ORG,
        "--oversize-mb", "1.5", "--report-dir", str(out), *extra,
    ]  # fmt: skip


def test_a_conformant_stub_exits_0_with_three_reports(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_args(_serve(httpserver), tmp_path))
    err = capsys.readouterr().err
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    results = report["results"]
    assert {r["id"]: (r["result"], r["message"]) for r in results if r["result"] != "pass"} == {}
    assert code == 0
    assert [r["id"] for r in results] == [c.id for c in all_checks()]
    assert all(r["message"] for r in results)
    assert report["passed"] is True
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    assert len(junit.findall(".//testcase")) == len(all_checks())
    assert junit.findall(".//failure") == [] and junit.findall(".//error") == []
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Conformant: every mandatory check passed" in html
    # progress, and the write announcement before the first check that writes
    announce = err.index("synthetic persons only")
    assert err.index("capability.authentication") < announce < err.index("profiles.careplan")
    assert f"conformant — {len(results)} passed, 0 failed" in err


def test_a_leaking_stub_exits_1_and_junit_names_the_failure(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_args(_serve(httpserver, "leak-topic"), tmp_path, "--suite", "consent"))
    assert code == 1
    failures = {
        case.get("name"): case.find("failure")
        for case in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    }
    failure = failures["consent.refused-topic"]
    assert failure is not None and "recipient's search results" in failure.get("message", "")
    assert "NOT conformant" in capsys.readouterr().err


def test_an_optional_failure_keeps_exit_0_and_is_skipped_in_junit(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    assert main(_args(_serve(httpserver, "duplicate-twice"), tmp_path, "--suite", "workflows")) == 0
    root = ET.parse(tmp_path / "junit.xml").getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "workflows.duplicate-message")
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("optional check failed")
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert {r["id"]: r["result"] for r in report["results"]}[
        "workflows.duplicate-message"
    ] == "fail"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--base-url", "ftp://example.no"], "--base-url must be an http(s) URL"),
        (["--token-command", f"{sys.executable} -c 'raise SystemExit(3)'"], "exited 3"),
        (["--token-command", "/nonexistent/token-tool"], "could not run"),
        (["--timeout", "0"], "must be positive"),
    ],
)
def test_unusable_arguments_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    argv = ["conformance", "--base-url", "http://127.0.0.1:9", "--report-dir", str(tmp_path)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "report.json").exists()


def test_an_unknown_suite_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["conformance", "--base-url", "http://127.0.0.1:9", "--suite", "nonsense"])
    assert exit_.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_a_token_command_supplies_the_token(httpserver: HTTPServer, tmp_path: Path) -> None:
    command = f"{sys.executable} -c \"print('# a comment'); print('owner-token')\""
    argv = ["conformance", "--base-url", _serve(httpserver), "--token-command", command]
    assert main([*argv, "--suite", "capability", "--report-dir", str(tmp_path)]) == 0


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield s.getsockname()[1]


def test_a_server_that_never_answers_times_out_on_every_check(
    silent_port: int, tmp_path: Path
) -> None:
    argv = ["conformance", "--base-url", f"http://127.0.0.1:{silent_port}", "--timeout", "0.2"]
    assert main([*argv, "--suite", "capability", "--report-dir", str(tmp_path)]) == 1
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert len(report["results"]) == 8
    assert {(r["result"], r["message"]) for r in report["results"]} == {
        ("error", "no answer within 0.2 s (timeout)")
    }


def test_a_server_that_is_not_there_is_an_error_per_check(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens
    argv = ["conformance", "--base-url", f"http://127.0.0.1:{port}", "--suite", "rest"]
    assert main([*argv, "--report-dir", str(tmp_path)]) == 1
    results = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["results"]
    assert results and all(r["result"] in ("error", "skip") for r in results)
    assert any(r["message"].startswith("no answer: ConnectionError") for r in results)
