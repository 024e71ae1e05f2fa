"""Layouts we write are accepted by skopeo, umoci and buildah, and we read theirs (real tools)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from e2e_images.oci import media_types as mt
from e2e_images.oci.fs import EntryType, LayerFS
from e2e_images.oci.image import Image, MemoryBlobs
from e2e_images.oci.layout import Layout
from e2e_images.oci.models import Index
from e2e_images.oci.mutate import append_manifests

from .conftest import WINDOWS_LTSC2022, d, f, make_image, make_tar, need, sym

ROOTFS = make_tar([d("etc"), f("etc/hello", "world\n"), d("bin"),
                   f("bin/tool", "#!/bin/sh\necho hi\n", mode=0o755), sym("bin/alias", "tool")])


@pytest.fixture(autouse=True)
def _private_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tools put big temporary files in $TMPDIR (else /var/tmp): keep them in the test."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)
    assert done.returncode == 0, f"{args[0]} failed: {done.stderr}"
    return done.stdout


def _ours(path: Path) -> tuple[Layout, Image, Index]:
    blobs = MemoryBlobs()
    linux = make_image([ROOTFS, make_tar([f("etc/extra", "2")])], blobs=blobs)
    windows = make_image([make_tar([d("Files"), d("Hives"), f("Files/x.dll", "MZ")])],
                         platform=WINDOWS_LTSC2022, blobs=blobs)
    index = append_manifests(None, [linux.manifest.descriptor(linux.platform),
                                    windows.manifest.descriptor(windows.platform)])
    layout = Layout.init(path)
    layout.write_image(linux, "v1")
    layout.write_index(index, [linux, windows], "multi")
    return layout, linux, index


def _image(layout: Layout, ref: str) -> Image:
    image = layout.image(ref)
    assert isinstance(image, Image)
    return image


def test_skopeo_copies_our_layouts_keeping_digests(tmp_path: Path) -> None:
    skopeo = need("skopeo")
    ours, linux, index = _ours(tmp_path / "ours")
    raw = run(skopeo, "inspect", "--raw", f"oci:{ours.path}:v1")
    assert raw.encode() == linux.manifest.raw
    config = json.loads(run(skopeo, "inspect", "--config", "--raw", f"oci:{ours.path}:v1"))
    assert config["rootfs"]["diff_ids"] == list(linux.config.diff_ids)
    run(skopeo, "copy", "-q", f"oci:{ours.path}:v1", f"oci:{tmp_path / 'theirs'}:v1")
    run(skopeo, "copy", "-q", "--all", f"oci:{ours.path}:multi",
        f"oci:{tmp_path / 'theirs'}:multi")
    theirs = Layout(tmp_path / "theirs")
    assert _image(theirs, "v1").manifest.raw == linux.manifest.raw
    copied = theirs.image("multi")
    assert isinstance(copied, Index) and copied.raw == index.raw
    win = _image(theirs, copied.manifests[1].digest)
    assert win.platform.os_version == "10.0.20348.2527"
    assert LayerFS.open(win).read("/x.dll") == b"MZ"
    view = LayerFS.open(_image(theirs, "v1"))
    assert view.read("/bin/alias") == b"#!/bin/sh\necho hi\n" and view.problems == []


def test_we_read_zstd_layers_skopeo_writes(tmp_path: Path) -> None:
    skopeo = need("skopeo")
    ours, linux, _ = _ours(tmp_path / "ours")
    run(skopeo, "copy", "-q", "--dest-compress-format", "zstd", f"oci:{ours.path}:v1",
        f"oci:{tmp_path / 'z'}:v1")
    image = _image(Layout(tmp_path / "z"), "v1")
    assert {layer.media_type for layer in image.layers()} == {mt.OCI_LAYER_ZSTD}
    assert image.config.diff_ids == linux.config.diff_ids  # same tars, new compression
    view = LayerFS.open(image)
    assert view.problems == []  # diff_ids were checked while streaming
    assert view.read("/etc/hello") == b"world\n" and view.read("/etc/extra") == b"2"


def test_umoci_unpacks_ours_and_we_read_its_repack(tmp_path: Path) -> None:
    umoci = need("umoci")
    ours, linux, _ = _ours(tmp_path / "ours")
    stat = json.loads(run(umoci, "stat", "--json", "--image", f"{ours.path}:v1"))
    assert len([h for h in stat["history"] if not h.get("empty_layer")]) == 2
    bundle = tmp_path / "bundle"
    run(umoci, "unpack", "--image", f"{ours.path}:v1", bundle)
    rootfs = bundle / "rootfs"
    assert (rootfs / "etc/hello").read_text() == "world\n"
    assert (rootfs / "bin/tool").stat().st_mode & 0o777 == 0o755
    assert (rootfs / "bin/alias").readlink() == Path("tool")
    # change the tree and let umoci write a new layer (with a whiteout) into our layout
    (rootfs / "etc/hello").unlink()
    (rootfs / "etc/new").write_text("from umoci\n")
    run(umoci, "repack", "--image", f"{ours.path}:v2", bundle)
    run(umoci, "config", "--image", f"{ours.path}:v2", "--tag", "v3",
        "--config.entrypoint", "/bin/tool")
    layout = Layout(ours.path)
    v3 = _image(layout, "v3")
    assert v3.manifest.layers[:2] == linux.manifest.layers  # base layers untouched
    assert v3.config.entrypoint == ("/bin/tool",)
    view = LayerFS.open(v3)
    assert view.problems == []
    assert not view.exists("/etc/hello") and view.read("/etc/new") == b"from umoci\n"
    assert any(m.name.endswith(".wh.hello") for m in view.raw_entries(2))
    assert view.lookup("/bin/alias").type is EntryType.SYMLINK


def _buildah(tmp_path: Path) -> list[str]:
    return [need("buildah"), "--root", str(tmp_path / "root"), "--runroot",
            str(tmp_path / "run"), "--storage-driver", "vfs"]


def test_we_read_what_buildah_commits(tmp_path: Path) -> None:
    buildah = _buildah(tmp_path)
    (tmp_path / "hello.txt").write_text("hello from buildah\n")
    ctr = run(*buildah, "from", "scratch").strip()
    run(*buildah, "copy", ctr, str(tmp_path / "hello.txt"), "/data/hello.txt")
    run(*buildah, "config", "--entrypoint", '["/data/hello.txt"]', "--os", "linux",
        "--arch", "amd64", "--label", "made.by=buildah", ctr)
    run(*buildah, "commit", "-q", ctr, f"oci:{tmp_path / 'out'}:v1")
    layout = Layout(tmp_path / "out")
    entry = layout.refs()["v1"]
    image = _image(layout, "v1")
    assert image.digest == entry.digest  # read_blob verified the bytes too
    assert image.config.labels["made.by"] == "buildah"
    view = LayerFS.open(image)
    assert view.problems == []
    assert view.read("/data/hello.txt") == b"hello from buildah\n"


def test_buildah_pulls_ours_with_the_same_digests(tmp_path: Path) -> None:
    buildah = _buildah(tmp_path)
    ours, linux, _ = _ours(tmp_path / "ours")
    run(*buildah, "pull", "-q", f"oci:{ours.path}:v1")
    [pulled] = json.loads(run(*buildah, "images", "--json", "--no-trunc"))
    assert (pulled["id"], pulled["digest"]) == (linux.config.digest, linux.digest)
    ctr = run(*buildah, "from", f"oci:{ours.path}:v1").strip()
    (tmp_path / "more").write_text("more\n")
    run(*buildah, "copy", ctr, str(tmp_path / "more"), "/etc/more")
    run(*buildah, "commit", "-q", ctr, f"oci:{tmp_path / 'derived'}:v2")
    run(*buildah, "push", "-q", linux.config.digest.removeprefix("sha256:"),
        f"oci:{tmp_path / 'pushed'}:v1")
    pushed = _image(Layout(tmp_path / "pushed"), "v1")
    assert pushed.config.raw == linux.config.raw  # layers may be recompressed, diff_ids not
    derived = _image(Layout(tmp_path / "derived"), "v2")
    assert derived.config.diff_ids[:2] == linux.config.diff_ids
    view = LayerFS.open(derived)
    assert view.problems == []
    assert view.read("/etc/more") == b"more\n" and view.read("/etc/hello") == b"world\n"


def test_we_read_docker_schema2_layouts_skopeo_writes(tmp_path: Path) -> None:
    skopeo = need("skopeo")
    ours, linux, _ = _ours(tmp_path / "ours")
    run(skopeo, "copy", "-q", "--format", "v2s2", f"oci:{ours.path}:v1",
        f"oci:{tmp_path / 'docker'}:v1")
    layout = Layout(tmp_path / "docker")
    image = _image(layout, "v1")
    assert image.manifest.media_type == mt.DOCKER_MANIFEST
    assert image.manifest.config.media_type == mt.DOCKER_CONFIG
    assert {layer.media_type for layer in image.layers()} == {mt.DOCKER_LAYER_GZIP}
    assert image.config.diff_ids == linux.config.diff_ids
    view = LayerFS.open(image)
    assert view.problems == [] and view.read("/etc/extra") == b"2"
    # skopeo 1.9 cannot resolve a tag whose entry is a Docker manifest ("no descriptor found"),
    # so the way back is checked on our side: the copy keeps the bytes and the digest.
    again = Layout.init(tmp_path / "again")
    assert again.write_image(image, "v1").digest == image.digest
    assert _image(again, "v1").manifest.raw == image.manifest.raw
