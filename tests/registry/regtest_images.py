"""Small real images for the registry tests: gzip tar layers, configs, manifests, an index."""

from __future__ import annotations

import gzip
import io
import tarfile

from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.models import (
    ConfigFile,
    Descriptor,
    ImagePlatform,
    Index,
    Manifest,
    build_index,
    build_manifest,
)
from e2e_images.registry.client import RegistryClient

PLATFORMS = (
    ImagePlatform("linux", "amd64"),
    ImagePlatform("linux", "arm64", "v8"),
    ImagePlatform("windows", "amd64", os_version="10.0.17763.6054"),
    ImagePlatform("windows", "amd64", os_version="10.0.20348.2582"),
)


def layer_tar(name: str, content: bytes) -> tuple[bytes, bytes]:
    """(uncompressed tar, gzip of it), both deterministic."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    return raw, gzip.compress(raw, mtime=0)


def image_parts(platform: ImagePlatform, tag: str) -> tuple[Manifest, dict[str, bytes]]:
    """A one-layer image for `platform`; returns the manifest and its blobs by digest."""
    raw, gz = layer_tar(f"hello-{platform.os}-{platform.architecture}.txt",
                        f"{tag} {platform}\n".encode() * 50)
    config = ConfigFile.build(platform, {"Cmd": ["/hello"]}, [sha256_digest(raw)])
    layer = Descriptor.of(mt.OCI_LAYER_GZIP, gz)
    manifest = build_manifest(Descriptor.of(mt.OCI_CONFIG, config.raw), [layer])
    return manifest, {config.digest: config.raw, layer.digest: gz}


def push_image(client: RegistryClient, repo: str, platform: ImagePlatform, tag: str,
               ref: str | None = None) -> Manifest:
    manifest, blobs = image_parts(platform, tag)
    for digest, data in blobs.items():
        assert client.push_blob(repo, data) == digest
    client.put_manifest(repo, ref or manifest.digest, manifest.raw, manifest.media_type)
    return manifest


def push_multiarch(client: RegistryClient, repo: str, tag: str) -> Index:
    """linux/amd64, linux/arm64 and two windows/amd64 differing only by os.version."""
    entries = [push_image(client, repo, p, tag).descriptor(platform=p) for p in PLATFORMS]
    index = build_index(entries)
    client.put_manifest(repo, tag, index.raw, index.media_type)
    return index
