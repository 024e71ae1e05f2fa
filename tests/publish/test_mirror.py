"""Mirroring upstream into staging: digests preserved, mounted, idempotent, staging-only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from e2e_images.cli import main
from e2e_images.errors import RegistryError
from e2e_images.oci.models import Index
from e2e_images.publish.files import PublishInputError
from e2e_images.publish.mirror import load_mirror_config, mirror_images
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS
from e2e_images.registry.mirrors import MirrorMap
from e2e_images.registry.pool import ClientPool

sys.path.append(str(Path(__file__).parents[1] / "registry"))
from regtest_proxy import FaultProxy

BUSYBOX = "docker.io/library/busybox:1.36.1"
WRITES = ("PUT", "POST", "PATCH", "DELETE")


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "staging-mirrors.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def proxy(staging) -> FaultProxy:  # type: ignore[no-untyped-def]
    p = FaultProxy(staging.host).start()
    yield p
    p.stop()


def test_mirror_busybox_twice_second_run_pushes_nothing(tmp_path, staging, proxy) -> None:
    """Everything goes through a counting proxy: upstream (the stand-in) and staging are the
    same registry behind it, so blobs are mounted, not streamed; run two sends no write."""
    config = load_mirror_config(_config(tmp_path, f"mirrors:\n  - source: {BUSYBOX}\n"))
    pool = ClientPool(mirrors=MirrorMap.from_mapping({"docker.io": f"{proxy.host}/docker.io"}))
    namespace = f"{proxy.host}/stage"

    first = mirror_images(config, pool, namespace)
    upstream = staging.upstream_digest(BUSYBOX)
    assert [(r.destination, r.digest, r.pushed) for r in first] == [
        (f"{namespace}/busybox:1.36.1", upstream, True)]
    mounts = [s for s in proxy.seen if s.method == "POST" and "mount=" in s.query]
    assert mounts, "blobs should be mounted across repositories"
    assert proxy.count("PATCH") == 0, "nothing should be streamed when a mount works"

    # The index and every child are there by digest, byte-identical to upstream.
    direct = RegistryClient(staging.host, credentials=ANONYMOUS)
    src = direct.get_manifest("docker.io/library/busybox", upstream)
    dst = direct.get_manifest("stage/busybox", "1.36.1")
    assert isinstance(src, Index) and dst.raw == src.raw
    assert len(src.manifests) == 5
    for child in src.manifests:
        assert direct.get_manifest("stage/busybox", child.digest).raw == \
            direct.get_manifest("docker.io/library/busybox", child.digest).raw

    proxy.seen.clear()
    second = mirror_images(config, pool, namespace)
    assert [(r.digest, r.pushed) for r in second] == [(upstream, False)]
    assert sum(proxy.count(m) for m in WRITES) == 0


def test_mirror_streams_between_registries(tmp_path, staging, production) -> None:
    """Source and destination on different registries: blobs streamed, digest kept."""
    config = load_mirror_config(_config(
        tmp_path, f"mirrors:\n  - source: {BUSYBOX}\n    name: mirrors/busybox\n"
                  f"    digest: {staging.upstream_digest(BUSYBOX)}\n"))
    pool = ClientPool(mirrors=MirrorMap.from_mapping(
        {"docker.io": f"{staging.host}/docker.io"}))
    (result,) = mirror_images(config, pool, f"{production.host}/x")
    assert result.pushed and result.digest == staging.upstream_digest(BUSYBOX)
    dst = RegistryClient(production.host, credentials=ANONYMOUS)
    index = dst.get_manifest("x/mirrors/busybox", "1.36.1")
    assert isinstance(index, Index) and index.digest == result.digest
    for child in index.manifests:
        image = dst.image("x/mirrors/busybox", child.digest)
        for layer in image.manifest.layers:
            assert dst.blob_exists("x/mirrors/busybox", layer.digest)


def test_mirror_pin_mismatch_is_refused(tmp_path, staging) -> None:
    config = load_mirror_config(_config(
        tmp_path, f"mirrors:\n  - source: {BUSYBOX}\n    digest: sha256:{'0' * 64}\n"))
    pool = ClientPool(mirrors=MirrorMap.from_mapping(
        {"docker.io": f"{staging.host}/docker.io"}))
    with pytest.raises(RegistryError, match="pins sha256:0000"):
        mirror_images(config, pool, staging.namespace())


@pytest.mark.parametrize(("text", "message", "line"), [
    ("mirrors:\n  - source: [\n", "not valid YAML", 3),
    (f"mirrors:\n  - source: docker.io/library/busybox@sha256:{'a' * 64}\n", "has no tag", 2),
    ("mirrors:\n  - source: busybox:1\n  - source: docker.io/library/busybox:1\n",
     "destination of two mirrors", 3),
    ("mirrors:\n  - {source: busybox:1, colour: red}\n", "expected a mapping", 2),
    ("images: []\n", "one key", None),
])
def test_bad_mirror_config_names_file_and_line(tmp_path, text, message, line) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(PublishInputError, match=message) as info:
        load_mirror_config(path)
    assert info.value.path == str(path) and info.value.line == line
    assert info.value.exit_code == 2


def test_mirror_cli(tmp_path, staging, mirror_map_file, capsys) -> None:
    config = _config(tmp_path, f"mirrors:\n  - {BUSYBOX}\n"
                               "  - source: mcr.microsoft.com/windows/nanoserver:ltsc2022\n")
    registry = staging.namespace()
    args = ["mirror", "--config", str(config), "--registry", registry,
            "--mirrors", str(mirror_map_file), "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"copied    {registry}/busybox:1.36.1 {staging.upstream_digest(BUSYBOX)}" in out
    assert f"{registry}/windows/nanoserver:ltsc2022" in out
    assert main(args) == 0
    assert capsys.readouterr().out.count("unchanged") == 2
    assert main(["mirror", "--config", str(tmp_path / "missing.yaml")]) == 1
