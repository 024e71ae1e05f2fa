"""skopeo reads what the client pushed, and the client reads what skopeo pushed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from regtest_images import PLATFORMS, image_parts, push_multiarch

from e2e_images.oci.models import Index, Manifest, build_index
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.embedded import EmbeddedRegistry


def _skopeo(skopeo: str, *args: str) -> bytes:
    proc = subprocess.run([skopeo, "--insecure-policy", *args], capture_output=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def test_skopeo_reads_and_copies_what_we_pushed(skopeo: str, client: RegistryClient,
                                                registry: EmbeddedRegistry) -> None:
    index = push_multiarch(client, "interop/ours", "1.0")
    raw = _skopeo(skopeo, "inspect", "--raw", "--tls-verify=false",
                  f"docker://{registry.host}/interop/ours:1.0")
    assert raw == index.raw
    child = _skopeo(skopeo, "inspect", "--raw", "--tls-verify=false",
                    f"docker://{registry.host}/interop/ours@{index.manifests[3].digest}")
    assert child == client.get_manifest("interop/ours", index.manifests[3].digest).raw
    _skopeo(skopeo, "copy", "--all", "--preserve-digests", "--src-tls-verify=false",
            "--dest-tls-verify=false", f"docker://{registry.host}/interop/ours:1.0",
            f"docker://{registry.host}/interop/theirs:1.0")
    copied = client.get_manifest("interop/theirs", "1.0")
    assert isinstance(copied, Index) and copied.digest == index.digest
    windows = [d.platform.os_version for d in copied.manifests
               if d.platform and d.platform.os == "windows"]
    assert windows == ["10.0.17763.6054", "10.0.20348.2582"]


def _write_layout(root: Path, tag: str) -> Index:
    """An OCI layout written with plain file writes: two images and an index."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    entries = []
    for platform in PLATFORMS[:2]:
        manifest, parts = image_parts(platform, "layout")
        parts[manifest.digest] = manifest.raw
        for digest, data in parts.items():
            (blobs / digest.split(":")[1]).write_bytes(data)
        entries.append(manifest.descriptor(platform=platform))
    index = build_index(entries)
    (blobs / index.digest.split(":")[1]).write_bytes(index.raw)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    top = {"schemaVersion": 2, "manifests": [{
        "mediaType": index.media_type, "digest": index.digest, "size": index.size,
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (root / "index.json").write_text(json.dumps(top))
    return index


def test_we_read_what_skopeo_pushed(skopeo: str, client: RegistryClient,
                                    registry: EmbeddedRegistry, tmp_path: Path) -> None:
    index = _write_layout(tmp_path / "layout", "v1")
    _skopeo(skopeo, "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
            f"oci:{tmp_path / 'layout'}:v1", f"docker://{registry.host}/interop/skopeo:v1")
    got = client.get_manifest("interop/skopeo", "v1")
    assert isinstance(got, Index) and got.digest == index.digest
    img = client.image("interop/skopeo", "v1", PLATFORMS[1])
    assert img.platform.architecture == "arm64"
    _, parts = image_parts(PLATFORMS[1], "layout")
    assert img.layers()[0].read() in parts.values()
    # And a single image that skopeo converts to Docker schema 2 on the way.
    _skopeo(skopeo, "copy", "--format", "v2s2", "--dest-tls-verify=false",
            f"oci:{tmp_path / 'layout'}:v1", f"docker://{registry.host}/interop/v2s2:v1")
    single = client.get_manifest("interop/v2s2", "v1")
    assert isinstance(single, Manifest)
    assert single.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert client.image("interop/v2s2", "v1").config.cmd == ("/hello",)
