"""Deterministic Linux layer tars: what a native COPY/ADD/WORKDIR adds to a Linux image.

Every layer the native assembler writes starts as these entries; a Windows target's layer is
made from the same entries by `layers.convert`, so COPY semantics live in one place and each
format in its own. Output is reproducible: entries sorted, parents created, owners and modes
as given, every mtime the build epoch, gzip without a name or timestamp.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from posixpath import dirname, normpath

from e2e_images.errors import LayerError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.image import Layer, MemoryBlobs
from e2e_images.oci.models import Descriptor

__all__ = ["FileKind", "LayerEntry", "clean_path", "write_layer"]


class FileKind(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"


@dataclass(frozen=True, slots=True)
class LayerEntry:
    """A path in the image, absolute (`/bin/sh`); `link` is the symlink or hardlink target."""

    path: str
    kind: FileKind = FileKind.FILE
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    link: str = ""


def clean_path(path: str) -> str:
    """Relative to the root; `..` is refused rather than clamped, since a path that climbs
    is a bug in whoever computed it."""
    if ".." in path.split("/"):
        raise LayerError(f"layer path {path!r} escapes the root")
    rel = normpath("/" + path).lstrip("/")
    return "" if rel in ("", ".") else rel


def write_layer(entries: Iterable[LayerEntry], *, epoch: int,
                parent_dirs: dict[str, tuple[int, int, int]] | None = None,
                media_type: str = mt.OCI_LAYER_GZIP) -> Layer:
    """The gzip layer, held in memory. `parent_dirs` maps directories the base already has
    to (mode, uid, gid), so implied parents keep the base's owner and mode instead of a
    default."""
    known = dict(parent_dirs or {})
    by_path: dict[str, LayerEntry] = {}
    for entry in entries:
        rel = clean_path(entry.path)
        if rel:
            by_path[rel] = entry  # a later entry for the same path wins, as a later COPY would
    for rel in list(by_path):
        parent = dirname(rel)
        while parent and parent not in by_path:
            mode, uid, gid = known.get(parent, (0o755, 0, 0))
            by_path[parent] = LayerEntry("/" + parent, FileKind.DIR, mode=mode, uid=uid, gid=gid)
            parent = dirname(parent)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(by_path):
            entry = by_path[rel]
            info = tarfile.TarInfo(rel + ("/" if entry.kind is FileKind.DIR else ""))
            info.mode, info.uid, info.gid, info.mtime = entry.mode & 0o7777, entry.uid, \
                entry.gid, epoch
            info.uname = info.gname = ""
            if entry.kind is FileKind.DIR:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind is FileKind.SYMLINK:
                info.type, info.linkname = tarfile.SYMTYPE, entry.link
                tar.addfile(info)
            elif entry.kind is FileKind.HARDLINK:
                info.type, info.linkname = tarfile.LNKTYPE, clean_path(entry.link)
                tar.addfile(info)
            else:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
    data = raw.getvalue()
    blobs = MemoryBlobs()
    compressed = gzip.compress(data, compresslevel=6, mtime=0)
    blobs.add(compressed)
    return Layer(Descriptor.of(media_type, compressed), blobs, sha256_digest(data))
