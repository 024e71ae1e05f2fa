"""A blob download as a file object: hashed as it is read, resumed with Range after a drop.

The digest is checked when the stream reaches its end, so a consumer that reads to EOF (a copy,
a tar reader) can never act on bytes that differ from what the manifest promised. Reads take
what has arrived (never wait for a full buffer) and stop at the blob's deadline, so a trickling
server cannot hold a reader past it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import requests
import urllib3.exceptions

from e2e_images.errors import RegistryError, RetriesExhausted
from e2e_images.oci.digest import Hasher
from e2e_images.registry.limits import Deadline

__all__ = ["BlobStream", "open_verified"]

log = logging.getLogger("e2e_images.registry")

# Opens the blob again from a byte offset; returns a response whose body starts at it.
Reopen = Callable[[int], requests.Response]
_STREAM_ERRORS = (urllib3.exceptions.HTTPError, requests.RequestException, OSError)


class BlobStream(io.RawIOBase):
    def __init__(self, resp: requests.Response, digest: str, reopen: Reopen, *,
                 retries: int, what: str, deadline: Deadline | None = None) -> None:
        super().__init__()
        self._resp = resp
        self._digest = digest
        self._reopen = reopen
        self._retries = retries
        self._what = what
        self._hasher = Hasher(digest.split(":", 1)[0])
        self._done = False
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._done or not len(buffer):
            return 0
        resumes = 0
        while True:
            if self._deadline is not None:
                self._deadline.check(f"{self._what} after {self._hasher.size} bytes")
            try:
                chunk = self._resp.raw.read1(len(buffer), decode_content=True)
                break
            except _STREAM_ERRORS as exc:
                resumes += 1
                if resumes > self._retries:
                    raise RetriesExhausted(
                        f"{self._what}: connection kept dropping after "
                        f"{self._hasher.size} bytes ({type(exc).__name__})") from None
                log.info("%s: %s after %d bytes, resuming", self._what, type(exc).__name__,
                         self._hasher.size)
                self._resp.close()
                self._resp = self._reopen(self._hasher.size)
        if not chunk:
            self._finish()
            return 0
        n = len(chunk)
        buffer[:n] = chunk
        self._hasher.update(chunk)
        return n

    def _finish(self) -> None:
        self._done = True
        self._resp.close()
        if self._hasher.digest != self._digest:
            raise RegistryError(
                f"{self._what}: content digest {self._hasher.digest} does not match the "
                f"requested {self._digest}", code="DIGEST_INVALID")

    def close(self) -> None:
        if not self.closed:
            self._resp.close()
        super().close()


def skip_to(resp: requests.Response, offset: int) -> requests.Response:
    """Make a response's body start at `offset` (a 206 already does; a 200 is read past)."""
    if resp.status_code == 206 or offset == 0:
        return resp
    left = offset
    while left:
        chunk = resp.raw.read(min(left, 1 << 20))
        if not chunk:
            raise RegistryError("blob ended before the offset to resume from")
        left -= len(chunk)
    return resp


def open_verified(resp: requests.Response, digest: str, reopen: Reopen, *, retries: int,
                  what: str, buffer_size: int = 1 << 20,
                  deadline: Deadline | None = None) -> io.BufferedReader:
    return io.BufferedReader(BlobStream(resp, digest, reopen, retries=retries, what=what,
                                        deadline=deadline), buffer_size=buffer_size)
