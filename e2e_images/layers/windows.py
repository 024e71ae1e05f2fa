"""The one writer of Windows-format layer tars (rules W1-W12 of docs/windows-layers.md).

A Windows node imports a layer through hcsshim/go-winio, which takes file attributes and
security descriptors from PAX records. Builders on Linux get this wrong in small ways
(prefixed symlink targets, unpadded creation times, wall-clock stamps), so every Windows layer
this project makes goes through here: entries planned by `layers.winentries` in, a
deterministic PAX tar out, gzipped and hashed in one pass so a 1 GB base layer never sits in
memory.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from e2e_images.errors import LayerError
from e2e_images.layers.security import DIR_SECURITY_DESCRIPTOR, FILE_SECURITY_DESCRIPTOR
from e2e_images.layers.winentries import (
    FILES,
    HIVES,
    UTILITY_VM,
    UTILITY_VM_DIR,
    WHITEOUT_PREFIX,
    EntryKind,
    StreamContent,
    WinEntry,
    plan_entries,
)
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import Hasher
from e2e_images.oci.image import BlobSource, Layer, MemoryBlobs
from e2e_images.oci.models import Descriptor

__all__ = ["build_windows_layer", "format_creation_time", "layer_names", "write_windows_layer"]

_ATTR_DIRECTORY = 16  # FILE_ATTRIBUTE_DIRECTORY
_ATTR_ARCHIVE = 32  # FILE_ATTRIBUTE_ARCHIVE: what a plain file carries
_CHUNK = 1 << 20


def format_creation_time(ns: int) -> str:
    """`sec[.fraction]`: fraction padded to 9 digits, then trailing zeros trimmed (W9)."""
    if ns < 0:
        raise LayerError(f"creation time {ns} ns is before the epoch")
    sec, frac = divmod(ns, 1_000_000_000)
    text = f"{frac:09d}".rstrip("0")
    return f"{sec}.{text}" if text else str(sec)


def layer_names(entries: Iterable[WinEntry], *, base_layer: bool = False) -> list[str]:
    """The tar member names, in order, that `write_windows_layer` would produce."""
    return [info.name for info, _ in _members(entries, 0, base_layer)]


# --- Writing -------------------------------------------------------------------------------

class _WinTarInfo(tarfile.TarInfo):
    """Directory names without the trailing slash tarfile adds: Windows layers written by
    hcsshim and BuildKit say `Files`, and the importer maps `Files/` to an empty name."""

    __slots__ = ()

    def get_info(self) -> dict[str, object]:  # type: ignore[override]
        info = super().get_info()
        if info["type"] == tarfile.DIRTYPE:
            info["name"] = str(info["name"]).rstrip("/")
        return info


def _tarinfo(name: str, kind: EntryKind, epoch: int, created_ns: int, mode: int) -> tarfile.TarInfo:
    info = _WinTarInfo(name)
    info.mtime = epoch
    info.mode = mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    is_dir = kind is EntryKind.DIR
    info.pax_headers = {
        "LIBARCHIVE.creationtime": format_creation_time(created_ns),
        "MSWINDOWS.fileattr": str(_ATTR_DIRECTORY if is_dir else _ATTR_ARCHIVE),
        "MSWINDOWS.rawsd": DIR_SECURITY_DESCRIPTOR if is_dir else FILE_SECURITY_DESCRIPTOR,
    }
    return info


_DEFAULT_MODE = {EntryKind.DIR: 0o755, EntryKind.FILE: 0o644, EntryKind.SYMLINK: 0o777,
                 EntryKind.HARDLINK: 0o644, EntryKind.WHITEOUT: 0o644}
_TAR_TYPE = {EntryKind.DIR: tarfile.DIRTYPE, EntryKind.FILE: tarfile.REGTYPE,
             EntryKind.SYMLINK: tarfile.SYMTYPE, EntryKind.HARDLINK: tarfile.LNKTYPE,
             EntryKind.WHITEOUT: tarfile.REGTYPE}


def _members(entries: Iterable[WinEntry], epoch: int,
             base_layer: bool) -> Iterator[tuple[tarfile.TarInfo, WinEntry | None]]:
    planned = plan_entries(entries, base_layer=base_layer)
    epoch_ns = epoch * 1_000_000_000
    tops = [FILES, HIVES] + ([UTILITY_VM_DIR, UTILITY_VM] if base_layer else [])
    for top in tops:  # W2: the area directories come first
        info = _tarinfo(top, EntryKind.DIR, epoch, epoch_ns, 0o755)
        info.type = tarfile.DIRTYPE
        yield info, None
    for entry in planned:
        name = f"{entry.area}/{entry.path}"
        if entry.kind is EntryKind.WHITEOUT:
            head, _, base = name.rpartition("/")
            name = f"{head}/{WHITEOUT_PREFIX}{base}"
        mode = _DEFAULT_MODE[entry.kind] if entry.mode is None else entry.mode
        created = epoch_ns if entry.created_ns is None else entry.created_ns
        info = _tarinfo(name, entry.kind, epoch, created, mode)
        info.type = _TAR_TYPE[entry.kind]
        if entry.kind is EntryKind.HARDLINK:
            info.linkname = f"{entry.area}/{entry.link}"  # W5: prefixed like the name
        elif entry.kind is EntryKind.SYMLINK:
            info.linkname = entry.link  # W6: verbatim
        info.size = entry.size
        yield info, entry


class _ChunkReader(io.RawIOBase):
    """A readable over StreamContent chunks that checks the declared size is exact."""

    def __init__(self, name: str, content: StreamContent) -> None:
        self._name = name
        self._it = iter(content.chunks())
        self._buf = memoryview(b"")
        self._declared = content.size
        self._seen = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        parts: list[bytes] = []
        want = n
        while want != 0:
            if not self._buf:
                chunk = next(self._it, None)
                if chunk is None:
                    break
                self._seen += len(chunk)
                self._buf = memoryview(chunk)
            take = len(self._buf) if want < 0 else min(want, len(self._buf))
            parts.append(bytes(self._buf[:take]))
            self._buf = self._buf[take:]
            if want > 0:
                want -= take
        return b"".join(parts)

    def finish(self) -> None:
        for chunk in self._it:
            self._seen += len(chunk)
        if self._seen != self._declared:
            raise LayerError(f"{self._name}: content is {self._seen} bytes, declared "
                             f"{self._declared}")


class _HashingSink(io.RawIOBase):
    def __init__(self, out: BinaryIO | None, hasher: Hasher) -> None:
        self._out = out
        self._hasher = hasher

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self._hasher.update(bytes(b))
        if self._out is not None:
            self._out.write(b)
        return len(b)

    def tell(self) -> int:
        return self._hasher.size


def write_windows_layer(
    entries: Iterable[WinEntry],
    *,
    epoch: int,
    gz_out: BinaryIO | None,
    source: BlobSource,
    base_layer: bool = False,
    level: int = 6,
    media_type: str = mt.OCI_LAYER_GZIP,
) -> Layer:
    """Stream the layer's gzip to `gz_out` (None: hash only) and return it as a layer read
    from `source`, where the caller keeps what `gz_out` received. All times come from
    `epoch` (seconds, SOURCE_DATE_EPOCH style) unless an entry carries its own creation time;
    gzip has mtime 0 and no file name. Same input, same bytes."""
    if not isinstance(epoch, int) or epoch < 0:
        raise LayerError(f"epoch must be a non-negative integer of seconds, got {epoch!r}")
    diff, comp = Hasher(), Hasher()
    gz_sink = _HashingSink(gz_out, comp)
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_sink, compresslevel=level,
                       mtime=0) as gz:
        tar_sink = _TeeSink(gz, diff)
        with tarfile.TarFile(fileobj=tar_sink, mode="w", format=tarfile.PAX_FORMAT,
                             copybufsize=_CHUNK) as tar:
            for info, entry in _members(entries, epoch, base_layer):
                if entry is None or entry.kind is not EntryKind.FILE:
                    tar.addfile(info)
                elif isinstance(entry.data, StreamContent):
                    reader = _ChunkReader(info.name, entry.data)
                    try:
                        tar.addfile(info, reader)  # type: ignore[arg-type]
                    except OSError as exc:
                        raise LayerError(f"{info.name}: {exc} (declared {info.size} bytes)") \
                            from None
                    reader.finish()
                else:
                    tar.addfile(info, io.BytesIO(entry.data))
    return Layer(Descriptor(media_type, comp.digest, comp.size), source, diff.digest)


class _TeeSink(io.RawIOBase):
    def __init__(self, gz: gzip.GzipFile, hasher: Hasher) -> None:
        self._gz = gz
        self._hasher = hasher

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        data = bytes(b)
        self._hasher.update(data)
        self._gz.write(data)
        return len(data)

    def tell(self) -> int:
        return self._hasher.size


def build_windows_layer(entries: Iterable[WinEntry], *, epoch: int, base_layer: bool = False,
                        level: int = 6, media_type: str = mt.OCI_LAYER_GZIP) -> Layer:
    """In memory: for the small layers a build adds (use write_windows_layer for large ones)."""
    buf, blobs = io.BytesIO(), MemoryBlobs()
    layer = write_windows_layer(entries, epoch=epoch, gz_out=buf, source=blobs,
                                base_layer=base_layer, level=level, media_type=media_type)
    blobs.add(buf.getvalue())
    return layer
