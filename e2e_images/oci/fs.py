"""A read-only filesystem view of an image, built by streaming its layer tars (never extracted).

Building the view reads headers only (through `layerstream.iter_layer`): file contents are
skipped, and `read()` re-streams the one layer that owns a file. Whiteouts and opaque
directories are applied as the OCI spec says (they only hide lower layers). Entries that would
escape the root, device nodes, and bodies that end before their header's size are refused and
listed in `problems`, never followed. A Windows image is seen as its `Files/` subtree;
`raw_entries()` keeps the tar as written.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from e2e_images.errors import LayerError
from e2e_images.oci.image import Image, Layer
from e2e_images.oci.layerstream import (
    _OPAQUE,
    MAX_SYMLINK_HOPS,
    Budget,
    EntryType,
    LayerLimits,
    LayerProblem,
    RawMember,
    _MemberData,
    _open_stream,
    _Truncated,
    iter_layer,
)

__all__ = ["Entry", "EntryType", "LayerFS", "LayerLimits", "LayerProblem", "RawMember",
           "iter_layer"]

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
                 diff_ids: Sequence[str] = (), limits: LayerLimits | None = None) -> None:
        """`limits` (default: from the environment) bound these layers together, as an
        image's; a layer past them raises LayerError."""
        self.layers, self.windows = tuple(layers), windows
        self.problems: list[LayerProblem] = []
        budget = Budget(limits)
        self._entries: dict[str, Entry] = {"/": Entry("/", EntryType.DIR, 0o755, 0, 0, 0)}
        self._children: dict[str, dict[str, None]] = {"/": {}}
        self._content: dict[str, tuple[int, int, int]] = {}  # path -> (layer, offset, size)
        for i, layer in enumerate(self.layers):
            with layer.open() as blob:
                for member, _ in iter_layer(blob, layer.media_type, digest=layer.digest,
                                            diff_id=diff_ids[i] if i < len(diff_ids) else "",
                                            layer_index=i, problems=self.problems,
                                            budget=budget):
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
