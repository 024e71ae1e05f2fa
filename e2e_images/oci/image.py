"""Images and layers bound to where their blobs live, read lazily: the one image type and
the one layer type of the package.

A `BlobSource` is anything that can stream a blob by digest: a registry repository, an OCI
layout, or memory. `Image` and `Layer` hold descriptors plus a source, so holding a remote
Windows image costs nothing until a layer is actually opened; verification of a Windows image
never pulls its base layers. An image being built is the same type: `oci.mutate` returns
images whose source chains the new layers' blobs before the base's, so whoever pushes or
writes it (`registry.write`, `oci.layout`) finds every blob without being told.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol, runtime_checkable

from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.models import ConfigFile, Descriptor, ImagePlatform, Manifest

__all__ = ["BlobSource", "ChainedBlobs", "Image", "Layer", "MemoryBlobs", "origin_of"]


@runtime_checkable
class BlobSource(Protocol):
    def open_blob(self, digest: str) -> BinaryIO:
        """A stream of the blob's stored (compressed) bytes; the caller closes it."""
        ...


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer blob and where to read it. A layer about to be added also knows its `diff_id`
    (the uncompressed digest) and its `history` line; one read from an image finds both in
    that image's config."""

    descriptor: Descriptor
    source: BlobSource
    diff_id: str = ""
    history: Mapping[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return self.descriptor.digest

    @property
    def media_type(self) -> str:
        return self.descriptor.media_type

    def open(self) -> BinaryIO:
        return self.source.open_blob(self.descriptor.digest)

    def read(self) -> bytes:
        with self.open() as f:
            return f.read()


@dataclass(frozen=True, slots=True)
class Image:
    """A single-platform image: its manifest, parsed config, and a source for its layers
    (the config bytes are held here, so a source need not have them)."""

    manifest: Manifest
    config: ConfigFile
    source: BlobSource

    def __post_init__(self) -> None:
        if self.manifest.config.digest != self.config.digest:
            raise ValueError(f"manifest names config {self.manifest.config.digest}, "
                             f"got {self.config.digest}")

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def platform(self) -> ImagePlatform:
        return self.config.platform

    def descriptor(self) -> Descriptor:
        """Its entry in an index: the manifest descriptor with the config's platform."""
        return self.manifest.descriptor(self.platform)

    def open_blob(self, digest: str) -> BinaryIO:
        """Any blob of the image, config included: an image is a BlobSource of itself."""
        if digest == self.manifest.config.digest:
            return io.BytesIO(self.config.raw)
        return self.source.open_blob(digest)

    def layers(self) -> tuple[Layer, ...]:
        return tuple(Layer(d, self.source) for d in self.manifest.layers)

    @classmethod
    def load(cls, manifest: Manifest, source: BlobSource) -> Image:
        with source.open_blob(manifest.config.digest) as f:
            raw = f.read()
        return cls(manifest, ConfigFile.parse(raw), source)


class MemoryBlobs:
    """An in-memory BlobSource: what a build produces before it is pushed or written out."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def add(self, data: bytes) -> str:
        digest = sha256_digest(data)
        self._blobs[digest] = data
        return digest

    def open_blob(self, digest: str) -> BinaryIO:
        try:
            return io.BytesIO(self._blobs[digest])
        except KeyError:
            raise KeyError(f"blob {digest} not in memory") from None

    def __contains__(self, digest: object) -> bool:
        return digest in self._blobs

    def __iter__(self) -> Iterator[str]:
        return iter(self._blobs)

    def __len__(self) -> int:
        return len(self._blobs)


class ChainedBlobs:
    """Several sources as one: what a build wrote, then its base's (a finished image)."""

    def __init__(self, *sources: BlobSource) -> None:
        self.sources = sources

    def open_blob(self, digest: str) -> BinaryIO:
        origin = origin_of(self, digest)
        if origin is None:
            raise KeyError(f"blob {digest} is in no source of this image")
        return origin.open_blob(digest)


def origin_of(source: BlobSource, digest: str) -> BlobSource | None:
    """The source a blob is read from: in-memory sources are asked whether they hold it,
    any other (a registry repository, a layout) is taken to hold what its images name."""
    if isinstance(source, ChainedBlobs):
        return next((o for s in source.sources if (o := origin_of(s, digest)) is not None),
                    None)
    if isinstance(source, MemoryBlobs):
        return source if digest in source else None
    return source
