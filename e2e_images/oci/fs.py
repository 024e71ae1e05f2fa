"""A read-only filesystem view of an image, built by streaming its layer tars (never extracted).

Building the view reads headers only: file contents are skipped, and `read()` re-streams the
one layer that owns a file. Whiteouts and opaque directories are applied as the OCI spec says
(they only hide lower layers). Entries that would escape the root, device nodes, and bodies
that end before their header's size are refused and listed in `problems`, never followed.
A Windows image is seen as its `Files/` subtree; `raw_entries()` keeps the tar as written.
`iter_layer()` is the one reader of layer streams, for this view and for the layer lints.
"""

from __future__ import annotations

import gzip
import posixpath
import tarfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import BinaryIO

import zstandard

from e2e_images.errors import LayerError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import Hasher
from e2e_images.oci.image import Image, Layer

__all__ = ["Entry", "EntryType", "LayerFS", "LayerProblem", "RawMember", "iter_layer"]

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
class Entry:
    """A path of the merged view. `linkname` of a hardlink is the view path of its target."""

    path: str
    type: EntryType
    mode: int
    uid: int
    gid: int
    size: int
    linkname: str = ""
    pax: Mapping[str, str] = field(default_factory=dict)
    layer: int = -1
    mtime: float = 0.0


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


def _clean(name: str) -> tuple[str, str]:
    """('/a/b', '') for a safe member name, else ('', problem kind)."""
    if name.startswith("/"):
        return "", "absolute-path"
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return "", "parent-traversal"
    return "/" + "/".join(parts), ""


