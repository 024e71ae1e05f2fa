"""Reading layer blobs as tar streams: gzip, zstd or plain, digest-checked, never extracted.

`iter_layer()` is the one reader of layer streams: the filesystem view (`oci.fs`) and the
Windows layer lint both take their members from it. Headers are read as written (`RawMember`);
bodies are skipped unless asked for; truncated bodies, devices and escaping names are reported
as `LayerProblem`s rather than followed. What a layer and an image may decompress to is bounded
(`LayerLimits`: bytes and entries, per layer and per image; defaults leave room for real
Windows servercore layers, several GB and ~10^5 entries), so a gzip bomb stops at the limit.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import BinaryIO

import zstandard

from e2e_images.errors import LayerError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import Hasher

__all__ = ["Budget", "EntryType", "LayerLimits", "LayerProblem", "RawMember", "iter_layer"]

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


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True, slots=True)
class LayerLimits:
    """Decompressed bytes and tar entries one layer, and one image's layers together, may
    have. Each is raised with `E2E_IMAGES_MAX_<FIELD>` (`E2E_IMAGES_MAX_LAYER_BYTES=64G`)."""

    layer_bytes: int = 16 << 30
    layer_entries: int = 500_000
    image_bytes: int = 32 << 30
    image_entries: int = 1_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LayerLimits:
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            var = f"E2E_IMAGES_MAX_{f.name.upper()}"
            text = env.get(var, "").strip().upper().removesuffix("IB").removesuffix("B")
            if not text:
                continue
            number, unit = (text[:-1], text[-1]) if text[-1] in _UNITS else (text, "")
            if not number.isdigit() or int(number) <= 0:
                raise LayerError(f"{var}={env[var]!r} is not a positive count (K, M, G, T "
                                 "suffixes allowed)")
            values[f.name] = int(number) * _UNITS[unit]
        return cls(**values)


def _size(n: int) -> str:
    unit = next((u for u in "TGMK" if n >= _UNITS[u] and n % _UNITS[u] == 0), "")
    return f"{n // _UNITS[unit]} {unit}iB" if unit else f"{n} bytes"


class Budget:
    """What the layers of one image may still decompress to; each `iter_layer` call also
    keeps a per-layer count. Exceeding either stops the read with a LayerError at once."""

    def __init__(self, limits: LayerLimits | None = None) -> None:
        self.limits = limits or LayerLimits.from_env()
        self.bytes = self.entries = 0

    def add(self, digest: str, layer_bytes: int, layer_entries: int, n_bytes: int,
            n_entries: int) -> None:
        self.bytes += n_bytes
        self.entries += n_entries
        lim = self.limits
        for used, limit, what, var in (
                (layer_bytes, lim.layer_bytes, f"layer {digest} decompresses to more than "
                 f"{_size(lim.layer_bytes)}", "LAYER_BYTES"),
                (layer_entries, lim.layer_entries, f"layer {digest} has more than "
                 f"{lim.layer_entries} tar entries", "LAYER_ENTRIES"),
                (self.bytes, lim.image_bytes, f"the image's layers decompress to more than "
                 f"{_size(lim.image_bytes)} (at layer {digest})", "IMAGE_BYTES"),
                (self.entries, lim.image_entries, f"the image's layers have more than "
                 f"{lim.image_entries} tar entries (at layer {digest})", "IMAGE_ENTRIES")):
            if used > limit:
                raise LayerError(what, hint=f"a decompression bomb, or a real image bigger "
                                            f"than the limit: raise E2E_IMAGES_MAX_{var}")


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

    def __init__(self, stream: object, digest: str, budget: Budget | None = None) -> None:
        self._stream, self.digest, self.budget = stream, digest, budget
        self.pos, self.last, self.hasher = 0, b"", Hasher()
        self.entries = 0

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
        if self.budget is not None:
            self.budget.add(self.digest, self.pos, self.entries, len(data), 0)
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


def _open_stream(blob: BinaryIO, media_type: str, digest: str,
                 budget: Budget | None = None) -> tuple[_Forward, _Source]:
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
    return _Forward(stream, digest, budget), src


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
               budget: Budget | None = None) -> Iterator[tuple[RawMember, BinaryIO | None]]:
    """Every tar member of one layer stream, with a reader for regular files' bodies.

    A body cut short ends the iteration with a `truncated` problem (a LayerError when no
    `problems` list is given). After the last member the stream is drained and the blob's
    digest (a LayerError) and `diff_id` (a problem) are checked. `budget` (default: the
    limits from the environment, for this layer alone) bounds what it decompresses to.
    """
    found: list[LayerProblem] = [] if problems is None else problems

    def note(name: str, kind: str, message: str) -> None:
        found.append(LayerProblem(layer_index, digest, name, kind, message))

    budget = budget or Budget()
    fwd, src = _open_stream(blob, media_type, digest, budget)
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
        fwd.entries += 1
        budget.add(digest, fwd.pos, fwd.entries, 0, 1)
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


