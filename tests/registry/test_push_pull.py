"""Push and pull against a real docker-registry: indexes, HEADs, mounts, chunked uploads."""

from __future__ import annotations

import io
import os

import pytest
from regtest_images import PLATFORMS, image_parts, push_image, push_multiarch
from regtest_proxy import FaultProxy

from e2e_images.errors import BlobUnknown, ManifestUnknown, RegistryError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.models import ImagePlatform, Index, Manifest
from e2e_images.platforms import parse_platform
from e2e_images.registry.client import RegistryClient, select_manifest
from e2e_images.registry.credentials import ANONYMOUS


class _OneWay(io.RawIOBase):
    """A stream that cannot seek, like a socket or a pipe."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        data = self._buf.read(min(len(b), 700))
        b[: len(data)] = data
        return len(data)


def test_index_with_two_windows_entries_round_trips_byte_identical(client: RegistryClient
                                                                    ) -> None:
    pushed = push_multiarch(client, "e2e/multi", "1.0")
    got = client.get_manifest("e2e/multi", "1.0")
    assert isinstance(got, Index)
    assert got.raw == pushed.raw and got.digest == pushed.digest
    assert client.get_manifest("e2e/multi", pushed.digest).raw == pushed.raw
    versions = [d.platform.os_version for d in got.manifests
                if d.platform and d.platform.os == "windows"]
    assert versions == ["10.0.17763.6054", "10.0.20348.2582"]
    assert len({d.digest for d in got.manifests}) == 4
    for entry in got.manifests:
        child = client.get_manifest("e2e/multi", entry.digest)
        assert isinstance(child, Manifest) and child.digest == entry.digest


def test_image_resolves_the_platform_including_os_version(client: RegistryClient) -> None:
    index = push_multiarch(client, "e2e/select", "v1")
    img = client.image("e2e/select", "v1", parse_platform("windows/amd64/ltsc2022"))
    assert img.platform.os_version == "10.0.20348.2582"
    assert img.digest == index.manifests[3].digest
    assert img.layers()[0].read().startswith(b"\x1f\x8b")
    arm = client.image("e2e/select", "v1", ImagePlatform("linux", "arm64"))
    assert arm.platform.architecture == "arm64"
    with pytest.raises(RegistryError, match="2 entries for windows/amd64"):
        select_manifest(index, ImagePlatform("windows", "amd64"))
    with pytest.raises(RegistryError, match="no entry for linux/s390x"):
        client.image("e2e/select", "v1", ImagePlatform("linux", "s390x"))


def test_head_checks_and_typed_errors(client: RegistryClient) -> None:
    manifest = push_image(client, "e2e/head", PLATFORMS[0], "h", ref="present")
    desc = client.head_manifest("e2e/head", "present")
    assert desc is not None
    assert (desc.digest, desc.size, desc.media_type) == (manifest.digest, len(manifest.raw),
                                                         mt.OCI_MANIFEST)
    assert client.head_manifest("e2e/head", "absent") is None
    assert client.blob_exists("e2e/head", manifest.config.digest)
    missing = sha256_digest(b"never pushed")
    assert not client.blob_exists("e2e/head", missing)
    with pytest.raises(ManifestUnknown) as exc:
        client.get_manifest("e2e/head", "absent")
    assert exc.value.status == 404 and exc.value.code == "MANIFEST_UNKNOWN"
    with pytest.raises(BlobUnknown) as bexc:
        client.open_blob("e2e/head", missing)
    assert bexc.value.code == "BLOB_UNKNOWN"
    assert "/v2/e2e/head/blobs/" in str(bexc.value)
    orphan, _ = image_parts(PLATFORMS[2], "blobs never pushed")
    with pytest.raises(RegistryError) as rexc:
        client.put_manifest("e2e/head", "orphan", orphan.raw, orphan.media_type)
    assert type(rexc.value) is RegistryError
    assert (rexc.value.status, rexc.value.code) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert "PUT /v2/e2e/head/manifests/orphan: HTTP 400 MANIFEST_BLOB_UNKNOWN" in str(rexc.value)


def test_put_manifest_by_digest_and_list_tags(client: RegistryClient) -> None:
    manifest, blobs = image_parts(PLATFORMS[1], "tags")
    for data in blobs.values():
        client.push_blob("e2e/tags", data)
    assert client.put_manifest("e2e/tags", manifest.digest, manifest.raw,
                               manifest.media_type) == manifest.digest
    for tag in ("b", "a", "c"):
        client.put_manifest("e2e/tags", tag, manifest.raw, manifest.media_type)
    assert sorted(client.list_tags("e2e/tags")) == ["a", "b", "c"]
    assert client.list_tags("e2e/nothing-here") == []
    with pytest.raises(RegistryError, match="refusing"):
        client.put_manifest("e2e/tags", sha256_digest(b"x"), manifest.raw, manifest.media_type)


def test_list_tags_follows_link_pages(client: RegistryClient, proxy: FaultProxy) -> None:
    manifest, blobs = image_parts(PLATFORMS[0], "pages")
    for data in blobs.values():
        client.push_blob("e2e/pages", data)
    names = [f"t{i:02d}" for i in range(7)]
    for tag in names:
        client.put_manifest("e2e/pages", tag, manifest.raw, manifest.media_type)
    proxy.tag_page = 3
    assert RegistryClient(proxy.host, credentials=ANONYMOUS).list_tags("e2e/pages") == names
    assert [s.query for s in proxy.seen if s.path.endswith("/tags/list")] == [
        "", "n=3&last=t02", "n=3&last=t05"]


def test_open_blob_follows_redirects(client: RegistryClient, proxy: FaultProxy) -> None:
    data = os.urandom(3000)
    digest = client.push_blob("e2e/redirect", data)
    proxy.plan.append("redirect")
    with RegistryClient(proxy.host, credentials=ANONYMOUS).open_blob("e2e/redirect",
                                                                     digest) as f:
        assert f.read() == data
    assert [s.action for s in proxy.seen] == ["redirect"]  # the rest went to the registry


def test_cross_repo_mount(client: RegistryClient, proxy: FaultProxy) -> None:
    blob = os.urandom(4096)
    digest = client.push_blob("e2e/mount-src", blob)
    via = RegistryClient(proxy.host, credentials=ANONYMOUS)
    assert via.mount_blob("e2e/mount-dst", digest, "e2e/mount-src")
    assert client.blob_exists("e2e/mount-dst", digest)
    assert not via.mount_blob("e2e/mount-dst", sha256_digest(b"nope"), "e2e/mount-src")
    # push_blob with mount_from: no bytes travel, one mount POST.
    before = proxy.count("PUT")
    assert via.push_blob("e2e/mount-dst2", blob, mount_from="e2e/mount-src") == digest
    assert proxy.count("PUT") == before
    assert any(s.method == "POST" and "mount=" in s.query for s in proxy.seen)
    # Present already: nothing but the HEAD.
    n = len(proxy.seen)
    assert via.push_blob("e2e/mount-dst2", blob) == digest
    assert [s.method for s in proxy.seen[n:]] == ["HEAD"]


def test_chunked_upload_of_a_stream(client: RegistryClient, proxy: FaultProxy) -> None:
    data = os.urandom(3500)
    via = RegistryClient(proxy.host, credentials=ANONYMOUS, chunk_size=1000)
    digest = via.push_blob("e2e/chunked", _OneWay(data))  # no digest known up front
    assert digest == sha256_digest(data)
    patches = [s for s in proxy.seen if s.method == "PATCH"]
    assert [s.headers["Content-Range"] for s in patches] == [
        "0-999", "1000-1999", "2000-2999", "3000-3499"]
    with client.open_blob("e2e/chunked", digest) as f:
        assert f.read() == data
    # A known-size stream over the chunk size is chunked too; a small one is a single PUT.
    big = os.urandom(2500)
    via.push_blob("e2e/chunked", io.BytesIO(big), digest=sha256_digest(big), size=len(big))
    assert proxy.count("PATCH") == 7
    small = os.urandom(500)
    via.push_blob("e2e/chunked", _OneWay(small), digest=sha256_digest(small), size=500)
    assert proxy.count("PATCH") == 7
    assert client.blob_exists("e2e/chunked", sha256_digest(small))


def test_wrong_digest_is_refused(client: RegistryClient) -> None:
    data = os.urandom(100)
    with pytest.raises(RegistryError, match="hash"):
        client.push_blob("e2e/bad", data, digest=sha256_digest(b"other"))
    with pytest.raises(RegistryError, match="hashes to"):
        client.push_blob("e2e/bad", _OneWay(data), digest=sha256_digest(b"other"),
                         chunked=True)
    assert not client.blob_exists("e2e/bad", sha256_digest(b"other"))


def test_open_blob_verifies_the_digest_at_eof(client: RegistryClient, proxy: FaultProxy
                                              ) -> None:
    data = os.urandom(10_000)
    digest = client.push_blob("e2e/verify", data)
    via = RegistryClient(proxy.host, credentials=ANONYMOUS)
    proxy.plan.append("corrupt")
    with via.open_blob("e2e/verify", digest) as f, pytest.raises(RegistryError) as exc:
        f.read()
    assert exc.value.code == "DIGEST_INVALID"
    with via.open_blob("e2e/verify", digest) as f:
        assert f.read() == data
