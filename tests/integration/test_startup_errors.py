"""``ipfhir serve`` that cannot serve says so in one line on stderr and exits non-zero, before
any client could reach it: bad settings, a database that is missing, unreachable, not ours to
change or read-only, a JWKS that cannot be read. Each case runs the real command in a folder
outside the source tree and asserts the line, the message id and the exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, make_url, text

from tests.integration.conftest import free_port
from tests.pg import PG_URL, postgres_or_skip

NO_CREATE_ROLE = "ipfhir_test_no_create"


def _serve(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, list[str]]:
    """Run ``ipfhir serve ARGS`` (which must fail); return its exit code and stderr lines."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IPFHIR_")}
    done = subprocess.run(
        [sys.executable, "-m", "ipfhir.adapter.cli", "serve", "--port", str(free_port()), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.stdout == ""
    return done.returncode, done.stderr.splitlines()


def _one_line(lines: list[str]) -> str:
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


def _jwks(tmp_path: Path) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**jwk, "kid": "k1"}]}))
    return str(path)


def _real_auth(tmp_path: Path) -> dict[str, str]:
    return {
        "IPFHIR_AUTH_ISSUER": "https://helseid-sts.test.nhn.no",
        "IPFHIR_AUTH_JWKS": _jwks(tmp_path),
    }


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--log-level", "verbose"], {}, "ipfhir serve: error: argument --log-level: invalid"),
        (["--workers", "0"], {}, "ipfhir serve: error: argument --workers:"),
        (["--port", "http"], {}, "ipfhir serve: error: argument --port:"),
        ([], {"IPFHIR_DB_POOL_SIZE": "åtti"}, "ipfhir: IP-4605: Setting db_pool_size is invalid:"),
        ([], {"IPFHIR_MAX_PAGE_SIZE": "0"}, "ipfhir: IP-4605: Setting max_page_size is invalid:"),
        (
            [],
            {"IPFHIR_CONSENT_CACHE_SIZE": "-1"},
            "ipfhir: IP-4605: Setting consent_cache_size is invalid:",
        ),
        (
            ["--database", "mysql://root@127.0.0.1/test"],
            {},
            "ipfhir: IP-4605: Setting database_url is invalid:",
        ),
    ],
)
def test_bad_arguments_and_settings(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    code, lines = _serve(tmp_path, "--dev", "--data-dir", str(tmp_path / "d"), *args, env=env)
    assert code == 2
    assert _one_line(lines).startswith(expected)


def test_without_token_issuer_the_server_does_not_start(tmp_path: Path) -> None:
    code, lines = _serve(tmp_path, "--data-dir", str(tmp_path / "d"))
    assert code == 1
    assert _one_line(lines).startswith("ipfhir: IP-5005: Authentication is not configured")


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (lambda p: str(p / "mangler" / "jwks.json"), "No such file or directory"),
        (
            lambda p: f"http://127.0.0.1:{free_port()}/jwks.json",
            "ConnectionError: Connection refused",
        ),
        (lambda p: (p / "tom.json").write_text("{}") and str(p / "tom.json"), "no usable key"),
    ],
    ids=["missing-file", "unreachable-url", "no-keys"],
)
def test_jwks_that_cannot_be_loaded_stops_the_start(
    tmp_path: Path, make: object, detail: str
) -> None:
    source = make(tmp_path)  # type: ignore[operator]
    env = {"IPFHIR_AUTH_ISSUER": "https://helseid-sts.test.nhn.no", "IPFHIR_AUTH_JWKS": source}
    code, lines = _serve(tmp_path, "--data-dir", str(tmp_path / "d"), env=env)
    assert code == 1
    line = _one_line(lines)
    assert line.startswith(
        f"ipfhir: IP-5007: The signing keys (JWKS) could not be loaded from '{source}'"
    )
    assert detail in line


def test_sqlite_data_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "en-fil"
    blocker.write_text("ikke en mappe")
    code, lines = _serve(tmp_path, "--data-dir", str(blocker / "data"), env=_real_auth(tmp_path))
    assert code == 1
    line = _one_line(lines)
    assert line.startswith("ipfhir: IP-4601: The database sqlite:///") and "Not a directory" in line


