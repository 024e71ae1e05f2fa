"""The build context as a listing, and COPY/ADD sources resolved against it.

`list_context` is the only IO: it walks the directory (symlinks not followed) and drops what
.dockerignore excludes. Everything after works on the `Listing`, so the same resolution
serves a context on disk and, given a listing of its filesystem, a `COPY --from` stage.
Archive detection reads a file's first bytes through a caller-supplied function.
"""

from __future__ import annotations

import bz2
import lzma
import os
import stat
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from e2e_images.build.dockerfile.commands import Add, Copy
from e2e_images.build.dockerfile.ignore import (
    DockerIgnore,
    clean_path,
    compile_pattern,
    has_magic,
    parse_dockerignore,
)
from e2e_images.errors import DockerfileError

__all__ = [
    "ARCHIVE_HEAD", "BuildContext", "CopyItem", "CopyPlan", "Entry", "Listing", "RemoteSource",
    "archive_kind", "list_context", "resolve_sources",
]

ARCHIVE_HEAD = 64 * 1024  # enough to decompress one tar header out of any codec
_MAGIC = ((b"\x1f\x8b\x08", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_SYMLINK_HOPS = 40
_DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True, slots=True)
class Entry:
    path: str  # context-relative, slash separated, never "." or leading "/"
    kind: str  # "file", "dir" or "symlink"
    size: int = 0
    mode: int = 0o644
    target: str | None = None  # symlink target as stored


@dataclass(frozen=True, slots=True)
class Listing:
    entries: tuple[Entry, ...]
    ignored: frozenset[str] = frozenset()  # present on disk but excluded (for hints)
    _index: dict[str, Entry] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {e.path: e for e in self.entries})

    def get(self, path: str) -> Entry | None:
        if path == ".":
            return Entry(".", "dir", mode=0o755)
        return self._index.get(path)

    def children(self, directory: str) -> list[Entry]:
        """Everything below `directory` ("." for the root), sorted by path."""
        if directory == ".":
            return sorted(self.entries, key=lambda e: e.path)
        prefix = directory + "/"
        return sorted((e for e in self.entries if e.path.startswith(prefix)),
                      key=lambda e: e.path)


@dataclass(frozen=True, slots=True)
class BuildContext:
    root: Path
    listing: Listing
    dockerignore: DockerIgnore

    def read_head(self, path: str) -> bytes:
        with open(self.root / path, "rb") as fh:
            return fh.read(ARCHIVE_HEAD)


@dataclass(frozen=True, slots=True)
class CopyItem:
    """Put `source` (a listing path; "." = the root) at `dest` (absolute, in the image).

    A "dir" item creates `dest` with the source directory's metadata; its contents follow as
    their own items. `archive` (ADD only) means: extract this file's tar into `dest`.
    """

    source: str
    dest: str
    kind: str
    archive: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteSource:
    url: str
    dest: str
    checksum: str | None


@dataclass(frozen=True, slots=True)
class CopyPlan:
    items: tuple[CopyItem, ...]
    remote: tuple[RemoteSource, ...] = ()


# --- listing -------------------------------------------------------------------------------


def _walk(root: Path) -> Iterable[Entry]:
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(root / rel if rel else root) as it:
            for item in it:
                path = f"{rel}/{item.name}" if rel else item.name
                st = item.stat(follow_symlinks=False)
                mode = stat.S_IMODE(st.st_mode)
                if stat.S_ISLNK(st.st_mode):
                    yield Entry(path, "symlink", 0, mode, os.readlink(item.path))
                elif stat.S_ISDIR(st.st_mode):
                    yield Entry(path, "dir", 0, mode)
                    stack.append(path)
                elif stat.S_ISREG(st.st_mode):
                    yield Entry(path, "file", st.st_size, mode)


