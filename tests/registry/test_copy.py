"""Copies between two real registry processes, and within one (by mount)."""

from __future__ import annotations

import os

from regtest_images import push_multiarch
from regtest_proxy import FaultProxy

from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.models import Descriptor, Index, build_manifest
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS
from e2e_images.registry.embedded import EmbeddedRegistry
from e2e_images.registry.write import copy_manifest_tree


def test_copy_manifest_tree_between_registries(client: RegistryClient,
                                               second_registry: EmbeddedRegistry) -> None:
    index = push_multiarch(client, "src/app", "2.0")
    dst_proxy = FaultProxy(second_registry.host).start()
    try:
        dst = RegistryClient(dst_proxy.host, credentials=ANONYMOUS)
        digest = copy_manifest_tree(client, "src/app", "2.0", dst, "mirror/app", "2.0")
        assert digest == index.digest
        got = dst.get_manifest("mirror/app", "2.0")
        assert isinstance(got, Index) and got.raw == index.raw
        for entry in index.manifests:  # every child and blob arrived, children before the index
            child = dst.get_manifest("mirror/app", entry.digest)
            for blob in (child.config, *child.layers):  # type: ignore[union-attr]
                assert dst.blob_exists("mirror/app", blob.digest)
        puts = [s.path for s in dst_proxy.seen if s.method == "PUT" and "/manifests/" in s.path]
        assert puts[-1].endswith("/manifests/2.0") and len(puts) == 5
        # Again: everything is there, so nothing is uploaded.
        n = len(dst_proxy.seen)
        assert copy_manifest_tree(client, "src/app", "2.0", dst, "mirror/app", "2.0") == digest
        assert {s.method for s in dst_proxy.seen[n:]} == {"HEAD"}
        # Under another tag: only the index is put; children exist by digest.
        n = len(dst_proxy.seen)
        copy_manifest_tree(client, "src/app", index.digest, dst, "mirror/app", "copy")
        assert [s.method for s in dst_proxy.seen[n:]].count("PUT") == 1
        assert [s.method for s in dst_proxy.seen[n:]].count("POST") == 0
    finally:
        dst_proxy.stop()


def test_copy_streams_a_large_layer_in_chunks(client: RegistryClient,
                                               second_registry: EmbeddedRegistry) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    config = b"{}"
    digest = client.push_blob("src/big", data)
    client.push_blob("src/big", config)
    manifest = build_manifest(Descriptor.of(mt.OCI_CONFIG, config),
                              [Descriptor(mt.OCI_LAYER_GZIP, digest, len(data))])
    client.put_manifest("src/big", "1", manifest.raw, manifest.media_type)
    dst_proxy = FaultProxy(second_registry.host).start()
    try:
        dst = RegistryClient(dst_proxy.host, credentials=ANONYMOUS, chunk_size=1 << 20)
        assert copy_manifest_tree(client, "src/big", "1", dst, "dst/big", "1") == \
            manifest.digest
        assert dst_proxy.count("PATCH") == 4  # the layer; the config goes in one PUT
        with dst.open_blob("dst/big", digest) as f:
            assert sha256_digest(f.read()) == digest
    finally:
        dst_proxy.stop()


def test_copy_within_one_registry_mounts(client: RegistryClient, proxy: FaultProxy) -> None:
    index = push_multiarch(client, "src/same", "1")
    via = RegistryClient(proxy.host, credentials=ANONYMOUS)
    src = RegistryClient(proxy.host, credentials=ANONYMOUS)
    assert copy_manifest_tree(src, "src/same", "1", via, "dst/same", "1") == index.digest
    assert proxy.count("PATCH") == 0
    mounts = [s for s in proxy.seen if s.method == "POST" and "mount=" in s.query]
    assert len(mounts) == 8  # config + layer for each of the four images
    assert not [s for s in proxy.seen if s.method == "GET" and "/blobs/" in s.path]
