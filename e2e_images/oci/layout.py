"""OCI image layout directories (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), read and written.

A `Layout` is a BlobSource, so `Image.load(manifest, layout)` reads straight from disk. Writes
are content-addressed and atomic: a blob goes to a temporary file in its final directory, its
digest is checked, then it is renamed into place, so a crash never leaves a half-written blob
under a valid name. Manifests and indexes are stored as the exact bytes we were given, so
digests survive a round trip through skopeo, umoci or buildah and back.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from e2e_images.errors import LayoutError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import Hasher, is_digest, sha256_digest
from e2e_images.oci.image import BlobSource, Image
from e2e_images.oci.models import (
    Descriptor,
    Index,
    Manifest,
    build_index,
    canonical_json,
    parse_manifest,
)

__all__ = ["REF_NAME", "BlobInfo", "Layout"]

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_VERSION = "1.0.0"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What a blob write produced; `descriptor()` adds the media type the caller knows."""

    digest: str
    size: int

    def descriptor(self, media_type: str, **kwargs: Any) -> Descriptor:
        return Descriptor(media_type, self.digest, self.size, **kwargs)


def _chunks(data: bytes | BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
    elif hasattr(data, "read"):
        while chunk := data.read(_CHUNK):  # type: ignore[union-attr]
            yield chunk
    else:
        yield from data  # type: ignore[misc]


class Layout:
    """An OCI image layout on disk. `Layout(path)` opens one, `Layout.init(path)` creates one."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        marker = self.path / "oci-layout"
        try:
            meta = json.loads(marker.read_bytes())
        except FileNotFoundError:
            raise LayoutError("not an OCI image layout (no oci-layout file)", path=str(self.path),
                              hint="create one with Layout.init(path)") from None
        except ValueError as exc:
            raise LayoutError(f"oci-layout is not valid JSON: {exc}", path=str(marker)) from None
        version = meta.get("imageLayoutVersion") if isinstance(meta, dict) else None
        if not isinstance(version, str) or not version.startswith("1."):
            raise LayoutError(f"unsupported imageLayoutVersion {version!r}", path=str(marker))

    @classmethod
    def init(cls, path: str | os.PathLike[str]) -> Layout:
        """Create an empty layout, or open the one already there (never clobbers an index)."""
        root = Path(path)
        if (root / "oci-layout").exists():
            return cls(root)
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        _atomic_write(root / "oci-layout", canonical_json({"imageLayoutVersion": LAYOUT_VERSION}))
        if not (root / "index.json").exists():
            empty = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
            _atomic_write(root / "index.json", canonical_json(empty))
        return cls(root)

    # -- blobs ---------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise LayoutError(f"not a digest: {digest!r}", path=str(self.path))
        algorithm, _, hexpart = digest.partition(":")
        return self.path / "blobs" / algorithm / hexpart

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def open_blob(self, digest: str) -> BinaryIO:
        path = self.blob_path(digest)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise LayoutError(f"blob {digest} is not in the layout", path=str(self.path),
                              hint="the layout is incomplete or the digest is wrong") from None

    def read_blob(self, digest: str) -> bytes:
        """The whole blob, checked against its digest (for manifests and configs)."""
        with self.open_blob(digest) as f:
            data = f.read()
        hasher = Hasher(digest.partition(":")[0])
        hasher.update(data)
        if hasher.digest != digest:
            raise LayoutError(f"blob {digest} is corrupt: its content hashes to {hasher.digest}",
                              path=str(self.blob_path(digest)))
        return data

    def write_blob(self, data: bytes | BinaryIO | Iterable[bytes], *,
                   digest: str | None = None, algorithm: str = "sha256") -> BlobInfo:
        """Store a blob atomically; with `digest`, refuse content that does not match it."""
        if digest is not None:
            if not is_digest(digest):
                raise LayoutError(f"not a digest: {digest!r}", path=str(self.path))
            algorithm = digest.partition(":")[0]
            if self.has_blob(digest):
                return BlobInfo(digest, self.blob_path(digest).stat().st_size)
        directory = self.path / "blobs" / algorithm
        directory.mkdir(parents=True, exist_ok=True)
        hasher = Hasher(algorithm)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(data):
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest is not None and hasher.digest != digest:
                raise LayoutError(f"refusing blob: expected {digest}, content is {hasher.digest}",
                                  path=str(self.path), hint="the source served corrupt data")
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.blob_path(hasher.digest))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return BlobInfo(hasher.digest, hasher.size)

    def copy_blob(self, source: BlobSource, descriptor: Descriptor) -> None:
        """Copy one blob from any BlobSource unless it is already here; size is checked too."""
        if self.has_blob(descriptor.digest):
            return
        with source.open_blob(descriptor.digest) as f:
            info = self.write_blob(f, digest=descriptor.digest)
        if info.size != descriptor.size:
            raise LayoutError(f"blob {descriptor.digest} is {info.size} bytes, its descriptor "
                              f"says {descriptor.size}", path=str(self.path))

    # -- manifests and the index ---------------------------------------------------------

    def read_manifest(self, digest: str, media_type: str | None = None) -> Manifest | Index:
        raw = self.read_blob(digest)
        try:
            return parse_manifest(raw, media_type)
        except ValueError as exc:
            raise LayoutError(f"manifest {digest}: {exc}", path=str(self.path)) from None

    def index(self) -> Index:
        path = self.path / "index.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise LayoutError("layout has no index.json", path=str(self.path)) from None
        try:
            parsed = parse_manifest(raw, mt.OCI_INDEX)
        except ValueError as exc:
            raise LayoutError(f"index.json: {exc}", path=str(path)) from None
        if not isinstance(parsed, Index):
            raise LayoutError("index.json is not an image index", path=str(path))
        return parsed

    def refs(self) -> dict[str, Descriptor]:
        """Tag (ref.name annotation) -> descriptor; the last entry wins, as readers do."""
        return {d.annotations[REF_NAME]: d for d in self.index().manifests
                if REF_NAME in d.annotations}

    def add_to_index(self, descriptor: Descriptor, ref_name: str | None = None) -> Index:
        """Add a top-level entry; a ref name moves from any entry that held it before.

        The read-modify-write of index.json holds a lock on the layout directory, so parallel
        writers (xdist workers sharing one output layout) never lose each other's entries.
        """
        if not self.has_blob(descriptor.digest):
            raise LayoutError(f"cannot index {descriptor.digest}: the blob is not in the layout",
                              path=str(self.path))
        with _locked(self.path):
            return self._add_to_index(descriptor, ref_name)

    def _add_to_index(self, descriptor: Descriptor, ref_name: str | None) -> Index:
        current = self.index()
        entries = list(current.manifests)
        if ref_name is not None:
            annotations = {**descriptor.annotations, REF_NAME: ref_name}
            descriptor = Descriptor(descriptor.media_type, descriptor.digest, descriptor.size,
                                    platform=descriptor.platform, annotations=annotations,
                                    urls=descriptor.urls)
            entries = [d for d in entries if d.annotations.get(REF_NAME) != ref_name]
        else:
            entries = [d for d in entries if d != descriptor]
        updated = build_index([*entries, descriptor], media_type=mt.OCI_INDEX,
                              annotations=current.annotations)
        _atomic_write(self.path / "index.json", updated.raw)
        return updated

    def resolve(self, ref: str) -> Descriptor:
        """A descriptor for a ref name, or for a digest (indexed or just present as a blob)."""
        if is_digest(ref):
            for d in self.index().manifests:
                if d.digest == ref:
                    return d
            parsed = self.read_manifest(ref)
            return Descriptor(parsed.media_type, ref, parsed.size)
        found = self.refs().get(ref)
        if found is None:
            known = ", ".join(sorted(self.refs())) or "none"
            raise LayoutError(f"no manifest named {ref!r} in the layout (refs: {known})",
                              path=str(self.path))
        return found

    def image(self, ref: str) -> Image | Index:
        """The image a ref names, bound to this layout; an index entry gives the Index."""
        descriptor = self.resolve(ref)
        parsed = self.read_manifest(descriptor.digest, descriptor.media_type or None)
        if isinstance(parsed, Index):
            return parsed
        return Image.load(parsed, self)

    # -- writing images ------------------------------------------------------------------

    def write_image(self, image: Image, ref_name: str | None = None, *,
                    index: bool = True) -> Descriptor:
        """Copy config and layers from the image's source, then its manifest bytes.

        `index=False` writes the blobs only: children of an index are not top-level entries.
        """
        manifest = image.manifest
        self.copy_blob(image, manifest.config)  # the image holds its config bytes
        for layer in manifest.layers:
            if mt.is_foreign(layer.media_type) and layer.urls and not _has(image.source, layer):
                continue  # a non-distributable layer stays where its urls point
            self.copy_blob(image.source, layer)
        self.write_blob(manifest.raw, digest=manifest.digest)
        platform = image.config.platform
        descriptor = manifest.descriptor(platform if platform.os else None)
        if index:
            self.add_to_index(descriptor, ref_name)
        return descriptor

    def write_index(self, index: Index, children: Iterable[Image] = (), ref_name: str | None = None,
                    *, source: BlobSource | None = None) -> Descriptor:
        """Write every child, then the index bytes, then one top-level entry for the index.

        Children come as Images; an entry without one is copied (manifest and blobs) from
        `source`. Nothing is indexed until every child is complete.
        """
        given = {image.digest: image for image in children}
        for entry in index.manifests:
            if entry.digest in given:
                self.write_image(given[entry.digest], index=False)
            elif source is not None:
                self._copy_manifest_tree(source, entry)
            elif not self.has_blob(entry.digest):
                raise LayoutError(f"index entry {entry.digest} ({entry.platform}) has no image "
                                  "to write", path=str(self.path),
                                  hint="pass the child images, or a source that holds them")
        self.write_blob(index.raw, digest=index.digest)
        descriptor = index.descriptor()
        self.add_to_index(descriptor, ref_name)
        return descriptor

    def _copy_manifest_tree(self, source: BlobSource, entry: Descriptor) -> None:
        """Children before parents, so a crash never leaves a manifest without its blobs."""
        with source.open_blob(entry.digest) as f:
            raw = f.read()
        if sha256_digest(raw) != entry.digest:
            raise LayoutError(f"source served corrupt manifest {entry.digest}",
                              path=str(self.path))
        try:
            parsed = parse_manifest(raw, entry.media_type or None)
        except ValueError as exc:
            raise LayoutError(f"manifest {entry.digest}: {exc}", path=str(self.path)) from None
        if isinstance(parsed, Index):
            for child in parsed.manifests:
                self._copy_manifest_tree(source, child)
        else:
            self.copy_blob(source, parsed.config)
            for layer in parsed.layers:
                self.copy_blob(source, layer)
        self.write_blob(raw, digest=entry.digest)

    def __repr__(self) -> str:
        return f"Layout({str(self.path)!r})"


def _has(source: BlobSource, descriptor: Descriptor) -> bool:
    try:
        with source.open_blob(descriptor.digest):
            return True
    except Exception:
        return False


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