def list_context(root: Path | str, dockerignore: DockerIgnore | None = None) -> BuildContext:
    """Walk `root`, applying its .dockerignore unless one is given."""
    root = Path(root)
    if not root.is_dir():
        raise DockerfileError(f"build context {root} is not a directory", path=str(root))
    if dockerignore is None:
        ignore_file = root / ".dockerignore"
        text = ignore_file.read_text(encoding="utf-8") if ignore_file.is_file() else ""
        dockerignore = parse_dockerignore(text, str(ignore_file))
    kept: list[Entry] = []
    ignored: set[str] = set()
    for entry in _walk(root):
        if dockerignore.ignored(entry.path):
            ignored.add(entry.path)
        else:
            kept.append(entry)
    # An excluded directory still exists when something re-included lives below it.
    present = {e.path for e in kept}
    for entry in list(kept):
        parts = entry.path.split("/")
        for k in range(1, len(parts)):
            parent = "/".join(parts[:k])
            if parent not in present:
                present.add(parent)
                ignored.discard(parent)
                kept.append(Entry(parent, "dir", 0, 0o755))
    kept.sort(key=lambda e: e.path)
    return BuildContext(root, Listing(tuple(kept), frozenset(ignored)), dockerignore)


# --- archives ------------------------------------------------------------------------------


