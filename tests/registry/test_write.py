"""The one write path: a built image on a remote base, and an index with its children."""

from __future__ import annotations

import pytest
from regtest_images import PLATFORMS, image_parts, layer_tar, push_image
from regtest_proxy import FaultProxy

from e2e_images.errors import RegistryError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.image import Image, Layer, MemoryBlobs
from e2e_images.oci.models import Descriptor, build_index
from e2e_images.oci.mutate import append_layers
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS
from e2e_images.registry.write import write_image, write_index


def test_a_built_image_mounts_its_base_and_pushes_only_what_it_made(
        client: RegistryClient, proxy: FaultProxy) -> None:
    push_image(client, "write/base", PLATFORMS[0], "1", ref="1")
    via = RegistryClient(proxy.host, credentials=ANONYMOUS)
    base = via.image("write/base", "1")
    raw, gz = layer_tar("added.txt", b"new\n")
    made = MemoryBlobs()
    made.add(gz)
    image = append_layers(base, [Layer(Descriptor.of(mt.OCI_LAYER_GZIP, gz), made,
                                       sha256_digest(raw))])
    n = len(proxy.seen)
    written = write_image(via, "write/app", image, "1")
    assert written.pushed and written.digest == image.manifest.digest
    assert written.bytes_pushed == len(gz) + image.manifest.config.size  # not the base layer
    mounts = [s for s in proxy.seen[n:] if s.method == "POST" and "mount=" in s.query]
    assert len(mounts) == 1 and "from=write%2Fbase" in mounts[0].query
    assert via.get_manifest("write/app", "1").raw == image.manifest.raw
    # Again: the tag holds it, one HEAD and nothing else.
    n = len(proxy.seen)
    assert not write_image(via, "write/app", image, "1").pushed
    assert [s.method for s in proxy.seen[n:]] == ["HEAD"]


def test_an_index_goes_up_after_its_children(client: RegistryClient,
                                             proxy: FaultProxy) -> None:
    store = MemoryBlobs()
    images = []
    for platform in PLATFORMS[:2]:
        manifest, blobs = image_parts(platform, "idx")
        for data in blobs.values():
            store.add(data)
        images.append(Image.load(manifest, store))
    index = build_index([i.manifest.descriptor(i.platform) for i in images])
    via = RegistryClient(proxy.host, credentials=ANONYMOUS)
    with pytest.raises(RegistryError, match="neither in write/idx nor given"):
        write_index(via, "write/idx", index, images[:1], "1")
    assert via.head_manifest("write/idx", "1") is None  # no list without every child
    written = write_index(via, "write/idx", index, images, "1")
    assert written.pushed and written.digest == index.digest
    puts = [s.path for s in proxy.seen if s.method == "PUT" and "/manifests/" in s.path]
    assert puts[-1].endswith("/manifests/1")
    assert via.get_manifest("write/idx", "1").raw == index.raw
