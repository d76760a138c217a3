"""The loops that take legacy messages in: a folder or an AMQP queue → :class:`LegacyInbox` →
the AppRec back through the channel of the partner's endpoint (or the poller's reply place when
the sender is unknown).

Exactly once, as on the FHIR path: a message is removed (the file moved to ``.done/``, the queue
message acknowledged) only after its AppRec was handed over; a crash in between gives it again,
and the inbox answers the duplicate with the stored answer — the same AppRec. A message whose
handling fails for a reason of ours (the database away) stays and is tried again; after
``max_attempts`` it is set aside (``.dead/``, or the queue's ``<queue>.dead``), visible, never
silently dropped. A file larger than the inbox's limit is read only up to the limit (and
refused with an AppRec «avvist»).

The incoming folder is the trust boundary (docs/threat-model.md): whoever writes there may plant
links. So the poller never follows one. The folder is opened ``O_NOFOLLOW | O_DIRECTORY`` and
everything after goes through that descriptor: a message is opened ``O_NOFOLLOW`` and read only
when it is a regular file; ``.done``/``.dead`` are opened ``O_NOFOLLOW | O_DIRECTORY`` relative
to the folder, so what is set aside stays in a real directory of the folder, whatever the names
point to a moment later. A ``.done`` or ``.dead`` that is a symlink or no directory stops the
poller before it reads anything (an error in the log, the messages kept where they are, nothing
answered) until a person removes it. Nothing already set aside is overwritten: a name taken in
``.done``/``.dead`` gets ``<name>.<n>.xml``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pika.exceptions import AMQPError  # type: ignore[import-untyped]
from sqlalchemy.exc import SQLAlchemyError

from ipfhir.adapter.sync.transports.channels import (
    AmqpChannel,
    Channel,
    ChannelError,
    FolderChannel,
    close,
    declare,
    folder_of,
)
from ipfhir.adapter.sync.transports.inbox import LegacyInbox, Reply

__all__ = ["AmqpPoller", "FolderPoller"]

_log = logging.getLogger(__name__)
_OURS = (SQLAlchemyError, ChannelError, OSError)  # failures of ours: try again later


class _Replies:
    def __init__(self, channels: Mapping[str, Channel], fallback: str | None) -> None:
        self.channels = dict(channels)
        self.fallback = fallback

    def send(self, reply: Reply) -> None:
        address = reply.address or self.fallback
        if address is None:
            _log.warning("AppRec %s has nowhere to go (unknown sender, no reply place)", reply.name)
            return
        channel = self.channels.get(address.partition(":")[0])
        if channel is None:
            raise ChannelError(f"no channel for {address[:80]}")
        channel.put(address, reply.name, reply.data)


class FolderPoller:
    """``incoming``: ``file:///folder`` to read; ``reply``: where AppRecs to unknown senders go."""

    def __init__(
        self,
        inbox: LegacyInbox,
        incoming: str,
        channels: Mapping[str, Channel],
        reply: str | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.inbox = inbox
        self.incoming = incoming
        self.replies = _Replies(channels, reply)
        self.max_attempts = max_attempts
        self._failures: dict[str, int] = {}
        self.refused: str | None = None  # why the last pass read nothing (an unsafe folder)

    def run_once(self) -> int:
        """Handle what is waiting now; the number of files handled or set aside (0 when the
        folder is unsafe to work in: see the module docstring)."""
        try:
            folder = _open_folder(folder_of(self.incoming))
        except _Unsafe as err:
            self._refuse(str(err))
            return 0
        try:
            unsafe = next(
                (
                    f"{sub} is not a directory of the folder"
                    for sub in _ASIDE
                    if _unsafe(folder, sub)
                ),
                None,
            )
            if unsafe is not None:
                self._refuse(unsafe)
                return 0
            self.refused = None
            return sum(self._one(folder, path.name) for path in self._waiting())
        finally:
            os.close(folder)

    def _waiting(self) -> Iterator[Path]:
        with contextlib.suppress(OSError):  # a file gone between listing and stat: next pass
            yield from FolderChannel().incoming(self.incoming)

    def _one(self, folder: int, name: str) -> int:
        try:
            data = _read(folder, name, self.inbox.max_bytes + 1)
            if data is None:
                return 0  # no longer a regular file of the folder (a link swapped in): left
            reply = self.inbox.handle(data)
            if reply is not None:
                self.replies.send(reply)
        except _OURS as err:
            return int(self._failed(folder, name, err))
        self._failures.pop(name, None)
        return int(self._set_aside(folder, name, ".done"))

    def _failed(self, folder: int, name: str, err: Exception) -> bool:
        count = self._failures.get(name, 0) + 1
        self._failures[name] = count
        _log.warning("legacy message %s not handled (%d): %s", name, count, err)
        if count < self.max_attempts:
            return False
        if not self._set_aside(folder, name, ".dead"):
            return False
        self._failures.pop(name, None)
        return True

    def _set_aside(self, folder: int, name: str, sub: str) -> bool:
        try:
            kept = _move(folder, name, sub)
        except (OSError, _Unsafe) as err:
            _log.error("legacy message %s not moved to %s, left in place: %s", name, sub, err)
            return False
        if kept != name:
            _log.warning("legacy message %s kept as %s/%s (name taken)", name, sub, kept)
        return True

    def _refuse(self, why: str) -> None:
        if why != self.refused:  # once per state, not once a second
            _log.error("legacy folder %s refused, nothing read: %s", self.incoming[:200], why)
        self.refused = why


_ASIDE = (".done", ".dead")
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class _Unsafe(Exception):
    """A name in the incoming folder that the poller must not follow or write through."""


def _open_folder(path: Path) -> int:
    try:
        return os.open(path, _DIRECTORY)
    except OSError as err:
        raise _Unsafe(f"not a directory: {err.strerror or err}") from None


def _unsafe(folder: int, sub: str) -> bool:
    """``sub`` exists in the folder and is anything but a real directory (a symlink included)."""
    try:
        found = os.stat(sub, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return not stat.S_ISDIR(found.st_mode)


def _read(folder: int, name: str, limit: int) -> bytes | None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(name, flags, dir_fd=folder)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOENT, errno.ENXIO):
            return None  # a symlink, gone, or a FIFO without writer: not a message
        raise
    with os.fdopen(handle, "rb") as file:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        return file.read(limit)


def _open_aside(folder: int, sub: str) -> int:
    with contextlib.suppress(FileExistsError):
        os.mkdir(sub, 0o750, dir_fd=folder)
    try:
        return os.open(sub, _DIRECTORY, dir_fd=folder)
    except OSError as err:  # ELOOP (a symlink), ENOTDIR (a file)
        raise _Unsafe(f"{sub} is not a directory of the folder: {err.strerror or err}") from None


def _candidates(name: str) -> Iterator[str]:
    yield name
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, f".{suffix}") if dot else (name, "")
    for n in range(1, 10_000):
        yield f"{stem}.{n}{suffix}"


