"""Entries of a Windows-format layer and the rules they must follow before anything is written.

hcsshim/go-winio import only `Files/` (and, in base layers, `Hives/` and `UtilityVM/Files/`),
so an entry names its area and a path relative to it. `plan_entries` refuses what a node would
mangle (absolute or backslashed paths, `Files/`-prefixed symlink targets (W6), names that clash
by case (W11), stray `.wh.` names (W4)), adds implied parents and puts entries in write order;
`layers.windows` writes what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from e2e_images.errors import LayerError

__all__ = [
    "AREA_ORDER",
    "FILES",
    "HIVES",
    "OPAQUE",
    "UTILITY_VM",
    "UTILITY_VM_DIR",
    "WHITEOUT_PREFIX",
    "EntryKind",
    "StreamContent",
    "WinEntry",
    "plan_entries",
]

FILES = "Files"
HIVES = "Hives"
UTILITY_VM_DIR = "UtilityVM"
UTILITY_VM = f"{UTILITY_VM_DIR}/Files"  # base layers only
AREA_ORDER = (FILES, HIVES, UTILITY_VM)
WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"  # an opaque directory: no Windows form


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
    if entry.area not in AREA_ORDER:
        raise LayerError(f"{entry.path!r}: unknown area {entry.area!r} (Files, Hives, "
                         "UtilityVM/Files)")
    if entry.area == UTILITY_VM and not base_layer:
        raise LayerError(f"{entry.path!r}: UtilityVM/Files entries belong in base layers only",
                         hint="pass base_layer=True")
    path = _clean(entry.path, "path")
    if path.rsplit("/", 1)[-1].startswith(WHITEOUT_PREFIX):
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
    return AREA_ORDER.index(entry.area), tuple(entry.path.casefold().split("/"))


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
