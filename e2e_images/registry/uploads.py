"""Blob upload sessions: one PUT for what fits in memory, PATCH chunks for streams.

Every request of a session goes to the Location the previous answer gave (it carries the
session's state). A session broken half-way cannot be resumed reliably (distribution cancels
an upload whose stored size disagrees with its state), so a failed upload is started again from
the beginning once, when the bytes can be read again (bytes, or a seekable stream).
"""

from __future__ import annotations

import logging
from typing import BinaryIO

import requests

from e2e_images.errors import RegistryError, RetriesExhausted
from e2e_images.oci.digest import Hasher
from e2e_images.registry.auth import repository_scope
from e2e_images.registry.transport import Transport

__all__ = ["cancel", "chunked", "monolithic", "stored"]

log = logging.getLogger("e2e_images.registry")
_OCTET = "application/octet-stream"
_RESTARTS = 1


def _location(transport: Transport, resp: requests.Response) -> str:
    loc = resp.headers.get("Location")
    if not loc:
        raise RegistryError(f"registry answered {resp.request.method} "
                            f"with HTTP {resp.status_code} but no upload Location")
    return transport.url(loc)


def _start(transport: Transport, repository: str, scope: str) -> str:
    resp = transport.request("POST", f"/v2/{repository}/blobs/uploads/", scope=scope,
                             ok=(202,))
    resp.close()
    return _location(transport, resp)


def _finish(transport: Transport, loc: str, digest: str, body: bytes, scope: str) -> str:
    resp = transport.request("PUT", loc, params={"digest": digest}, body=body, scope=scope,
                             headers={"Content-Type": _OCTET}, ok=(201, 204))
    resp.close()
    answered = resp.headers.get("Docker-Content-Digest", digest)
    if answered != digest:
        raise RegistryError(f"registry stored blob {digest} as {answered}",
                            code="DIGEST_INVALID")
    return digest


def stored(transport: Transport, repository: str, digest: str,
           actions: str = "pull,push") -> bool:
    """HEAD the blob; `actions` picks the token scope (a push checks with its own token)."""
    resp = transport.request("HEAD", f"/v2/{repository}/blobs/{digest}",
                             scope=repository_scope(repository, actions), ok=(200, 404))
    resp.close()
    return resp.status_code == 200


def monolithic(transport: Transport, repository: str, data: bytes, digest: str) -> str:
    """POST for a session, then one PUT with the whole blob."""
    scope = repository_scope(repository, "pull,push")
    for attempt in range(_RESTARTS + 1):
        loc = _start(transport, repository, scope)
        try:
            return _finish(transport, loc, digest, data, scope)
        except RetriesExhausted:
            raise
        except RegistryError:
            # A PUT retried after the first one landed finds its session gone.
            if stored(transport, repository, digest):
                return digest
            if attempt == _RESTARTS:
                raise
            log.info("upload of %s failed, starting it again", digest)
    raise AssertionError("unreachable")


def _read_chunk(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _upload_chunks(transport: Transport, repository: str, stream: BinaryIO,
                   digest: str | None, chunk_size: int, scope: str) -> str:
    loc = _start(transport, repository, scope)
    hasher = Hasher(digest.split(":", 1)[0] if digest else "sha256")
    offset = 0
    while chunk := _read_chunk(stream, chunk_size):
        hasher.update(chunk)
        resp = transport.request(
            "PATCH", loc, body=chunk, scope=scope, ok=(202,),
            headers={"Content-Type": _OCTET,
                     "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
        resp.close()
        loc = _location(transport, resp)
        offset += len(chunk)
    if digest is not None and hasher.digest != digest:
        cancel(transport, loc, scope)
        raise RegistryError(f"blob stream hashes to {hasher.digest}, not the given {digest}",
                            code="DIGEST_INVALID")
    return _finish(transport, loc, hasher.digest, b"", scope)


def chunked(transport: Transport, repository: str, stream: BinaryIO, digest: str | None,
            chunk_size: int) -> str:
    """PATCH `chunk_size` pieces with Content-Range, then PUT the digest."""
    scope = repository_scope(repository, "pull,push")
    seekable = False
    try:
        seekable = stream.seekable()
        start = stream.tell() if seekable else 0
    except (AttributeError, OSError):
        seekable = False
    for attempt in range(_RESTARTS + 1):
        try:
            return _upload_chunks(transport, repository, stream, digest, chunk_size, scope)
        except RetriesExhausted:
            raise
        except RegistryError as exc:
            if exc.code == "DIGEST_INVALID" or not seekable or attempt == _RESTARTS:
                raise
            if digest is not None and stored(transport, repository, digest):
                return digest
            log.info("chunked upload failed (%s), starting it again", exc.code or exc.status)
            stream.seek(start)
    raise AssertionError("unreachable")


def cancel(transport: Transport, where: str | requests.Response, scope: str) -> None:
    """Best effort: an abandoned session would otherwise wait for the registry's purge."""
    loc = where if isinstance(where, str) else where.headers.get("Location")
    if not loc:
        return
    try:
        transport.request("DELETE", transport.url(loc), scope=scope, ok=(204, 404)).close()
    except RegistryError as exc:
        log.debug("could not cancel an upload session: %s", exc)
