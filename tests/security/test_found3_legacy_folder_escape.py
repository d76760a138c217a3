"""The incoming folder of ``ipfhir legacy receive`` is the trust boundary (docs/threat-model.md):
whoever writes there speaks for the legacy partners — inside the folder. The poller sets a
handled message aside by renaming it into ``<folder>/.done/`` (``.dead/`` after bounded
failures) and follows whatever ``.done`` is: a symlink planted in the folder sends every handled
file, under the name its writer chose, into any directory the adapter may write."""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import build_wiring
from ipfhir.adapter.directory import SqlDirectory
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.sync.transports import FolderChannel, FolderPoller
from tests.unit.legacy.conftest import FIXTURES
from tests.unit.legacy.world import inbox, load

BASE = "http://127.0.0.1:18082"
NOTICE = (FIXTURES / "dialog-1.1-behov-for-ip.xml").read_bytes()


def _poller(engine: Engine, tmp_path: Path) -> tuple[FolderPoller, Path, Path]:
    wiring = build_wiring(Settings(data_dir=tmp_path, dev_mode=True), engine=engine)
    directory = SqlDirectory(engine)
    incoming, hospital = tmp_path / "inn", tmp_path / "sykehus"
    incoming.mkdir()
    hospital.mkdir()
    load(directory, BASE, hospital.as_uri())
    poller = FolderPoller(
        inbox(wiring, directory, BASE), incoming.as_uri(), {"file": FolderChannel()}
    )
    return poller, incoming, hospital


def test_a_done_symlink_does_not_carry_files_out_of_the_folder(
    engine: Engine, tmp_path: Path
) -> None:
    """Attacker: anyone who may write into the incoming folder (a partner's communication
    program, or whoever shares that drop folder) creates ``.done`` as a symlink to another
    directory the adapter writes — here the hospital's outgoing folder, where the hospital's
    EPJ picks up what the municipality sends it — and drops a message named as they like.
    Changed: after handling, the adapter itself moves the attacker's bytes into that directory
    (replacing a file of the same name there): a file outside the incoming folder, written by
    the adapter, which the hospital takes for a message from the municipality. Correct answer:
    what the poller keeps stays inside the incoming folder — a ``.done`` (or ``.dead``) that is
    not a real directory of the folder is not followed (the message is left or set aside
    in place, or the poller refuses to run), and nothing appears in the other directory."""
    poller, incoming, hospital = _poller(engine, tmp_path)
    (incoming / ".done").symlink_to(hospital, target_is_directory=True)
    forged = NOTICE.replace(b"Pasienten er innlagt", b"Fra kommunen: ring meg")
    (incoming / "fra-kommunen.xml").write_bytes(forged)
    with contextlib.suppress(OSError):  # refusing to follow the link is a correct answer too
        poller.run_once()
    assert not (hospital / "fra-kommunen.xml").exists(), "the adapter wrote outside the folder"
