"""Reading layer blobs as tar streams: gzip, zstd or plain, digest-checked, never extracted.

`iter_layer()` is the one reader of layer streams: the filesystem view (`oci.fs`) and the
Windows layer lint both take their members from it. Headers are read as written (`RawMember`);
bodies are skipped unless asked for; truncated bodies, devices and escaping names are reported
as `LayerProblem`s rather than followed.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

import zstandard

from e2e_images.errors import LayerError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import Hasher

__all__ = ["EntryType", "LayerProblem", "RawMember", "iter_layer"]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_SYMLINK_HOPS = 40
_CHUNK = 1 << 20
_ZSTD_FEED = 4096  # small input steps bound what one decompress() call can expand to
_MAX_META = 16 << 20  # largest PAX/GNU long-name block we agree to hold in memory
_OPAQUE = ".wh..wh..opq"
_DECODE_ERRORS = (EOFError, OSError, zlib.error, zstandard.ZstdError)


class EntryType(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class RawMember:
    """One tar header as written in the layer, before path cleaning or `Files/` stripping."""

    name: str
    type: EntryType
    typeflag: bytes
    mode: int  # as in the header, type bits included when the writer set them
    uid: int
    gid: int
    size: int
    linkname: str
    mtime: float
    pax: Mapping[str, str]
    offset: int  # of the header in the uncompressed tar
    data_offset: int

    @property
    def is_device(self) -> bool:
        return self.typeflag in (tarfile.CHRTYPE, tarfile.BLKTYPE)


@dataclass(frozen=True, slots=True)
class LayerProblem:
    """Something a layer asked for that the view refused (or could not verify)."""

    layer: int
    digest: str
    name: str
    kind: str  # absolute-path, parent-traversal, device, truncated, bad-header, ...
    message: str


class _Truncated(Exception):
    pass


class _Source:
    """The compressed side: hashes every byte so the blob digest is checked on the way."""

    def __init__(self, blob: BinaryIO, prefix: bytes, algorithm: str) -> None:
        self._blob, self._prefix, self.hasher = blob, prefix, Hasher(algorithm)

    def read(self, n: int = -1) -> bytes:
        data = self._blob.read(n) if not self._prefix else b""
        if self._prefix:
            if n is None or n < 0:
                data, self._prefix = self._prefix + self._blob.read(), b""
            else:
                data, self._prefix = self._prefix[:n], self._prefix[n:]
        self.hasher.update(data)
        return data


class _Zstd:
    """zstd frames read in small steps; unlike a plain stream reader, a cut frame is an error."""

    def __init__(self, src: _Source) -> None:
        self._src, self._obj = src, zstandard.ZstdDecompressor().decompressobj()
        self._buf, self._at, self._pending, self._fed = b"", 0, b"", False

    def read(self, n: int) -> bytes:
        while len(self._buf) - self._at < n:
            data = self._pending or self._src.read(_ZSTD_FEED)
            self._pending = b""
            if not data:
                if self._fed and not self._obj.eof:
                    raise EOFError("zstd stream ended inside a frame")
                break
            if self._obj.eof:
                self._obj = zstandard.ZstdDecompressor().decompressobj()
            self._fed = True
            self._buf, self._at = self._buf[self._at:] + self._obj.decompress(data), 0
            if self._obj.eof and self._obj.unused_data:
                self._pending = self._obj.unused_data
        out = self._buf[self._at:self._at + n]
        self._at += len(out)
        return out


class _Forward:
    """The uncompressed tar as a forward-only file: tarfile may skip ahead, never back."""

    def __init__(self, stream: object, digest: str) -> None:
        self._stream, self.digest = stream, digest
        self.pos, self.last, self.hasher = 0, b"", Hasher()

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = _CHUNK
        if n > _MAX_META:
            raise LayerError(f"layer {self.digest}: a tar header asks for {n} bytes of metadata",
                             hint="the layer is corrupt or hostile")
        parts, want = [], n
        try:
            while want:
                chunk = self._stream.read(want)  # type: ignore[attr-defined]
                if not chunk:
                    break
                parts.append(chunk)
                want -= len(chunk)
        except _DECODE_ERRORS as exc:
            raise LayerError(f"layer {self.digest} cannot be decompressed: {exc}",
                             hint="the blob is truncated or corrupt") from None
        data = b"".join(parts)
        self.pos += len(data)
        self.last = data
        self.hasher.update(data)
        return data

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence != 0 or pos < self.pos:
            raise LayerError(f"layer {self.digest}: backward seek in a layer stream")
        while self.pos < pos:
            if not self.read(min(_CHUNK, pos - self.pos)):
                raise _Truncated(pos)
        return self.pos


def _open_stream(blob: BinaryIO, media_type: str, digest: str) -> tuple[_Forward, _Source]:
    """Pick the decompressor from the media type (or the magic bytes for unknown types)."""
    prefix = blob.read(4)
    sniffed = "gzip" if prefix[:2] == GZIP_MAGIC else "zstd" if prefix == ZSTD_MAGIC else ""
    try:
        kind = mt.layer_compression(media_type)
    except ValueError:
        kind = sniffed
    if kind != sniffed and prefix:
        raise LayerError(f"layer {digest} is declared {kind or 'uncompressed'} ({media_type}) "
                         f"but its bytes are {sniffed or 'not compressed'}",
                         hint="the manifest's layer media type is wrong")
    src = _Source(blob, prefix, (digest or "sha256:").partition(":")[0])
    stream: object = src
    if kind == "gzip":
        stream = gzip.GzipFile(fileobj=src, mode="rb")  # type: ignore[arg-type]
    elif kind == "zstd":
        stream = _Zstd(src)
    return _Forward(stream, digest), src


class _MemberData:
    """A member's body, readable only while iteration is at that member."""

    def __init__(self, fwd: _Forward, name: str, offset: int, size: int) -> None:
        self._fwd, self._name, self._offset, self._size, self._done = fwd, name, offset, size, 0

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._done
        n = left if n is None or n < 0 else min(n, left)
        if not n:
            return b""
        at = self._offset + self._done
        if self._fwd.pos > at:
            raise LayerError(f"{self._name}: body read after the layer iteration moved on")
        parts, got = [], 0
        try:
            self._fwd.seek(at)
            while got < n:
                chunk = self._fwd.read(min(n - got, _CHUNK))
                if not chunk:
                    raise _Truncated(at + n)
                parts.append(chunk)
                got += len(chunk)
        except _Truncated:
            raise LayerError(f"layer {self._fwd.digest}: {self._name} ends before its "
                             f"{self._size} bytes", hint="the layer is truncated") from None
        self._done += got
        return b"".join(parts)