def _norm(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/"))


class LayerFS:
    """The merged, read-only tree of an image's layers (see the module docstring)."""

    def __init__(self, layers: Sequence[Layer], *, windows: bool = False,
                 diff_ids: Sequence[str] = ()) -> None:
        self.layers, self.windows = tuple(layers), windows
        self.problems: list[LayerProblem] = []
        self._entries: dict[str, Entry] = {"/": Entry("/", EntryType.DIR, 0o755, 0, 0, 0)}
        self._children: dict[str, dict[str, None]] = {"/": {}}
        self._content: dict[str, tuple[int, int, int]] = {}  # path -> (layer, offset, size)
        for i, layer in enumerate(self.layers):
            with layer.open() as blob:
                for member, _ in iter_layer(blob, layer.media_type, digest=layer.digest,
                                            diff_id=diff_ids[i] if i < len(diff_ids) else "",
                                            layer_index=i, problems=self.problems):
                    self._add(i, layer.digest, member)

    @classmethod
    def open(cls, image: Image) -> LayerFS:
        return cls(image.layers(), windows=image.platform.os == "windows",
                   diff_ids=image.config.diff_ids)

    @classmethod
    def from_layers(cls, layers: Sequence[Layer], *, windows: bool = False) -> LayerFS:
        return cls(layers, windows=windows)

    # -- building ------------------------------------------------------------------------

    def _add(self, i: int, digest: str, m: RawMember) -> None:
        def refuse(kind: str, why: str) -> None:
            self.problems.append(LayerProblem(i, digest, m.name, kind, f"{m.name}: {why}"))

        name = m.name
        if self.windows:
            if name != "Files" and not name.startswith("Files/"):
                return  # Hives/, UtilityVM/: not part of the container's filesystem
            name = name[len("Files/"):]
        path, bad = _clean(name)
        if bad:
            return refuse(bad, "refused: the name leaves the image root")
        if m.is_device:
            return refuse("device", "refused: device node")
        parent, base = posixpath.split(path)
        if base == _OPAQUE:
            if self._ensure_dirs(parent, i):
                self._opaque(parent, i)
            return None
        if base.startswith(".wh."):  # hides only what lower layers put there
            hidden = self._entries.get(posixpath.join(parent, base[4:]))
            if hidden is not None and hidden.layer < i:
                self._remove(hidden.path)
            return None
        entry = Entry(path, m.type, m.mode & 0o7777, m.uid, m.gid, m.size, m.linkname,
                      m.pax, i, m.mtime)
        if path == "/":
            if m.type is EntryType.DIR:
                self._entries["/"] = entry
            return None
        if not self._ensure_dirs(parent, i):
            return refuse("not-a-directory", f"refused: {parent} is not a directory")
        content = (i, m.data_offset, m.size) if m.type is EntryType.FILE else None
        if m.type is EntryType.HARDLINK:
            target = m.linkname
            if self.windows:
                if not target.startswith("Files/"):
                    return refuse("hardlink-target", f"link target {target} is not under Files/")
                target = target[len("Files/"):]
            target, bad = _clean(target)
            linked = self._entries.get(target) if not bad else None
            if linked is None or linked.type is EntryType.DIR:
                return refuse("hardlink-target", f"link target {m.linkname} is not in the image")
            entry = Entry(path, EntryType.HARDLINK, linked.mode, linked.uid, linked.gid,
                          linked.size, target, m.pax, i, m.mtime)
            content = self._content.get(target)
        old = self._entries.get(path)
        if old is not None and not (old.type is EntryType.DIR and m.type is EntryType.DIR):
            self._remove(path)
        if content is not None:
            self._content[path] = content
        self._entries[path] = entry
        self._children[parent][base] = None
        if m.type is EntryType.DIR:
            self._children.setdefault(path, {})
        return None

    def _ensure_dirs(self, path: str, i: int) -> bool:
        """Create missing parents as plain directories; False if one is not a directory."""
        cur = "/"
        for name in path.split("/")[1:] if path != "/" else ():
            parent, cur = cur, posixpath.join(cur, name)
            existing = self._entries.get(cur)
            if existing is None:
                self._entries[cur] = Entry(cur, EntryType.DIR, 0o755, 0, 0, 0, layer=i)
                self._children[cur] = {}
                self._children[parent][name] = None
            elif existing.type is not EntryType.DIR:
                return False
        return True

    def _remove(self, path: str) -> None:
        parent, base = posixpath.split(path)
        self._children.get(parent, {}).pop(base, None)
        stack = [path]
        while stack:  # iterative: a hostile layer can nest deeper than the recursion limit
            cur = stack.pop()
            stack.extend(posixpath.join(cur, n) for n in self._children.pop(cur, {}))
            self._entries.pop(cur, None)
            self._content.pop(cur, None)

    def _opaque(self, path: str, i: int) -> None:
        """Hide everything lower layers put under `path`, keeping this layer's own entries."""
        stack = [path]
        while stack:
            cur = stack.pop()
            for name in list(self._children.get(cur, {})):
                child = self._entries[posixpath.join(cur, name)]
                if child.layer < i:
                    self._remove(child.path)
                elif child.type is EntryType.DIR:
                    stack.append(child.path)

    # -- reading -------------------------------------------------------------------------

    def lookup(self, path: str) -> Entry | None:
        """The entry at exactly this path; symlinks are not followed."""
        return self._entries.get(_norm(path))

    def resolve(self, path: str, *, follow_last: bool = True) -> Entry | None:
        """Follow symlinks as the kernel would inside a chroot: `..` and `/` stop at the root."""
        parts, cur, hops = path.split("/")[::-1], "/", 0
        while parts:
            name = parts.pop()
            if name in ("", "."):
                continue
            if name == "..":
                cur = posixpath.dirname(cur)
                continue
            entry = self._entries.get(posixpath.join(cur, name))
            if entry is None:
                return None
            if entry.type is EntryType.SYMLINK and (parts or follow_last):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise LayerError(f"{path}: too many levels of symbolic links")
                target = self._link_target(entry.linkname)
                if target.startswith("/"):
                    cur = "/"
                parts.extend(target.split("/")[::-1])
                continue
            if parts and entry.type is not EntryType.DIR:
                return None
            cur = entry.path
        return self._entries[cur]

    def _link_target(self, target: str) -> str:
        if self.windows:  # `C:\Windows\x` or `..\x`, written verbatim in Windows layers
            target = target.replace("\\", "/")
            if len(target) >= 2 and target[1] == ":":
                target = "/" + target[2:].lstrip("/")
        return target

    def exists(self, path: str) -> bool:
        try:
            return self.resolve(path) is not None
        except LayerError:
            return False

    def listdir(self, path: str = "/") -> list[str]:
        entry = self.resolve(path)
        if entry is None or entry.type is not EntryType.DIR:
            raise LayerError(f"{path}: not a directory in the image")
        return sorted(self._children.get(entry.path, {}))

    def walk(self, top: str = "/") -> Iterator[Entry]:
        """Every entry below `top`, depth first in name order; symlinks are not followed."""
        def below(path: str) -> list[Entry]:
            names = sorted(self._children.get(path, {}), reverse=True)
            return [self._entries[posixpath.join(path, n)] for n in names]

        stack = below(_norm(top))
        while stack:  # pre-order, iterative (depth is attacker-controlled)
            entry = stack.pop()
            yield entry
            if entry.type is EntryType.DIR:
                stack.extend(below(entry.path))

    def read(self, path: str) -> bytes:
        """A file's content, streamed again from the layer that holds it."""
        entry = self.resolve(path)
        if entry is None or entry.type not in (EntryType.FILE, EntryType.HARDLINK):
            raise LayerError(f"{path}: not a regular file in the image")
        if entry.path not in self._content:
            raise LayerError(f"{path}: a hard link to something that is not a regular file")
        i, offset, size = self._content[entry.path]
        if not size:
            return b""
        layer = self.layers[i]
        with layer.open() as blob:
            fwd, _ = _open_stream(blob, layer.media_type, layer.digest)
            try:
                fwd.seek(offset)
            except _Truncated:
                raise LayerError(f"layer {layer.digest}: {path} is truncated") from None
            return _MemberData(fwd, path, offset, size).read()

    def raw_entries(self, layer_index: int) -> list[RawMember]:
        """The headers of one layer exactly as written (Windows `Files/`, `Hives/`, PAX...)."""
        layer = self.layers[layer_index]
        with layer.open() as blob:
            return [m for m, _ in iter_layer(blob, layer.media_type, digest=layer.digest,
                                             layer_index=layer_index, problems=[])]

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.lookup(path) is not None

    def __len__(self) -> int:
        return len(self._entries)
