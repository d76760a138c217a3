"""``.ci/run`` runs the README's test command, then ruff check, ruff format --check and mypy
(tools/typecheck.py), and fails when any of them fails — pytest's "no tests collected" (exit 5)
included. Run on a copy in ``tmp_path`` whose README command makes a stand-in virtualenv whose
tools log their arguments and exit as told."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = '#!/usr/bin/env bash\necho "$(basename "$0") $*" >> "$LOG"\nexit "${FAIL_%s:-0}"\n'


def _ci(
    tmp_path: Path, tests_rc: int, extra: dict[str, str] | None = None, **fail: int
) -> tuple[int, list[str]]:
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci/run", tmp_path / ".ci/run")
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("ruff", "python"):
        (tools / name).write_text(TOOL % name.upper(), encoding="utf-8")
        (tools / name).chmod(0o755)
    make_venv = f"mkdir -p .venv/bin && cp tools/ruff tools/python .venv/bin/ && exit {tests_rc}"
    readme = f"# x\n<!-- test-command -->\n```sh\n{make_venv}\n```\n"
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    log = tmp_path / "log"
    env = {"PATH": "/usr/bin:/bin", "LOG": str(log)}
    env |= {f"FAIL_{k}": str(v) for k, v in fail.items()} | (extra or {})
    done = subprocess.run(
        ["bash", str(tmp_path / ".ci/run")], env=env, capture_output=True, text=True, timeout=60
    )
    return done.returncode, log.read_text(encoding="utf-8").splitlines()


STEPS = ["ruff check .", "ruff format --check .", "python tools/typecheck.py"]


def test_all_clean_passes_and_runs_every_check(tmp_path: Path) -> None:
    assert _ci(tmp_path, 0) == (0, STEPS)


@pytest.mark.parametrize("tool", ["RUFF", "PYTHON"])
def test_a_failing_check_fails_ci(tmp_path: Path, tool: str) -> None:
    rc, steps = _ci(tmp_path, 0, **{tool: 1})
    assert rc != 0 and steps == STEPS  # the other checks still ran and reported


@pytest.mark.parametrize("tests_rc", [1, 5])
def test_failing_or_no_tests_fail_ci(tmp_path: Path, tests_rc: int) -> None:
    rc, steps = _ci(tmp_path, tests_rc)
    assert rc != 0 and steps == STEPS


def test_rabbitmq_is_started_where_nothing_answers_on_its_port(tmp_path: Path) -> None:
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    (sbin / "rabbitmq-server").write_text(TOOL % "RABBITMQ", encoding="utf-8")
    (sbin / "rabbitmq-server").chmod(0o755)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    extra = {"PATH": f"{sbin}:/usr/bin:/bin", "CI_AMQP_PORT": str(port), "CI_AMQP_WAIT": "3"}
    rc, steps = _ci(tmp_path, 0, extra)
    assert rc == 0 and steps == ["rabbitmq-server ", *STEPS]
