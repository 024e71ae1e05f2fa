"""Linux to Windows: how a `COPY` of Linux-stage files lands in a Windows layer.

Names are rooted at C:\\, symlink targets stay as written, `.wh.` files become whiteouts;
devices, fifos (W10) and opaque directories have no Windows form and are refused. The
native builder converts its `LayerEntry` list directly (`windows_entries`), with the Linux
writer's path rules (later entries win, `..` refused) and never a Linux tar in between;
`windows_entries_from_linux` reads an existing Linux layer tar the same way.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from typing import BinaryIO

from e2e_images.errors import LayerError
from e2e_images.layers.linux import FileKind, LayerEntry, clean_path
from e2e_images.layers.winentries import OPAQUE, WHITEOUT_PREFIX, WinEntry

__all__ = ["windows_entries", "windows_entries_from_linux"]


def _windows_entry(name: str, kind: FileKind | None, data: bytes, mode: int, link: str
                   ) -> WinEntry:
    """One Linux entry (`name` relative to the root, no trailing slash; kind None for a
    device or fifo) in Windows form."""
    head, _, base = name.rpartition("/")
    if base == OPAQUE:
        raise LayerError(f"{name}: opaque directories have no Windows form")
    if base.startswith(WHITEOUT_PREFIX):
        return WinEntry.whiteout(f"{head}/{base[4:]}" if head else base[4:])
    if kind is None:
        raise LayerError(f"{name}: devices and fifos cannot exist on Windows (W10)")
    if kind is FileKind.DIR:
        return WinEntry.directory(name, mode=mode)
    if kind is FileKind.SYMLINK:
        return WinEntry.symlink(name, link, mode=mode)
    if kind is FileKind.HARDLINK:
        return WinEntry.hardlink(name, link.lstrip("/").removeprefix("./"), mode=mode)
    return WinEntry.file(name, data, mode=mode)


def windows_entries(entries: Iterable[LayerEntry]) -> list[WinEntry]:
    """The Windows form of what `layers.linux.write_layer` would write for `entries`."""
    by_path: dict[str, LayerEntry] = {}
    for entry in entries:
        rel = clean_path(entry.path)
        if rel:
            by_path[rel] = entry  # a later entry for the same path wins, as a later COPY would
    return [_windows_entry(rel, e.kind, e.data, e.mode & 0o7777,
                           clean_path(e.link) if e.kind is FileKind.HARDLINK else e.link)
            for rel, e in sorted(by_path.items())]


_KINDS = {tarfile.DIRTYPE: FileKind.DIR, tarfile.SYMTYPE: FileKind.SYMLINK,
          tarfile.LNKTYPE: FileKind.HARDLINK}


def windows_entries_from_linux(layer: bytes | BinaryIO) -> list[WinEntry]:
    """Entries of a Linux layer tar (bytes or a stream, plain or gzip) in Windows form."""
    out: list[WinEntry] = []
    stream = io.BytesIO(layer) if isinstance(layer, bytes | bytearray) else layer
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for m in tar:
                name = m.name.lstrip("/").removeprefix("./").rstrip("/")
                if name in ("", "."):
                    continue
                kind = FileKind.FILE if m.isreg() else _KINDS.get(m.type)
                f = tar.extractfile(m) if m.isreg() else None
                out.append(_windows_entry(name, kind, f.read() if f is not None else b"",
                                          m.mode & 0o7777, m.linkname))
    except tarfile.TarError as exc:
        raise LayerError(f"not a readable layer tar: {exc}") from None
    return out
