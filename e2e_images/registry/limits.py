"""How long and how much a registry may take: timeouts, deadlines and body size caps.

A hostile or broken registry can stream an endless body or trickle a byte every few seconds;
neither may hold a run forever or fill memory. Each bound has a documented default and an
environment variable to change it (README, "Limits and deadlines"):

| variable | default | bounds |
|---|---|---|
| `E2E_IMAGES_CONNECT_TIMEOUT` | 10 s | opening a connection |
| `E2E_IMAGES_READ_TIMEOUT` | 60 s | silence on an open connection |
| `E2E_IMAGES_REQUEST_DEADLINE` | 300 s | one request with its body (manifest, token, error) |
| `E2E_IMAGES_OPERATION_DEADLINE` | 1800 s | one request with all its retries |
| `E2E_IMAGES_BLOB_DEADLINE` | 7200 s | streaming one blob to its end (servercore: GBs) |

Bodies other than blobs are capped at 4 MiB while they stream (what distribution accepts for
a manifest); a blob is bounded by its descriptor's size and digest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from e2e_images.errors import RegistryError

__all__ = ["MAX_BODY_BYTES", "Deadline", "Limits"]

MAX_BODY_BYTES = 4 << 20

_ENV = {
    "connect_timeout": "E2E_IMAGES_CONNECT_TIMEOUT",
    "read_timeout": "E2E_IMAGES_READ_TIMEOUT",
    "request_deadline": "E2E_IMAGES_REQUEST_DEADLINE",
    "operation_deadline": "E2E_IMAGES_OPERATION_DEADLINE",
    "blob_deadline": "E2E_IMAGES_BLOB_DEADLINE",
}


@dataclass(frozen=True, slots=True)
class Limits:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    request_deadline: float = 300.0
    operation_deadline: float = 1800.0
    blob_deadline: float = 7200.0
    max_body: int = MAX_BODY_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        env = os.environ if environ is None else environ
        values: dict[str, float] = {}
        for name, var in _ENV.items():
            text = env.get(var, "").strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                value = -1.0
            if not value > 0:
                raise RegistryError(f"{var}={text!r} is not a positive number of seconds")
            values[name] = value
        return cls(**values)  # type: ignore[arg-type]

    @property
    def timeout(self) -> tuple[float, float]:
        """requests' (connect, read) timeout for one socket operation."""
        return (self.connect_timeout, self.read_timeout)


class Deadline:
    """A point in monotonic time, named by the setting that put it there (for the message)."""

    def __init__(self, seconds: float, setting: str) -> None:
        self.seconds, self.setting = seconds, setting
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise RegistryError(f"{what}: no answer within the {self.seconds:g}s deadline",
                                code="DEADLINE_EXCEEDED",
                                hint=f"the registry is too slow or stalled; raise "
                                     f"{_ENV[self.setting]} if it is only slow")
