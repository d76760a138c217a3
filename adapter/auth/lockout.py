"""The token endpoint's brake on guessing: an address whose client authentications keep failing
is answered 429 (IP-6121, with ``Retry-After``) for a while, without its assertions being
looked at — so nobody can try keys, client ids or forged assertions at the endpoint's full
speed, nor make it spend a signature check on each try.

Counted per client address (the TCP peer: a forwarded-for header is the client's own text and
would let it choose its address), and per process: behind a proxy every client shares the
proxy's address (put the limit in the proxy there), and with several server processes each
keeps its own count. A success does not clear the count (a valid key in hand needs no
guessing). At most ``max_keys`` addresses are remembered: the oldest entries go first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FailureLockout"]


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)  # times within the window
    locked_until: float = 0.0


class FailureLockout:
    """``max_failures`` failed authentications within ``window`` seconds lock the address for
    ``lockout`` seconds."""

    def __init__(
        self,
        max_failures: int = 10,
        window: float = 60.0,
        lockout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self._clock = clock
        self._max_keys = max_keys
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """Whole seconds until ``key`` may try again, or ``None`` when it may now."""
        with self._lock:
            record = self._records.get(key)
            left = record.locked_until - self._clock() if record is not None else 0.0
        return max(1, math.ceil(left)) if left > 0 else None

    def failed(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            record = self._records.pop(key, None) or _Record()
            self._records[key] = record  # the newest last
            record.failures = [t for t in record.failures if now - t < self.window] + [now]
            if len(record.failures) >= self.max_failures:
                record.locked_until = now + self.lockout
                record.failures = []
            while len(self._records) > self._max_keys:
                self._records.popitem(last=False)