def _pg(database: str, **query: str) -> str:
    return (
        make_url(PG_URL).set(database=database, query=query).render_as_string(hide_password=False)
    )


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards) and a role that may log in to it
    but create nothing in it."""
    postgres_or_skip()
    name = f"ipfhir_start_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": NO_CREATE_ROLE}
        ).first()
        if not exists:
            conn.execute(text(f"CREATE ROLE {NO_CREATE_ROLE} LOGIN"))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_database_that_does_not_exist(tmp_path: Path) -> None:
    postgres_or_skip()
    url = _pg("ipfhir_finnes_ikke")
    code, lines = _serve(tmp_path, "--dev", "--data-dir", str(tmp_path / "d"), "--database", url)
    assert code == 1
    line = _one_line(lines)
    assert line.startswith("ipfhir: IP-4601: The database postgresql+psycopg://")
    assert 'database "ipfhir_finnes_ikke" does not exist' in line


@pytest.mark.postgres
def test_postgres_port_nobody_answers(tmp_path: Path) -> None:
    postgres_or_skip()
    url = make_url(PG_URL).set(port=free_port()).render_as_string(hide_password=False)
    code, lines = _serve(tmp_path, "--dev", "--data-dir", str(tmp_path / "d"), "--database", url)
    assert code == 1
    line = _one_line(lines)
    assert line.startswith("ipfhir: IP-4601:") and "Connection refused" in line


@pytest.mark.postgres
def test_postgres_password_never_printed(tmp_path: Path) -> None:
    postgres_or_skip()
    url = make_url(_pg("ipfhir_finnes_ikke")).set(password="hemmelig-passord")
    code, lines = _serve(
        tmp_path,
        "--dev",
        "--data-dir",
        str(tmp_path / "d"),
        "--database",
        url.render_as_string(hide_password=False),
    )
    line = _one_line(lines)
    assert code == 1 and "hemmelig-passord" not in line and ":***@" in line


@pytest.mark.postgres
def test_postgres_role_without_create_rights(tmp_path: Path, empty_database: str) -> None:
    url = make_url(_pg(empty_database)).set(username=NO_CREATE_ROLE)
    code, lines = _serve(
        tmp_path,
        "--dev",
        "--data-dir",
        str(tmp_path / "d"),
        "--database",
        url.render_as_string(hide_password=False),
    )
    assert code == 1
    line = _one_line(lines)
    assert line.startswith("ipfhir: IP-4602: The database postgresql+psycopg://")
    assert line.endswith(
        "could not be brought to the current schema: permission denied for schema public"
    )


@pytest.mark.postgres
@pytest.mark.parametrize("migrated_before", [False, True], ids=["empty", "migrated"])
def test_postgres_read_only_server(
    tmp_path: Path, empty_database: str, migrated_before: bool
) -> None:
    """A standby (or ``default_transaction_read_only``) refuses every write: found at start,
    whether the schema still has to be created or is already current."""
    if migrated_before:
        from ipfhir.adapter.store import make_engine, migrate

        engine = make_engine(_pg(empty_database))
        migrate(engine)
        engine.dispose()
    url = _pg(empty_database, options="-cdefault_transaction_read_only=on")
    code, lines = _serve(tmp_path, "--dev", "--data-dir", str(tmp_path / "d"), "--database", url)
    assert code == 1
    line = _one_line(lines)
    assert line.startswith("ipfhir: IP-4603: The database postgresql+psycopg://")
    verb = "UPDATE" if migrated_before else "CREATE TABLE"
    assert line.endswith(
        "is read-only (a standby, a read-only role or file): "
        f"cannot execute {verb} in a read-only transaction"
    )


@pytest.mark.parametrize(
    ("args", "env", "secret"),
    [
        (
            ["--database", "postgresql+psycopg://root:s3cretpw@127.0.0.1:ikkeport/test"],
            {},
            "s3cretpw",
        ),
        (["--database", "postgresql+psycopg://root@127.0.0.1:1/test?password=pw123"], {}, "pw123"),
        (
            [],
            {
                "IPFHIR_DEV_MODE": "false",
                "IPFHIR_AUTH_ISSUER": "https://helseid-sts.test.nhn.no",
                "IPFHIR_AUTH_JWKS": "https://bruker:hunter2@127.0.0.1:1/jwks?token=abc123",
            },
            "hunter2|abc123",
        ),
    ],
    ids=["password-in-url", "password-in-query", "jwks-credentials"],
)
def test_start_up_lines_never_show_secrets(
    tmp_path: Path, args: list[str], env: dict[str, str], secret: str
) -> None:
    dev = ["--dev"] if "IPFHIR_AUTH_JWKS" not in env else []
    code, lines = _serve(tmp_path, *dev, "--data-dir", str(tmp_path / "d"), *args, env=env)
    line = _one_line(lines)
    assert code == 1 and line.startswith("ipfhir: IP-")
    assert not any(s in line for s in secret.split("|")), line


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {"IPFHIR_AUTH_PURPOSES": "TREAT"}, "ipfhir: IP-4605: Setting IPFHIR_* is invalid:"),
        (["--database", "sqlite://"], {}, "ipfhir: IP-4601: The database sqlite://"),
        (["--database", "sqlite:///:memory:"], {}, "ipfhir: IP-4601: The database sqlite:///"),
    ],
)
def test_settings_the_sources_cannot_parse(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    code, lines = _serve(tmp_path, "--dev", "--data-dir", str(tmp_path / "d"), *args, env=env)
    assert code in (1, 2)
    assert _one_line(lines).startswith(expected)
