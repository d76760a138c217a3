"""Start-up checks: everything ``ipfhir serve`` needs is verified before the first request.

Each failure is a :class:`~ipfhir.adapter.errors.StartupError` with one issue (IP-46xx) whose text
is a single line an operator can act on; the CLI prints it and exits non-zero. Nothing here is
ever sent to a client.

- the database answers (missing database, wrong host or port, refused login → IP-4601),
- it can be migrated (a role without CREATE rights, a schema from a newer release → IP-4602),
- it accepts writes (a standby, ``default_transaction_read_only``, a read-only file → IP-4603),
- the installation carries the profile definitions (IP-4604).
"""

from __future__ import annotations

from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ipfhir.adapter.errors import StartupError, issue
from ipfhir.adapter.settings import shown_url
from ipfhir.adapter.store import migrate
from ipfhir.adapter.store.engine import check_writable

__all__ = ["check_definitions", "one_line", "prepare_database"]

_READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction (PostgreSQL, also on a hot standby)
_MAX_DETAIL = 300


def one_line(err: BaseException) -> str:
    """The driver's own words for ``err`` on one line (no SQL, no traceback), shortened."""
    orig = getattr(err, "orig", None) or err
    # A server error's primary message, without the SQL excerpt and caret lines that follow it.
    primary = getattr(getattr(orig, "diag", None), "message_primary", None)
    text = " ".join(str(primary or orig).split()) or type(orig).__name__
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _fail(message_id: str, engine: Engine, err: BaseException) -> StartupError:
    url = shown_url(engine.url)
    return StartupError([issue(message_id, None, "exception", url=url, detail=one_line(err))])


def _read_only(err: DBAPIError) -> bool:
    orig = err.orig
    return (
        getattr(orig, "sqlstate", None) == _READ_ONLY_SQLSTATE
        or "readonly database" in str(orig).lower()
    )


def prepare_database(engine: Engine) -> None:
    """Connect, migrate to the newest schema and prove a write is possible, or raise."""
    try:
        with engine.connect():
            pass
    except (SQLAlchemyError, OSError) as err:
        raise _fail("IP-4601", engine, err) from None
    try:
        migrate(engine)
        check_writable(engine)
    except DBAPIError as err:
        raise _fail("IP-4603" if _read_only(err) else "IP-4602", engine, err) from None
    except (SQLAlchemyError, CommandError, OSError) as err:
        raise _fail("IP-4602", engine, err) from None


def check_definitions(missing: list[str]) -> None:
    """Raise IP-4604 when the validator reports required definitions missing."""
    if missing:
        raise StartupError([issue("IP-4604", None, "exception", missing=", ".join(missing))])