def _raw(ti: tarfile.TarInfo) -> RawMember:
    kind = (EntryType.FILE if ti.isreg() else EntryType.DIR if ti.isdir()
            else EntryType.SYMLINK if ti.issym() else EntryType.HARDLINK if ti.islnk()
            else EntryType.OTHER)
    return RawMember(ti.name, kind, ti.type, ti.mode, ti.uid, ti.gid, ti.size, ti.linkname,
                     float(ti.mtime), dict(ti.pax_headers), ti.offset, ti.offset_data)


def iter_layer(blob: BinaryIO, media_type: str = "", *, digest: str = "", diff_id: str = "",
               layer_index: int = 0, problems: list[LayerProblem] | None = None,
               ) -> Iterator[tuple[RawMember, BinaryIO | None]]:
    """Every tar member of one layer stream, with a reader for regular files' bodies.

    A body cut short ends the iteration with a `truncated` problem (a LayerError when no
    `problems` list is given). After the last member the stream is drained and the blob's
    digest (a LayerError) and `diff_id` (a problem) are checked.
    """
    found: list[LayerProblem] = [] if problems is None else problems

    def note(name: str, kind: str, message: str) -> None:
        found.append(LayerProblem(layer_index, digest, name, kind, message))

    fwd, src = _open_stream(blob, media_type, digest)
    last: RawMember | None = None
    try:
        tar: tarfile.TarFile | None = tarfile.open(fileobj=fwd, mode="r:")  # noqa: SIM115
    except tarfile.ReadError as exc:
        if fwd.pos:
            raise LayerError(f"layer {digest} is not a tar archive: {exc}") from None
        tar = None  # an empty blob is an empty layer
    while tar is not None:
        try:
            ti = tar.next()
        except _Truncated:
            ti = None
            name = last.name if last else "?"
            size = last.size if last else 0
            note(name, "truncated", f"{name}: header claims {size} bytes, the layer ends first")
            if problems is None:
                raise LayerError(f"layer {digest}: {found[-1].message}") from None
        except tarfile.TarError as exc:
            raise LayerError(f"layer {digest}: unreadable tar header: {exc}") from None
        if ti is None:
            break
        tar.members.clear()  # tarfile keeps every header; we do not need them
        last = _raw(ti)
        body = _MemberData(fwd, ti.name, ti.offset_data, ti.size) if ti.isreg() else None
        yield last, body  # type: ignore[misc]
    if fwd.last.strip(b"\0"):
        note(last.name if last else "", "bad-header",
             f"unreadable tar header at offset {fwd.pos - len(fwd.last)}; the rest is ignored")
    while fwd.read(_CHUNK):
        pass
    while src.read(_CHUNK):
        pass
    if digest and src.hasher.digest != digest:
        raise LayerError(f"layer {digest} is corrupt: its bytes hash to {src.hasher.digest}")
    if diff_id and fwd.hasher.digest != diff_id:
        note("", "diff-id-mismatch", f"uncompressed tar hashes to {fwd.hasher.digest}, the "
             f"config says {diff_id}")


