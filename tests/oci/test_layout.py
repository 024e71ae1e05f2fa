"""oci.layout: OCI image layout directories, written atomically and read back byte for byte."""

from __future__ import annotations

import io
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from e2e_images.errors import LayoutError
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.fs import LayerFS
from e2e_images.oci.image import BlobSource, Image, MemoryBlobs
from e2e_images.oci.layout import REF_NAME, Layout
from e2e_images.oci.models import Index, Manifest
from e2e_images.oci.mutate import append_manifests

from .conftest import WINDOWS_LTSC2022, f, make_image, make_tar


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_init_creates_a_spec_layout(tmp_path: Path) -> None:
    layout = Layout.init(tmp_path / "l")
    assert json.loads((tmp_path / "l/oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert layout.index().manifests == ()
    assert isinstance(layout, BlobSource)
    assert Layout.init(tmp_path / "l").path == layout.path  # idempotent
    with pytest.raises(LayoutError, match="no oci-layout"):
        Layout(tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    with pytest.raises(LayoutError, match="imageLayoutVersion"):
        Layout(tmp_path / "bad")


def test_write_blob_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    layout = Layout.init(tmp_path)
    data = b"x" * 3_000_000
    info = layout.write_blob(io.BytesIO(data))
    assert (info.digest, info.size) == (sha256_digest(data), len(data))
    assert layout.blob_path(info.digest).read_bytes() == data
    assert layout.write_blob(iter([b"x" * 1_000_000] * 3)) == info
    assert layout.write_blob(b"ignored", digest=info.digest) == info  # already present
    with pytest.raises(LayoutError, match="refusing blob"):
        layout.write_blob(b"other", digest=sha256_digest(b"expected"))
    assert not layout.has_blob(sha256_digest(b"expected"))
    assert not layout.has_blob(sha256_digest(b"other"))
    assert not [p for p in (tmp_path / "blobs/sha256").iterdir() if p.name.startswith(".tmp")]
    with pytest.raises(LayoutError, match="not a digest"):
        layout.open_blob("sha256:../../etc/passwd")
    with pytest.raises(LayoutError, match="not in the layout"):
        layout.open_blob(sha256_digest(b"nothing"))


def test_image_round_trip_keeps_bytes_and_tags(tmp_path: Path) -> None:
    image = make_image([make_tar([f("hello", "world")]), make_tar([f("two", "2")])])
    layout = Layout.init(tmp_path)
    desc = layout.write_image(image, "v1")
    assert desc.digest == image.digest and desc.platform == image.platform
    assert layout.refs()["v1"].digest == image.digest
    loaded = Layout(tmp_path).image("v1")
    assert isinstance(loaded, Image)
    assert loaded.manifest.raw == image.manifest.raw and loaded.config.raw == image.config.raw
    assert LayerFS.open(loaded).read("/hello") == b"world"
    assert layout.image(image.digest).digest == image.digest  # by digest too
    # moving a tag replaces the entry that held it; other tags stay
    other = make_image([make_tar([f("hello", "again")])])
    layout.write_image(other, "v2")
    layout.write_image(other, "v1")
    assert {k: v.digest for k, v in layout.refs().items()} == {"v1": other.digest,
                                                               "v2": other.digest}
    assert len(layout.index().manifests) == 2  # the old v1 entry is gone, not shadowed
    with pytest.raises(LayoutError, match="no manifest named 'v3'"):
        layout.image("v3")


def test_index_with_children_only_lists_the_index(tmp_path: Path) -> None:
    blobs = MemoryBlobs()
    linux = make_image([make_tar([f("os", "linux")])], blobs=blobs)
    windows = make_image([make_tar([f("Files/os", "windows")])], platform=WINDOWS_LTSC2022,
                         blobs=blobs)
    index = append_manifests(None, [linux.manifest.descriptor(linux.platform),
                                    windows.manifest.descriptor(windows.platform)])
    layout = Layout.init(tmp_path)
    layout.write_index(index, [linux, windows], "multi")
    assert [d.digest for d in layout.index().manifests] == [index.digest]
    top = layout.image("multi")
    assert isinstance(top, Index) and top.raw == index.raw
    child = layout.image(top.manifests[1].digest)
    assert isinstance(child, Image) and child.platform.os_version == "10.0.20348.2527"
    # copying from a BlobSource that holds the whole tree works without Image objects
    other = Layout.init(tmp_path / "copy")
    for image in (linux, windows):
        blobs.add(image.manifest.raw)
        blobs.add(image.config.raw)
    other.write_index(index, source=blobs, ref_name="multi")
    assert _files(other.path / "blobs") == _files(layout.path / "blobs")
    with pytest.raises(LayoutError, match="has no image"):
        Layout.init(tmp_path / "third").write_index(index, [linux])


def test_corrupt_and_incomplete_layouts_are_errors(tmp_path: Path) -> None:
    image = make_image([make_tar([f("a", "a")])])
    layout = Layout.init(tmp_path)
    layout.write_image(image, "v1")
    layout.blob_path(image.digest).write_bytes(image.manifest.raw + b" ")
    with pytest.raises(LayoutError, match="corrupt"):
        layout.image("v1")
    with pytest.raises(LayoutError, match="not in the layout"):
        layout.add_to_index(image.manifest.descriptor().__class__(
            mt.OCI_MANIFEST, sha256_digest(b"absent"), 6), "x")
    short = make_image([make_tar([f("a", "a")])])
    lying = Image(Manifest(short.manifest.raw, short.manifest.media_type,
                           short.manifest.config.__class__(
                               mt.OCI_CONFIG, short.manifest.config.digest, 1),
                           short.manifest.layers), short.config, short.source)
    with pytest.raises(LayoutError, match="descriptor says 1"):
        Layout.init(tmp_path / "x").write_image(lying)


def test_ref_annotation_is_the_oci_one(tmp_path: Path) -> None:
    image = make_image([make_tar([f("a", "a")])])
    layout = Layout.init(tmp_path)
    layout.write_image(image, "latest")
    entry = json.loads((tmp_path / "index.json").read_text())["manifests"][0]
    assert entry["annotations"] == {REF_NAME: "latest"}
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}
    assert entry["mediaType"] == mt.OCI_MANIFEST


def test_a_failed_write_leaves_no_blob_and_no_temp_file(tmp_path: Path) -> None:
    layout = Layout.init(tmp_path)

    def dying_stream():
        yield b"a" * 1000
        raise ConnectionError("source went away")

    with pytest.raises(ConnectionError):
        layout.write_blob(dying_stream())
    assert list((tmp_path / "blobs/sha256").iterdir()) == []


def _write_tagged(args: tuple[str, int]) -> str:
    path, n = args
    image = make_image([make_tar([f("n", str(n))])])
    Layout.init(path).write_image(image, f"t{n}")
    return image.digest


def test_parallel_writers_keep_every_tag(tmp_path: Path) -> None:
    Layout.init(tmp_path)
    with ProcessPoolExecutor(2) as pool:
        digests = list(pool.map(_write_tagged, [(str(tmp_path), n) for n in range(16)]))
    refs = Layout(tmp_path).refs()
    assert {k: v.digest for k, v in refs.items()} == {f"t{n}": d for n, d in enumerate(digests)}
