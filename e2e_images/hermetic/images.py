"""Assembling stand-in images: a blob store, and layers, configs, manifests and indexes
written into it.

Stand-ins must have the same digests on every run and every machine with the same inputs,
so nothing here reads the clock, the user or the host: times come from `STANDIN_EPOCH`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from e2e_images.hermetic import StandinError
from e2e_images.layers.linux import LayerEntry, write_layer
from e2e_images.oci import media_types as mt
from e2e_images.oci.image import Image, Layer, MemoryBlobs
from e2e_images.oci.models import (
    ConfigFile,
    Descriptor,
    ImagePlatform,
    Index,
    build_index,
    build_manifest,
)

__all__ = [
    "STANDIN_EPOCH",
    "STANDIN_MARKER",
    "BlobStore",
    "assemble_image",
    "linux_layer",
    "make_index",
]

# 2024-01-01T00:00:00Z: a fixed SOURCE_DATE_EPOCH for every stand-in.
STANDIN_EPOCH = 1_704_067_200
STANDIN_CREATED = "2024-01-01T00:00:00Z"
STANDIN_MARKER = b"E2E-IMAGES STAND-IN"


class BlobStore(MemoryBlobs):
    """MemoryBlobs plus blobs kept in files, for the large stand-in layers."""

    def __init__(self) -> None:
        super().__init__()
        self._files: dict[str, tuple[Path, int]] = {}

    def add_file(self, path: Path, digest: str, size: int) -> None:
        self._files[digest] = (path, size)

    def size(self, digest: str) -> int:
        if digest in self._files:
            return self._files[digest][1]
        with super().open_blob(digest) as f:
            return len(f.read())

    def open_blob(self, digest: str) -> BinaryIO:
        if digest in self._files:
            return self._files[digest][0].open("rb")
        try:
            return super().open_blob(digest)
        except KeyError:
            raise StandinError(f"blob {digest} is not in the stand-in set") from None

    def __contains__(self, digest: object) -> bool:
        return digest in self._files or super().__contains__(digest)

    def __len__(self) -> int:
        return len(self._files) + super().__len__()


def linux_layer(store: BlobStore, entries: Iterable[LayerEntry], *,
                epoch: int = STANDIN_EPOCH) -> Layer:
    """Write a Linux layer (layers.linux: sorted, root-owned, epoch-stamped) into `store`."""
    built = write_layer(entries, epoch=epoch)
    store.add(built.read())
    return replace(built, source=store)


def assemble_image(
    store: BlobStore,
    layers: Iterable[Layer],
    platform: ImagePlatform,
    runtime: Mapping[str, Any],
    *,
    comment: str,
    annotations: Mapping[str, str] | None = None,
) -> Image:
    """Config and manifest for layers already in `store`, which is the image's source."""
    layers = tuple(layers)
    for layer in layers:
        if layer.digest not in store:
            raise StandinError(f"layer {layer.digest} was not added to the blob store")
    history = [{"created": STANDIN_CREATED, "created_by": comment}]
    config = ConfigFile.build(platform, runtime, [x.diff_id for x in layers], history,
                              STANDIN_CREATED)
    store.add(config.raw)
    manifest = build_manifest(Descriptor.of(mt.OCI_CONFIG, config.raw),
                              [x.descriptor for x in layers], annotations=annotations)
    store.add(manifest.raw)
    return Image(manifest, config, store)


def make_index(store: BlobStore, images: Iterable[Image]) -> Index:
    index = build_index([img.descriptor() for img in images])
    store.add(index.raw)
    return index
