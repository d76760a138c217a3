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
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
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

    def run_once(self) -> int:
        """Handle what is waiting now; the number of files handled or set aside."""
        folder = folder_of(self.incoming)
        done = 0
        for path in FolderChannel().incoming(self.incoming):
            try:
                with path.open("rb") as handle:
                    data = handle.read(self.inbox.max_bytes + 1)
                reply = self.inbox.handle(data)
                if reply is not None:
                    self.replies.send(reply)
            except _OURS as err:
                if self._failed(path, folder, err):
                    done += 1
                continue
            _move(path, folder / ".done")
            self._failures.pop(path.name, None)
            done += 1
        return done

    def _failed(self, path: Path, folder: Path, err: Exception) -> bool:
        count = self._failures.get(path.name, 0) + 1
        self._failures[path.name] = count
        _log.warning("legacy message %s not handled (%d): %s", path.name, count, err)
        if count < self.max_attempts:
            return False
        _move(path, folder / ".dead")
        self._failures.pop(path.name, None)
        return True


def _move(path: Path, to: Path) -> None:
    to.mkdir(exist_ok=True)
    path.replace(to / path.name)


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
