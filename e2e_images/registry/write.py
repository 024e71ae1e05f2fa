"""The one way anything is written to a registry: blobs the registry lacks, then manifests,
children before the index that names them, so a tag never points at something missing.

Used by the builder (one image), the stand-ins (an index with its images), mirror and promote
(a copy of a manifest tree from another repository). Where a blob comes from decides how it
travels: blobs the registry already holds are skipped; one held by another repository of the
same registry is mounted (no bytes move); anything else is streamed from the image's source.
A non-distributable (foreign) layer that its source does not hold stays at its `urls`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from e2e_images.errors import RegistryError
from e2e_images.oci import media_types as mt
from e2e_images.oci.image import BlobSource, Image, MemoryBlobs, origin_of
from e2e_images.oci.models import Descriptor, Index, Manifest
from e2e_images.registry.client import RegistryClient, RepositoryBlobs

__all__ = ["Written", "copy_manifest_tree", "write_image", "write_index"]

log = logging.getLogger("e2e_images.registry")

# digest -> (manifest, where its blobs are, its config bytes when known)
_Child = tuple[Manifest | Index, BlobSource, bytes | None]


@dataclass(frozen=True, slots=True)
class Written:
    digest: str
    bytes_pushed: int
    pushed: bool  # False: the reference already held this manifest


def write_image(client: RegistryClient, repository: str, image: Image, tag: str | None = None,
                *, mount_from: str | None = None) -> Written:
    """Push `image` (under `tag`, else by digest). `mount_from`: a repository of this
    registry to mount blobs from that the image's source holds outside memory."""
    return _write(client, repository, image.manifest, tag or image.digest, image.source,
                  config=image.config.raw, mount_from=mount_from)


def write_index(client: RegistryClient, repository: str, index: Index, children: Iterable[Image],
                tag: str | None = None, *, mount_from: str | None = None) -> Written:
    """Push every child the registry lacks, then the index; a child not given must already
    be in the repository."""
    given: dict[str, _Child] = {c.digest: (c.manifest, c.source, c.config.raw)
                                for c in children}

    def child(entry: Descriptor) -> _Child:
        if entry.digest not in given:
            raise RegistryError(f"index entry {entry.digest} ({entry.platform}) is neither "
                                f"in {repository} nor given", hint="pass the child images")
        return given[entry.digest]

    return _write(client, repository, index, tag or index.digest, MemoryBlobs(), config=None,
                  child=child, mount_from=mount_from)


def copy_manifest_tree(src: RegistryClient, src_repo: str, ref: str, dst: RegistryClient,
                       dst_repo: str, dst_ref: str) -> str:
    """Copy an image or index and everything under it, children first; returns the digest."""
    source = src.repository(src_repo)

    def child(entry: Descriptor) -> _Child:
        return src.get_manifest(src_repo, entry.digest), source, None

    top = src.get_manifest(src_repo, ref)
    return _write(dst, dst_repo, top, dst_ref, source, config=None, child=child).digest


def _write(client: RegistryClient, repository: str, manifest: Manifest | Index, ref: str,
           source: BlobSource, *, config: bytes | None,
           child: Callable[[Descriptor], _Child] | None = None,
           mount_from: str | None = None) -> Written:
    existing = client.head_manifest(repository, ref)
    if existing is not None and existing.digest == manifest.digest:
        return Written(manifest.digest, 0, False)
    pushed = 0
    if isinstance(manifest, Index):
        assert child is not None
        for entry in manifest.manifests:
            if client.head_manifest(repository, entry.digest) is not None:
                continue
            m, where, raw = child(entry)
            pushed += _write(client, repository, m, entry.digest, where, config=raw,
                             child=child, mount_from=mount_from).bytes_pushed
    else:
        pushed = _write_blobs(client, repository, manifest, source, config, mount_from)
    log.debug("put manifest %s as %s/%s:%s", manifest.digest, client.registry, repository, ref)
    client.put_manifest(repository, ref, manifest.raw, manifest.media_type)
    return Written(manifest.digest, pushed, True)


def _write_blobs(client: RegistryClient, repository: str, manifest: Manifest,
                 source: BlobSource, config: bytes | None, mount_from: str | None) -> int:
    pushed = 0
    for blob in (*manifest.layers, manifest.config):
        if client.blob_exists(repository, blob.digest):
            continue
        if blob is manifest.config and config is not None:
            client.push_blob(repository, config, digest=blob.digest)
            pushed += blob.size
            continue
        origin = origin_of(source, blob.digest)
        mount = _mount_source(client, origin, mount_from)
        if mount and mount != repository and client.mount_blob(repository, blob.digest, mount):
            continue
        if origin is None or (mt.is_foreign(blob.media_type) and not _holds(origin, blob)):
            if mt.is_foreign(blob.media_type):
                continue  # lives at its urls, not in any registry
            raise RegistryError(f"blob {blob.digest} of {manifest.digest} is in no source")
        with origin.open_blob(blob.digest) as stream:
            client.push_blob(repository, stream, digest=blob.digest, size=blob.size)
        pushed += blob.size
    return pushed


def _mount_source(client: RegistryClient, origin: BlobSource | None,
                  mount_from: str | None) -> str | None:
    """The repository of this registry a blob can be mounted from, if any: its own when it
    is read from this registry, else `mount_from` for blobs not made in memory."""
    if isinstance(origin, RepositoryBlobs):
        return origin.repository if origin.client.base_url == client.base_url else None
    return None if origin is None or isinstance(origin, MemoryBlobs) else mount_from


def _holds(origin: BlobSource, blob: Descriptor) -> bool:
    if isinstance(origin, RepositoryBlobs):
        return origin.client.blob_exists(origin.repository, blob.digest)
    try:
        with origin.open_blob(blob.digest):
            return True
    except (KeyError, LookupError, OSError, RegistryError):
        return False