def _is_tar_header(block: bytes) -> bool:
    if len(block) < 512 or block[:512] == bytes(512):
        return False
    try:
        stored = int(block[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    header = block[:148] + b" " * 8 + block[156:512]
    return stored in (sum(header), sum(b - 256 if b > 127 else b for b in header))


def archive_kind(head: bytes) -> str | None:
    """"tar", "gzip", "bzip2" or "xz" when `head` starts a (compressed) tar, else None.

    Decided by content, as Docker does: a gzip file that holds no tar is copied as it is.
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            try:
                if kind == "gzip":
                    inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 512)
                elif kind == "bzip2":
                    inner = bz2.BZ2Decompressor().decompress(head, 512)
                else:
                    inner = lzma.LZMADecompressor().decompress(head, 512)
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
                return None
            return kind if _is_tar_header(inner) else None
    return "tar" if _is_tar_header(head) else None


# --- resolution ----------------------------------------------------------------------------


def _fail(cmd: Copy | Add, message: str, hint: str | None = None) -> DockerfileError:
    return DockerfileError(f"{type(cmd).__name__.upper()}: {message}", path=cmd.loc.path,
                           line=cmd.loc.line, hint=hint)


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _is_git(source: str) -> bool:
    return source.startswith(("git://", "git@")) or (
        _is_url(source) and source.split("?")[0].split("#")[0].endswith(".git"))


def _follow(cmd: Copy | Add, listing: Listing, entry: Entry) -> Entry:
    """Resolve a source that is a symlink, inside the listing (as COPY follows it)."""
    seen = 0
    while entry.kind == "symlink":
        seen += 1
        target = entry.target or ""
        base = "" if target.startswith("/") else entry.path.rpartition("/")[0]
        joined = clean_path(f"{base}/{target}".lstrip("/")) if base else clean_path(
            target.lstrip("/"))
        if joined == ".." or joined.startswith("../"):
            raise _fail(cmd, f"{entry.path} -> {target} points outside the build context")
        found = listing.get(joined)
        if found is None or seen > _SYMLINK_HOPS:
            raise _fail(cmd, f"{entry.path} -> {target}: the link target is not in the "
                             "build context")
        entry = found
    return entry


def _source_path(cmd: Copy | Add, source: str, clamp: bool) -> str:
    cleaned = clean_path(source.lstrip("/") or ".")
    if cleaned == ".." or cleaned.startswith("../"):
        if clamp:
            return clean_path("/" + source).lstrip("/") or "."
        raise _fail(cmd, f"{source!r} is outside the build context",
                    hint="sources are relative to the context directory; `..` cannot leave it")
    return cleaned


def _destination(cmd: Copy | Add, workdir: str) -> tuple[str, bool]:
    dest = cmd.dest
    is_dir = dest.endswith("/") or dest in (".", "..") or dest.endswith(("/.", "/.."))
    if not dest.startswith("/"):
        dest = f"{workdir.rstrip('/')}/{dest}"
    return clean_path(dest), is_dir


def _join(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}" if name else directory


def _matches(cmd: Copy | Add, listing: Listing, source: str, clamp: bool) -> list[Entry]:
    path = _source_path(cmd, source, clamp)
    if has_magic(path):
        try:
            regex = compile_pattern(path, double_star=False)
        except ValueError as exc:
            raise _fail(cmd, f"bad pattern {source!r}: {exc}") from None
        found = [e for e in listing.entries if regex.fullmatch(e.path)]
        if not found:
            raise _fail(cmd, f"no source files were found for {source!r}")
        return sorted(found, key=lambda e: e.path)
    entry = listing.get(path)
    if entry is None:
        hint = "it is excluded by .dockerignore" if path in listing.ignored else None
        raise _fail(cmd, f"{source!r} not found in the build context", hint=hint)
    return [entry]


def resolve_sources(cmd: Copy | Add, listing: Listing, *, workdir: str = "/",
                    read_head: Callable[[str], bytes] | None = None,
                    clamp: bool = False) -> CopyPlan:
    """Which listing paths land where. `cmd` has its values expanded already.

    `clamp=True` treats `..` at the root as the root (a `COPY --from` stage filesystem);
    the default refuses sources that leave the build context. `read_head` gives ADD the
    first bytes of a file to tell an archive by its content.
    """
    if isinstance(cmd, Add) and cmd.checksum and not all(_is_url(s) for s in cmd.sources):
        raise _fail(cmd, "--checksum only applies to http(s) sources")
    if isinstance(cmd, Add) and cmd.checksum:
        algo, _, hexdigest = cmd.checksum.partition(":")
        if _DIGEST_HEX.get(algo) != len(hexdigest) or hexdigest.strip("0123456789abcdef"):
            raise _fail(cmd, f"--checksum={cmd.checksum} is not a digest",
                        hint="sha256:<64 hex digits> (or sha384, sha512)")
    dest, dest_is_dir = _destination(cmd, workdir)
    picked: list[tuple[str, Entry]] = []
    remote: list[RemoteSource] = []
    for source in cmd.sources:
        if _is_git(source):
            raise _fail(cmd, f"git sources ({source}) are not supported",
                        hint="clone in a RUN stage, or ADD a release archive by URL")
        if _is_url(source):
            if isinstance(cmd, Copy):
                raise _fail(cmd, f"cannot fetch {source}", hint="use ADD for URLs")
            remote.append(RemoteSource(source, "", cmd.checksum))
            continue
        picked.extend((source, e) for e in _matches(cmd, listing, source, clamp))
    if len(picked) + len(remote) > 1 and not dest_is_dir:
        raise _fail(cmd, f"with more than one source file, the destination {cmd.dest!r} must "
                         "be a directory ending in /")
    items: list[CopyItem] = []
    for _source, found in picked:
        entry = _follow(cmd, listing, found)
        name = found.path.rpartition("/")[2]
        if entry.kind == "dir":
            items.append(CopyItem(entry.path, dest, "dir"))
            strip = 0 if entry.path == "." else len(entry.path) + 1
            items.extend(CopyItem(c.path, _join(dest, c.path[strip:]), c.kind)
                         for c in listing.children(entry.path))
            continue
        archive = None
        if isinstance(cmd, Add) and read_head is not None:
            archive = archive_kind(read_head(entry.path))
        if archive:
            items.append(CopyItem(entry.path, dest, "file", archive))
        else:
            items.append(CopyItem(entry.path, _join(dest, name) if dest_is_dir else dest,
                                  "file"))
    remotes: list[RemoteSource] = []
    for r in remote:
        target = dest
        if dest_is_dir:
            name = urlsplit(r.url).path.rstrip("/").rpartition("/")[2]
            if not name:
                raise _fail(cmd, f"cannot tell a file name from {r.url}",
                            hint="give a destination file name instead of a directory")
            target = _join(dest, name)
        remotes.append(RemoteSource(r.url, target, r.checksum))
    return CopyPlan(tuple(items), tuple(remotes))
