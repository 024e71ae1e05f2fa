"""Content digests (`sha256:<hex>`): computed from raw bytes, never from re-serialised JSON."""

from __future__ import annotations

import hashlib
import re

__all__ = ["DIGEST_RE", "Hasher", "is_digest", "sha256_digest", "validate_digest"]

DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(text: str) -> bool:
    return bool(DIGEST_RE.match(text))


def validate_digest(text: str) -> str:
    if not is_digest(text):
        raise ValueError(f"not a digest: {text!r}")
    return text


class Hasher:
    """Counts and hashes a stream as it passes, so copies verify without a second read."""

    def __init__(self, algorithm: str = "sha256") -> None:
        self.algorithm = algorithm
        self._h = hashlib.new(algorithm)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._h.update(chunk)
        self.size += len(chunk)

    @property
    def digest(self) -> str:
        return f"{self.algorithm}:{self._h.hexdigest()}"
