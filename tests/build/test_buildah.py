"""buildah as a backend and as a peer: what it pushes, our client reads byte for byte."""

from __future__ import annotations

import subprocess

from e2e_images.build.buildah import Buildah, BuildahRequest, registries_conf
from e2e_images.hermetic.standins import seed_host
from e2e_images.oci.fs import LayerFS
from e2e_images.oci.layout import Layout
from e2e_images.platforms import image_platform, parse_platform
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.embedded import EmbeddedRegistry
from e2e_images.registry.mirrors import MirrorMap
from e2e_images.registry.pool import ClientPool


def test_registries_conf_remaps_upstream_and_marks_loopback_insecure():
    conf = registries_conf(MirrorMap.from_mapping({"docker.io": "127.0.0.1:5000/docker.io",
                                                   "mcr.microsoft.com": "mirror.example/mcr"}))
    assert 'prefix = "docker.io"\nlocation = "127.0.0.1:5000/docker.io"\ninsecure = true' in conf
    assert 'prefix = "mcr.microsoft.com"\nlocation = "mirror.example/mcr"\ninsecure = false' \
        in conf
    assert 'location = "127.0.0.1:5000"\ninsecure = true' in conf  # its own images too
    assert "mirror.example\"\ninsecure" not in conf


def test_buildah_run_under_qemu_pushes_what_our_client_reads(tmp_path):
    with EmbeddedRegistry(tmp_path / "reg") as reg:
        mirrors, _ = seed_host(reg.host)
        s390x = parse_platform("linux/s390x")
        # buildah never pulls: the base reaches it through our client and a layout
        base = ClientPool(mirrors=mirrors).image("docker.io/library/busybox:1.36.1",
                                                  image_platform(s390x))
        Layout.init(tmp_path / "base").write_image(base, "base")
        buildah = Buildah(tmp_path / "buildah", mirrors=mirrors)
        buildah.import_base(tmp_path / "base", "base", "localhost/busybox-s390x:base")
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(
            "FROM localhost/busybox-s390x:base\nRUN uname -m > /arch && ln -s arch /a2\n")
        ref = f"{reg.host}/peer/s390x:built-by-buildah"
        digest = buildah.build(BuildahRequest(ctx / "Dockerfile", ctx,
                                              s390x, 1_700_000_000),
                               f"docker://{ref}")
        client = RegistryClient(reg.host)
        manifest = client.get_manifest("peer/s390x", "built-by-buildah")
        assert manifest.digest == digest
        raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                              f"docker://{ref}"], capture_output=True, check=True).stdout
        assert raw == manifest.raw
        image = client.image("peer/s390x", digest)
        assert image.platform.architecture == "s390x"
        view = LayerFS.open(image)
        assert view.read("/arch") == b"s390x\n"  # the RUN ran under qemu-s390x
        assert view.lookup("/a2").linkname == "arch"
        busybox = view.read("/bin/busybox")
        assert int.from_bytes(busybox[18:20], "big") == 22  # EM_S390, big-endian ELF
