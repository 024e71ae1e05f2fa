"""The one writer of Windows-format layer tars (rules W1-W12 of docs/windows-layers.md).

A Windows node imports a layer through hcsshim/go-winio, which reads only `Files/` (and, in
base layers, `Hives/` and `UtilityVM/Files/`) and takes file attributes and security
descriptors from PAX records. Builders on Linux get this wrong in small ways (prefixed symlink
targets, unpadded creation times, wall-clock stamps), so every Windows layer this project makes
goes through here: typed entries in, a deterministic PAX tar and its gzip out, hashed in one
pass so a 1 GB base layer never sits in memory.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from e2e_images.build.win_security import DIR_SECURITY_DESCRIPTOR, FILE_SECURITY_DESCRIPTOR
from e2e_images.errors import LayerError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import Hasher
from e2e_images.oci.models import Descriptor

__all__ = [
    "DIR_SECURITY_DESCRIPTOR",
    "FILES",
    "FILE_SECURITY_DESCRIPTOR",
    "HIVES",
    "UTILITY_VM",
    "EntryKind",
    "LayerInfo",
    "StreamContent",
    "WinEntry",
    "WindowsLayer",
    "build_windows_layer",
    "format_creation_time",
    "layer_names",
    "plan_entries",
    "windows_entries_from_linux",
    "write_windows_layer",
]

FILES = "Files"
HIVES = "Hives"
UTILITY_VM = "UtilityVM/Files"  # base layers only
_AREA_ORDER = (FILES, HIVES, UTILITY_VM)
_ATTR_DIRECTORY = 16  # FILE_ATTRIBUTE_DIRECTORY
_ATTR_ARCHIVE = 32  # FILE_ATTRIBUTE_ARCHIVE: what a plain file carries
_WHITEOUT_PREFIX = ".wh."
_CHUNK = 1 << 20




def format_creation_time(ns: int) -> str:
    """`sec[.fraction]`: fraction padded to 9 digits, then trailing zeros trimmed (W9)."""
    if ns < 0:
        raise LayerError(f"creation time {ns} ns is before the epoch")
    sec, frac = divmod(ns, 1_000_000_000)
    text = f"{frac:09d}".rstrip("0")
    return f"{sec}.{text}" if text else str(sec)


# --- Entries -------------------------------------------------------------------------------

class EntryKind(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    WHITEOUT = "whiteout"  # written as an empty file `<dir>/.wh.<name>` (W4)


@dataclass(frozen=True, slots=True)
class StreamContent:
    """File content produced on demand, so large files are streamed and never held."""

    size: int
    chunks: Callable[[], Iterable[bytes]]


@dataclass(frozen=True, slots=True)
class WinEntry:
    """One entry of a Windows layer. `path` is relative to C:\\ (or to the area), `/`-separated.

    `link` is the hardlink target (same area, prefixed on write) or the symlink target (written
    exactly as given, W6). `area` is Files, or Hives / UtilityVM/Files for base layers.
    """

    path: str
    kind: EntryKind = EntryKind.FILE
    data: bytes | StreamContent = b""
    mode: int | None = None
    link: str = ""
    created_ns: int | None = None
    area: str = FILES

    @classmethod
    def file(cls, path: str, data: bytes | StreamContent = b"", **kw: object) -> WinEntry:
        return cls(path, EntryKind.FILE, data, **kw)  # type: ignore[arg-type]

    @classmethod
    def directory(cls, path: str, **kw: object) -> WinEntry:
        return cls(path, EntryKind.DIR, **kw)  # type: ignore[arg-type]

    @classmethod
    def symlink(cls, path: str, target: str, **kw: object) -> WinEntry:
        return cls(path, EntryKind.SYMLINK, link=target, **kw)  # type: ignore[arg-type]

    @classmethod
    def hardlink(cls, path: str, target: str, **kw: object) -> WinEntry:
        return cls(path, EntryKind.HARDLINK, link=target, **kw)  # type: ignore[arg-type]

    @classmethod
    def whiteout(cls, path: str) -> WinEntry:
        return cls(path, EntryKind.WHITEOUT)

    @property
    def size(self) -> int:
        if self.kind is not EntryKind.FILE:
            return 0
        return self.data.size if isinstance(self.data, StreamContent) else len(self.data)


def _clean(path: str, what: str) -> str:
    if not path or path.startswith(("/", "\\")) or "\\" in path or ":" in path:
        raise LayerError(f"{what} {path!r} must be relative to C:\\ with forward slashes",
                         hint="write 'Windows/System32/cmd.exe', not 'C:\\Windows\\...'")
    parts = path.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise LayerError(f"{what} {path!r} has an empty, '.' or '..' component")
    return "/".join(parts)


def _check(entry: WinEntry, base_layer: bool) -> WinEntry:
    if entry.area not in _AREA_ORDER:
        raise LayerError(f"{entry.path!r}: unknown area {entry.area!r} (Files, Hives, "
                         "UtilityVM/Files)")
    if entry.area == UTILITY_VM and not base_layer:
        raise LayerError(f"{entry.path!r}: UtilityVM/Files entries belong in base layers only",
                         hint="pass base_layer=True")
    path = _clean(entry.path, "path")
    if path.rsplit("/", 1)[-1].startswith(_WHITEOUT_PREFIX):
        raise LayerError(f"{path!r}: names starting with .wh. are whiteouts (W4)",
                         hint="use WinEntry.whiteout('<dir>/<name>')")
    link = entry.link
    if entry.kind is EntryKind.HARDLINK:
        link = _clean(link, f"hardlink target of {path!r}")
    elif entry.kind is EntryKind.SYMLINK:
        if not link:
            raise LayerError(f"symlink {path!r} has no target")
        if link.replace("\\", "/").startswith(FILES + "/"):
            raise LayerError(f"symlink {path!r} -> {link!r}: a target starting with Files/ "
                             "breaks on the node (W6)", hint="write it relative to the link")
    elif link:
        raise LayerError(f"{path!r}: only links have a target")
    if entry.kind is not EntryKind.FILE and entry.data != b"":
        raise LayerError(f"{path!r}: only regular files have content")
    return WinEntry(path, entry.kind, entry.data, entry.mode, link, entry.created_ns, entry.area)


def _key(entry: WinEntry) -> tuple[int, tuple[str, ...]]:
    # Component-wise, so a directory precedes its children; case-insensitively, as Windows
    # lists them (no ties: case clashes are refused first).
    return _AREA_ORDER.index(entry.area), tuple(entry.path.casefold().split("/"))


def plan_entries(entries: Iterable[WinEntry], *, base_layer: bool = False) -> list[WinEntry]:
    """Validated, with implicit parents, in write order (parents first, hardlinks after
    their targets). Raises LayerError for duplicates, case clashes (W11) and bad links."""
    by_key: dict[tuple[str, str], WinEntry] = {}
    for raw in entries:
        entry = _check(raw, base_layer)
        if (entry.area, entry.path) in by_key:
            raise LayerError(f"{entry.area}/{entry.path} appears twice in one layer")
        by_key[(entry.area, entry.path)] = entry
    for area, path in list(by_key):
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            found = by_key.setdefault((area, parent), WinEntry(parent, EntryKind.DIR, area=area))
            if found.kind is not EntryKind.DIR:
                raise LayerError(f"{area}/{parent} is a {found.kind}, but {area}/{path} "
                                 "needs it to be a directory")
    folded: dict[str, str] = {}
    for area, path in by_key:
        name = f"{area}/{path}"
        other = folded.setdefault(name.casefold(), name)
        if other != name:
            a, b = sorted((other, name))
            raise LayerError(f"{a} and {b} differ only by case (W11)",
                             hint="Windows paths are case-insensitive: keep one of them")
    ordered = sorted(by_key.values(), key=_key)
    out: list[WinEntry] = []
    done: set[tuple[str, str]] = set()
    waiting: dict[tuple[str, str], list[WinEntry]] = {}

    def emit(entry: WinEntry) -> None:
        out.append(entry)
        done.add((entry.area, entry.path))
        for later in waiting.pop((entry.area, entry.path), []):
            emit(later)

    for entry in ordered:
        if entry.kind is EntryKind.HARDLINK:
            target = by_key.get((entry.area, entry.link))
            if target is not None and target.kind in (EntryKind.DIR, EntryKind.WHITEOUT):
                raise LayerError(f"hardlink {entry.area}/{entry.path} -> {entry.link}: "
                                 f"target is a {target.kind}")
            if target is not None and (entry.area, entry.link) not in done:
                waiting.setdefault((entry.area, entry.link), []).append(entry)
                continue
        emit(entry)
    if waiting:  # only a cycle of hardlinks can leave something waiting
        names = sorted(f"{e.area}/{e.path}" for es in waiting.values() for e in es)
        raise LayerError(f"hardlinks form a cycle: {', '.join(names)}")
    return out


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
    tops = [FILES, HIVES] + (["UtilityVM", UTILITY_VM] if base_layer else [])
    for top in tops:  # W2: the area directories come first
        info = _tarinfo(top, EntryKind.DIR, epoch, epoch_ns, 0o755)
        info.type = tarfile.DIRTYPE
        yield info, None
    for entry in planned:
        name = f"{entry.area}/{entry.path}"
        if entry.kind is EntryKind.WHITEOUT:
            head, _, base = name.rpartition("/")
            name = f"{head}/{_WHITEOUT_PREFIX}{base}"
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


@dataclass(frozen=True, slots=True)
class LayerInfo:
    diff_id: str  # sha256 of the uncompressed tar
    tar_size: int
    digest: str  # sha256 of the gzip blob
    size: int
    media_type: str = mt.OCI_LAYER_GZIP

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)


@dataclass(frozen=True, slots=True)
class WindowsLayer:
    tar: bytes
    compressed: bytes
    info: LayerInfo


def write_windows_layer(
    entries: Iterable[WinEntry],
    *,
    epoch: int,
    gz_out: BinaryIO | None,
    tar_out: BinaryIO | None = None,
    base_layer: bool = False,
    level: int = 6,
) -> LayerInfo:
    """Stream the layer: the tar to `tar_out` (optional), its gzip to `gz_out` (None: hash
    only). All times come from `epoch` (seconds, SOURCE_DATE_EPOCH style) unless an entry
    carries its own creation time; gzip has mtime 0 and no file name. Same input, same bytes."""
    if not isinstance(epoch, int) or epoch < 0:
        raise LayerError(f"epoch must be a non-negative integer of seconds, got {epoch!r}")
    diff, comp = Hasher(), Hasher()
    gz_sink = _HashingSink(gz_out, comp)
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_sink, compresslevel=level,
                       mtime=0) as gz:
        tar_sink = _TeeSink(tar_out, gz, diff)
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
    return LayerInfo(diff.digest, diff.size, comp.digest, comp.size)


class _TeeSink(io.RawIOBase):
    def __init__(self, tar_out: BinaryIO | None, gz: gzip.GzipFile, hasher: Hasher) -> None:
        self._tar_out = tar_out
        self._gz = gz
        self._hasher = hasher

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        data = bytes(b)
        self._hasher.update(data)
        if self._tar_out is not None:
            self._tar_out.write(data)
        self._gz.write(data)
        return len(data)

    def tell(self) -> int:
        return self._hasher.size


def build_windows_layer(entries: Iterable[WinEntry], *, epoch: int, base_layer: bool = False,
                        level: int = 6) -> WindowsLayer:
    """In memory: for the small layers a build adds (use write_windows_layer for large ones)."""
    tar_buf, gz_buf = io.BytesIO(), io.BytesIO()
    info = write_windows_layer(entries, epoch=epoch, gz_out=gz_buf, tar_out=tar_buf,
                               base_layer=base_layer, level=level)
    return WindowsLayer(tar_buf.getvalue(), gz_buf.getvalue(), info)


def windows_entries_from_linux(layer: bytes | BinaryIO) -> list[WinEntry]:
    """Entries of a Linux layer tar (bytes or a stream, plain or gzip) as a Windows layer
    would carry them (e.g. `build.linux_layer.write_layer(...).tar`).

    How a `COPY` from a Linux stage lands in a Windows stage: names rooted at C:\\, symlink
    targets untouched, `.wh.` files as whiteouts. Devices, fifos (W10) and opaque directories
    have no Windows form and are refused.
    """
    out: list[WinEntry] = []
    stream = io.BytesIO(layer) if isinstance(layer, bytes | bytearray) else layer
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for m in tar:
                name = m.name.lstrip("/").removeprefix("./").rstrip("/")
                if name in ("", "."):
                    continue
                head, _, base = name.rpartition("/")
                mode = m.mode & 0o7777
                if base == ".wh..wh..opq":
                    raise LayerError(f"{m.name}: opaque directories have no Windows form")
                if base.startswith(_WHITEOUT_PREFIX):
                    out.append(WinEntry.whiteout(f"{head}/{base[4:]}" if head else base[4:]))
                elif m.isdir():
                    out.append(WinEntry.directory(name, mode=mode))
                elif m.isreg():
                    f = tar.extractfile(m)
                    data = f.read() if f is not None else b""
                    out.append(WinEntry.file(name, data, mode=mode))
                elif m.issym():
                    out.append(WinEntry.symlink(name, m.linkname, mode=mode))
                elif m.islnk():
                    target = m.linkname.lstrip("/").removeprefix("./")
                    out.append(WinEntry.hardlink(name, target, mode=mode))
                else:
                    raise LayerError(f"{m.name}: devices and fifos cannot exist on Windows "
                                     "(W10)")
    except tarfile.TarError as exc:
        raise LayerError(f"not a readable layer tar: {exc}") from None
    return out
