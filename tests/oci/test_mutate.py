"""oci.mutate: pure transforms from a base image or index to a new one."""

from __future__ import annotations

import json

import pytest

from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.image import Image, Layer, MemoryBlobs
from e2e_images.oci.models import ConfigFile, Descriptor, ImagePlatform, build_index, parse_manifest
from e2e_images.oci.mutate import (
    append_layers,
    append_manifests,
    scratch,
    set_annotations,
    with_config,
    with_platform,
    with_runtime,
)

from .conftest import LINUX_AMD64, WINDOWS_LTSC2022, f, gz, make_image, make_tar


def read(layer: Layer) -> bytes:
    with layer.source.open_blob(layer.descriptor.digest) as blob:
        return blob.read()


def _layer(text: str) -> Layer:
    tar = make_tar([f("file", text)])
    blob = gz(tar)
    blobs = MemoryBlobs()
    blobs.add(blob)
    return Layer(Descriptor.of(mt.OCI_LAYER_GZIP, blob), blobs, sha256_digest(tar),
                 {"created_by": f"COPY {text}"})


def test_append_layers_extends_base_without_touching_it() -> None:
    base = make_image([make_tar([f("a", "a")])])
    x, y = _layer("x"), _layer("y")
    out = append_layers(base, [x, y], created="2025-05-05T00:00:00Z")
    assert out.manifest.layers[0] == base.manifest.layers[0]
    assert len(out.manifest.layers) == 3
    assert out.config.diff_ids[:1] == base.config.diff_ids and len(out.config.diff_ids) == 3
    assert [h.get("created_by") for h in out.config.history] == ["test", "COPY x", "COPY y"]
    assert out.config.history[-1]["created"] == "2025-05-05T00:00:00Z"
    # the manifest points at exactly the config bytes, and both re-parse to the same values
    assert out.manifest.config.digest == sha256_digest(out.config.raw)
    assert out.manifest.config.media_type == mt.OCI_CONFIG
    assert parse_manifest(out.manifest.raw) == out.manifest
    reparsed = ConfigFile.parse(out.config.raw)
    assert reparsed.diff_ids == out.config.diff_ids and reparsed.platform == LINUX_AMD64
    assert len(base.manifest.layers) == 1  # the base is unchanged
    # the new image reads every blob, new and inherited, without being told where
    for layer, data in zip(out.layers(), (None, *(read(s) for s in (x, y))), strict=True):
        assert data is None or layer.read() == data
    assert sha256_digest(out.layers()[0].read()) == base.manifest.layers[0].digest


def test_docker_manifests_get_docker_configs() -> None:
    base = scratch(LINUX_AMD64, media_type=mt.DOCKER_MANIFEST)
    out = append_layers(base, [_layer("x")])
    assert out.manifest.media_type == mt.DOCKER_MANIFEST
    assert out.manifest.config.media_type == mt.DOCKER_CONFIG


def test_runtime_changes_merge_labels_and_record_empty_history() -> None:
    base = append_layers(scratch(LINUX_AMD64), [_layer("x")])
    base = with_runtime(base, {"Labels": {"a": "1"}, "Env": ["PATH=/bin"]})
    out = with_runtime(base, {"Labels": {"b": "2"}, "Env": None, "Entrypoint": ["/agnhost"]},
                       history={"created_by": "ENTRYPOINT"}, created="2025-01-01T00:00:00Z")
    assert out.config.labels == {"a": "1", "b": "2"}
    assert "Env" not in out.config.runtime and out.config.entrypoint == ("/agnhost",)
    assert out.config.history[-1] == {"created": "2025-01-01T00:00:00Z",
                                      "created_by": "ENTRYPOINT", "empty_layer": True}
    assert out.manifest.layers == base.manifest.layers


def test_with_platform_and_config_consistency() -> None:
    base = append_layers(scratch(LINUX_AMD64), [_layer("x")])
    win = with_platform(base, WINDOWS_LTSC2022)
    obj = json.loads(win.config.raw)
    assert (obj["os"], obj["os.version"]) == ("windows", "10.0.20348.2527")
    with pytest.raises(ValueError, match="diff_ids"):
        with_config(base, ConfigFile.build(LINUX_AMD64, {}, ()))
    with pytest.raises(ValueError, match="names config"):
        Image(base.manifest, win.config, base.source)


def test_append_manifests_builds_lists_in_order() -> None:
    a = append_layers(scratch(LINUX_AMD64), [_layer("a")])
    w = append_layers(scratch(WINDOWS_LTSC2022), [_layer("w")])
    index = append_manifests(None, [a.manifest.descriptor(a.config.platform)])
    index = append_manifests(index, [w.manifest.descriptor(w.config.platform)])
    assert [d.platform for d in index.manifests] == [LINUX_AMD64, WINDOWS_LTSC2022]
    assert index.media_type == mt.OCI_INDEX
    assert json.loads(index.raw)["manifests"][1]["platform"]["os.version"] == "10.0.20348.2527"
    with pytest.raises(ValueError, match="already lists"):
        append_manifests(index, [a.manifest.descriptor(a.config.platform)])
    with pytest.raises(ValueError, match="no platform"):
        append_manifests(index, [append_layers(a, [_layer("b")]).manifest.descriptor()])
    docker = append_manifests(build_index([], media_type=mt.DOCKER_MANIFEST_LIST), index.manifests)
    assert docker.media_type == mt.DOCKER_MANIFEST_LIST


def test_set_annotations_merges_and_removes() -> None:
    a = append_layers(scratch(LINUX_AMD64), [_layer("a")])
    m = set_annotations(a.manifest, {"k": "v", "gone": "x"})
    m2 = set_annotations(m, {"gone": None})
    assert m.annotations == {"k": "v", "gone": "x"} and m2.annotations == {"k": "v"}
    assert m2.digest != a.manifest.digest and m2.layers == a.manifest.layers
    index = set_annotations(append_manifests(None, [m2.descriptor(LINUX_AMD64)]), {"i": "1"})
    assert json.loads(index.raw)["annotations"] == {"i": "1"}


def test_only_layers_are_appended() -> None:
    config = Layer(Descriptor.of(mt.OCI_CONFIG, b"{}"), MemoryBlobs(), sha256_digest(b""))
    with pytest.raises(ValueError, match="not a layer"):
        append_layers(scratch(LINUX_AMD64), [config])
    assert ImagePlatform("linux", "arm64") != LINUX_AMD64
