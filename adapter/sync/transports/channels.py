"""Where legacy messages go and come from: a folder or an AMQP queue, by the address's scheme.

- ``file:///folder``: a message is written to ``folder/<name>`` atomically — a hidden temporary
  file in the same folder, flushed to disk, then renamed — so the EPJ's communication program
  never picks up half a message; a file of the same name (a redelivery) is replaced whole.
  Incoming messages are the folder's ``*.xml`` files (hidden and temporary ones are skipped).
- ``amqp://host[:port]/queue``: published persistent (delivery mode 2) to a durable queue with
  publisher confirms (``put`` returns only once the broker has it), the name as ``message_id``.
  Credentials are the channel's (never in the directory's address).
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pika  # type: ignore[import-untyped]  # no stubs published
from pika.exceptions import AMQPError  # type: ignore[import-untyped]

__all__ = ["AmqpChannel", "Channel", "ChannelError", "FolderChannel", "safe_name"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


class ChannelError(Exception):
    """The channel could not take or give a message now (a later attempt may succeed)."""


def safe_name(name: str, suffix: str = ".xml") -> str:
    """A file name / message id that is safe anywhere: ``name`` if plain, else a digest."""
    if _NAME.fullmatch(name):
        return name + suffix
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name)) + suffix


def folder_of(address: str) -> Path:
    return Path(unquote(urlsplit(address).path))


class FolderChannel:
    scheme = "file"

    def put(self, address: str, name: str, data: bytes) -> None:
        folder = folder_of(address)
        final = folder / safe_name(name, "")
        temporary = folder / f".{final.name}.{uuid.uuid4().hex}.tmp"
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
        except OSError as err:
            temporary.unlink(missing_ok=True)
            raise ChannelError(f"{type(err).__name__}: {err.strerror or err}") from None

    def incoming(self, address: str) -> Iterator[Path]:
        """The messages waiting in the folder, oldest first (hidden/temporary files skipped)."""
        folder = folder_of(address)
        found = [
            p
            for p in folder.glob("*.xml")
            if not p.name.startswith(".") and p.is_file() and not p.is_symlink()
        ]
        yield from sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


class AmqpChannel:
    scheme = "amqp"

    def __init__(self, user: str = "guest", password: str = "guest", timeout: float = 5.0) -> None:
        self._credentials = pika.PlainCredentials(user, password)
        self._timeout = timeout

    def parameters(self, address: str) -> Any:
        parts = urlsplit(address)
        return pika.ConnectionParameters(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5672,
            credentials=self._credentials,
            socket_timeout=self._timeout,
            blocked_connection_timeout=self._timeout,
            connection_attempts=1,
        )

    @staticmethod
    def queue_of(address: str) -> str:
        return unquote(urlsplit(address).path.strip("/"))

    def connect(self, address: str) -> Any:
        try:
            return pika.BlockingConnection(self.parameters(address))
        except (AMQPError, OSError) as err:
            raise ChannelError(f"{type(err).__name__}: {err}"[:300]) from None

    def put(self, address: str, name: str, data: bytes) -> None:
        connection = self.connect(address)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            queue = self.queue_of(address)
            declare(channel, queue)
            properties = pika.BasicProperties(
                message_id=safe_name(name, ""), delivery_mode=2, content_type="application/xml"
            )
            channel.basic_publish("", queue, data, properties, mandatory=True)
        except (AMQPError, OSError) as err:
            raise ChannelError(f"{type(err).__name__}: {err}"[:300]) from None
        finally:
            close(connection)


def declare(channel: Any, queue: str) -> None:
    """A durable queue whose refused messages go to ``<queue>.dead`` (the dead letters)."""
    channel.queue_declare(f"{queue}.dead", durable=True)
    arguments = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": f"{queue}.dead"}
    channel.queue_declare(queue, durable=True, arguments=arguments)


def close(connection: Any) -> None:
    with contextlib.suppress(AMQPError, OSError):
        connection.close()


Channel = FolderChannel | AmqpChannel  # by the address's scheme: file, amqp
