"""The one interface a platform implements (a third platform is one module), and the retry
loop every call goes through: Retry-After on 429, exponential backoff with jitter otherwise."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Contact:
    email: str
    fields: dict[str, str | None]  # platform field -> value (only the mapped ones)


@dataclass(frozen=True)
class RemoteMember:
    email: str
    platform_id: str | None
    values: dict[str, str | None]  # platform field -> value, for the mapped fields


@dataclass(frozen=True)
class Rejection:
    email: str
    reason: str


class Transient(Exception):
    """A failure worth retrying: 429 (with the platform's Retry-After), 5xx, a lost connection."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RetryPolicy:
    attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    waited_rate_limited: float = 0.0  # seconds slept on 429s
    waited_backoff: float = 0.0
    requests: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def call(self, fn: Callable[[], T], classify: Callable[[Exception], Transient | None]) -> T:
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - the destination says what is transient
                transient = classify(exc)
                if transient is None or attempt == self.attempts:
                    raise
                if transient.retry_after is not None:
                    delay = transient.retry_after
                    self.waited_rate_limited += delay
                else:  # full jitter
                    delay = self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
                    self.waited_backoff += delay
                self.sleep(delay)
        raise AssertionError("unreachable")


class Destination(Protocol):
    upsert_batch: int  # documented batch sizes
    remove_batch: int

    def ensure_list(self, name: str, create: bool = True) -> str | None: ...
    def members(self, list_id: str, fields: list[str]) -> Iterator[RemoteMember]: ...
    def upsert(self, list_id: str, contacts: list[Contact]) -> list[Rejection]: ...
    def remove(self, list_id: str, members: list[tuple[str, str | None]]) -> None: ...
    def erase(self, list_id: str, email: str, platform_id: str | None) -> None: ...