def _taken(name: str, into: int) -> bool:
    try:
        os.stat(name, dir_fd=into, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _move(folder: int, name: str, sub: str) -> str:
    """Move ``name`` into the real directory ``sub`` of the folder under a free name; return it.

    A hard link then unlink never replaces a file; where the file system (or protected_hardlinks
    for a file another user wrote) refuses links, a rename to a name just seen free."""
    into = _open_aside(folder, sub)
    try:
        for candidate in _candidates(name):
            if _taken(candidate, into):
                continue
            try:
                os.link(name, candidate, src_dir_fd=folder, dst_dir_fd=into, follow_symlinks=False)
            except FileExistsError:
                continue
            except OSError as err:
                if err.errno not in (errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EMLINK):
                    raise
                os.rename(name, candidate, src_dir_fd=folder, dst_dir_fd=into)
            else:
                os.unlink(name, dir_fd=folder)
            return candidate
        raise _Unsafe(f"no free name for {name} in {sub}")
    finally:
        os.close(into)


class AmqpPoller:
    """``incoming``: ``amqp://host[:port]/queue`` to consume; refused deliveries dead-letter to
    ``<queue>.dead`` after a redelivery (two attempts)."""

    def __init__(
        self,
        inbox: LegacyInbox,
        incoming: str,
        channels: Mapping[str, Channel],
        amqp: AmqpChannel,
        reply: str | None = None,
    ) -> None:
        self.inbox = inbox
        self.incoming = incoming
        self.replies = _Replies(channels, reply)
        self.amqp = amqp

    def run_once(self, limit: int = 100) -> int:
        connection = self.amqp.connect(self.incoming)
        try:
            channel = connection.channel()
            queue = self.amqp.queue_of(self.incoming)
            declare(channel, queue)
            done = 0
            while done < limit:
                method, _properties, body = channel.basic_get(queue)
                if method is None:
                    break
                self._one(channel, method, bytes(body[: self.inbox.max_bytes + 1]))
                done += 1
            return done
        except AMQPError as err:
            raise ChannelError(f"{type(err).__name__}: {err}"[:300]) from None
        finally:
            close(connection)

    def _one(self, channel: Any, method: Any, body: bytes) -> None:
        try:
            reply = self.inbox.handle(body)
            if reply is not None:
                self.replies.send(reply)
        except _OURS as err:
            _log.warning("legacy queue message not handled: %s", err)
            channel.basic_nack(method.delivery_tag, requeue=not method.redelivered)
            return
        channel.basic_ack(method.delivery_tag)
