"""`ADD <url>`: download through the artifact mirror when one is set, checking checksums.

A pinned `--checksum` in the Dockerfile always wins; without one, a mirror's own pin (the
hermetic artifact mirror pins every file) is checked. Nothing is written to disk: the bytes
go straight into the layer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import requests

from e2e_images.errors import BuildError

__all__ = ["UrlFetcher", "unreachable"]

_ALGORITHMS = {"sha256", "sha384", "sha512"}


class UrlFetcher:
    def __init__(self, *, mirror_url: Callable[[str], str] | None = None,
                 pinned_sha256: Callable[[str], str | None] | None = None,
                 session: requests.Session | None = None, timeout: float = 60) -> None:
        self.mirror_url = mirror_url
        self.pinned_sha256 = pinned_sha256
        self.session = session or requests.Session()
        self.timeout = timeout

    def __call__(self, url: str, checksum: str | None) -> bytes:
        where = self.mirror_url(url) if self.mirror_url else url
        try:
            response = self.session.get(where, timeout=self.timeout)
        except requests.RequestException as exc:
            raise BuildError(f"ADD {url}: download failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise BuildError(f"ADD {url}: HTTP {response.status_code} from {where}")
        data = response.content
        if checksum is None and self.pinned_sha256 is not None:
            pin = self.pinned_sha256(url)
            checksum = f"sha256:{pin}" if pin else None
        if checksum is not None:
            algorithm, _, expected = checksum.partition(":")
            if algorithm not in _ALGORITHMS:
                raise BuildError(f"ADD {url}: unsupported checksum {checksum!r}")
            actual = hashlib.new(algorithm, data).hexdigest()
            if actual != expected:
                raise BuildError(f"ADD {url}: checksum mismatch: {algorithm}:{actual} "
                                 f"(expected {checksum})")
        return data


def unreachable(url: str, timeout: float = 10) -> str | None:
    """Why `url` cannot be downloaded from here (no network, no such host), or None."""
    try:
        requests.head(url, timeout=timeout, allow_redirects=True)
    except requests.RequestException as exc:
        return type(exc).__name__
    return None
