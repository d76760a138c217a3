"""The folder poller never follows a link planted in the incoming folder (pollers module
docstring): ``.done``/``.dead`` that are not real directories of the folder stop it before it
reads anything; a message swapped for a link is not read; nothing set aside is overwritten.
The ``.done`` symlink attack itself is tests/security/test_found3_legacy_folder_escape.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from ipfhir.adapter.sync.transports import FolderChannel, FolderPoller


class _Inbox:
    """Takes every message (answers nothing) or, ``away``, fails as a database away would."""

    max_bytes = 1_000_000

    def __init__(self, away: bool = False) -> None:
        self.away = away
        self.seen: list[bytes] = []

    def handle(self, data: bytes) -> None:
        self.seen.append(data)
        if self.away:
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))


def _poller(folder: Path, inbox: _Inbox, attempts: int = 5) -> FolderPoller:
    return FolderPoller(inbox, folder.as_uri(), {"file": FolderChannel()}, max_attempts=attempts)  # type: ignore[arg-type]


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    incoming, elsewhere = tmp_path / "inn", tmp_path / "annet"
    incoming.mkdir()
    elsewhere.mkdir()
    return incoming, elsewhere


def test_a_dead_symlink_stops_the_poller_before_it_reads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    incoming, elsewhere = _folders(tmp_path)
    (incoming / ".dead").symlink_to(elsewhere, target_is_directory=True)
    (incoming / "melding.xml").write_bytes("<Melding>blåbær</Melding>".encode())
    inbox = _Inbox(away=True)
    poller = _poller(incoming, inbox, attempts=1)
    with caplog.at_level(logging.ERROR):
        assert poller.run_once() == 0 and poller.run_once() == 0
    assert inbox.seen == [] and poller.refused is not None
    assert (incoming / "melding.xml").exists() and list(elsewhere.iterdir()) == []
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1  # once per state
    (incoming / ".dead").unlink()  # a person removes the link: the poller works again
    assert poller.run_once() == 1 and poller.refused is None
    assert (incoming / ".dead" / "melding.xml").exists() and list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("planted", ["file", "dangling"])
def test_a_done_that_is_no_directory_is_refused(tmp_path: Path, planted: str) -> None:
    incoming, elsewhere = _folders(tmp_path)
    if planted == "file":
        (incoming / ".done").write_bytes(b"")
    else:
        (incoming / ".done").symlink_to(elsewhere / "finnes-ikke", target_is_directory=True)
    (incoming / "melding.xml").write_bytes(b"<Melding/>")
    inbox = _Inbox()
    assert _poller(incoming, inbox).run_once() == 0
    assert inbox.seen == [] and (incoming / "melding.xml").exists()
    assert not (elsewhere / "finnes-ikke").exists()


def test_an_incoming_folder_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    incoming, elsewhere = _folders(tmp_path)
    (elsewhere / "melding.xml").write_bytes(b"<Melding/>")
    link = tmp_path / "lenke"
    link.symlink_to(elsewhere, target_is_directory=True)
    inbox = _Inbox()
    poller = _poller(link, inbox)
    assert poller.run_once() == 0 and inbox.seen == [] and poller.refused is not None


def test_nothing_set_aside_is_overwritten(tmp_path: Path) -> None:
    incoming, _elsewhere = _folders(tmp_path)
    (incoming / ".done").mkdir()
    (incoming / ".done" / "melding.xml").write_bytes("<Melding>først</Melding>".encode())
    (incoming / ".done" / "melding.1.xml").write_bytes(b"<Melding>andre</Melding>")
    (incoming / "melding.xml").write_bytes(b"<Melding>tredje</Melding>")
    assert _poller(incoming, _Inbox()).run_once() == 1
    kept = {p.name: p.read_bytes() for p in (incoming / ".done").iterdir()}
    assert kept == {
        "melding.xml": b"<Melding>f\xc3\xb8rst</Melding>",
        "melding.1.xml": b"<Melding>andre</Melding>",
        "melding.2.xml": b"<Melding>tredje</Melding>",
    }
    assert not (incoming / "melding.xml").exists()


def test_a_message_that_is_a_link_is_not_read(tmp_path: Path) -> None:
    incoming, elsewhere = _folders(tmp_path)
    (elsewhere / "hemmelig.xml").write_bytes(b"<Hemmelig/>")
    (incoming / "melding.xml").symlink_to(elsewhere / "hemmelig.xml")
    inbox = _Inbox()
    assert _poller(incoming, inbox).run_once() == 0
    assert inbox.seen == [] and (elsewhere / "hemmelig.xml").exists()
