"""`verify` on a bare reference reads every layer of a Linux image: hostile or broken layers fail.

Each image is pushed to a real registry and verified through the CLI, exactly as a user would
(no --expect, so no base is known): refused entries, a diff_id mismatch, a truncated gzip and
decompression bombs each fail with exit 1 and a finding naming the problem.
"""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
from verify_builders import Builder, Raw, raw_tar

from e2e_images.cli import main
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.image import Image, Layer
from e2e_images.oci.models import ConfigFile, Descriptor, ImagePlatform, build_manifest
from e2e_images.oci.mutate import append_layers, scratch
from e2e_images.verify.runner import run_checks

LINUX = ImagePlatform("linux", "amd64")


def _linux_tar(*members: Raw) -> bytes:
    return raw_tar([Raw(m.name, m.kind, m.data, m.link, pax={}) for m in members], tops=False)


def _image(builder: Builder, *blobs: tuple[bytes, str]) -> Image:
    """A Linux image from (layer blob, diff_id) pairs, written as given."""
    layers = []
    for blob, diff_id in blobs:
        builder.store.add(blob)
        layers.append(Layer(Descriptor.of(mt.OCI_LAYER_GZIP, blob), builder.store, diff_id))
    image = append_layers(scratch(LINUX, source=builder.store), layers)
    builder.store.add(image.config.raw)
    return image


def _gz(tar: bytes) -> tuple[bytes, str]:
    return gzip.compress(tar, mtime=0), sha256_digest(tar)


def _verify(registry, client, image: Image, repo: str, capsys) -> tuple[int, str]:
    Builder(image.source).push(client, repo, image, "1")  # type: ignore[arg-type]
    code = main(["verify", f"{registry.host}/{repo}:1"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


GOOD = _linux_tar(Raw("bin", "dir"), Raw("bin/app", data=b"\x7fELF app"))


def test_a_clean_image_passes_and_every_layer_is_read(registry, client, capsys):
    image = _image(Builder(), _gz(GOOD), _gz(_linux_tar(Raw("etc", "dir"))))
    code, out = _verify(registry, client, image, "integrity/clean", capsys)
    assert code == 0, out
    assert "ok   " in out


@pytest.mark.parametrize(("member", "message"), [
    (Raw("../escape", data=b"x"), "../escape: refused: the name leaves the image root"),
    (Raw("/etc/abs", data=b"x"), "/etc/abs: refused: the name leaves the image root"),
    (Raw("bin/shadow", "hardlink", link="../../etc/shadow"),
     "link target ../../etc/shadow is not in the image"),
    (Raw("bin/missing", "hardlink", link="nowhere/file"),
     "link target nowhere/file is not in the image"),
])
def test_refused_entries_are_findings(registry, client, capsys, member, message):
    image = _image(Builder(), _gz(_linux_tar(Raw("bin", "dir"), member)))
    code, out = _verify(registry, client, image, "integrity/refused", capsys)
    assert code == 1, out
    assert "LAYER-ENTRY" in out and message in out, out


def test_diff_id_mismatch_is_a_finding(registry, client, capsys):
    blob, _ = _gz(GOOD)
    image = _image(Builder(), (blob, sha256_digest(b"another tar")))
    code, out = _verify(registry, client, image, "integrity/diffid", capsys)
    assert code == 1, out
    assert "LAYER-DIFFID" in out and "uncompressed tar hashes to" in out, out


def test_diff_id_count_mismatch_is_a_finding(registry, client, capsys):
    builder = Builder()
    image = _image(builder, _gz(GOOD))
    config = image.config
    # one diff_id too many: rebuild the config around the same single layer
    bad = ConfigFile.build(config.platform, config.runtime, (*config.diff_ids,
                           sha256_digest(b"extra")), config.history, config.created)
    builder.store.add(bad.raw)
    m = build_manifest(Descriptor.of(mt.OCI_CONFIG, bad.raw), image.manifest.layers)
    code, out = _verify(registry, client, Image(m, bad, builder.store), "integrity/count",
                        capsys)
    assert code == 1, out
    assert "the config lists 2 diff_ids for 1 layers" in out, out


def test_truncated_gzip_layer_fails_verify(registry, client, capsys):
    blob, diff_id = _gz(GOOD)
    image = _image(Builder(), (blob[: len(blob) - 12], diff_id))
    code, out = _verify(registry, client, image, "integrity/truncated", capsys)
    assert code == 1, out
    assert "LAYER-UNREADABLE" in out and "cannot be decompressed" in out, out


def _bomb(size: int) -> bytes:
    """A tar of one file of `size` zero bytes (gzip makes it ~1000 times smaller)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("zeros")
        info.size = size
        tar.addfile(info, io.BytesIO(bytes(size)))
    return buf.getvalue()


def test_gzip_bomb_stops_at_the_layer_limit(registry, client, capsys, monkeypatch):
    monkeypatch.setenv("E2E_IMAGES_MAX_LAYER_BYTES", "4M")
    image = _image(Builder(), _gz(_bomb(32 << 20)))
    code, out = _verify(registry, client, image, "integrity/bomb", capsys)
    assert code == 1, out
    assert "decompresses to more than 4 MiB" in out and "E2E_IMAGES_MAX_LAYER_BYTES" in out


def test_too_many_entries_stop_at_the_layer_limit(registry, client, capsys, monkeypatch):
    monkeypatch.setenv("E2E_IMAGES_MAX_LAYER_ENTRIES", "100")
    many = _linux_tar(*(Raw(f"f{i}", data=b"") for i in range(300)))
    code, out = _verify(registry, client, _image(Builder(), _gz(many)), "integrity/many",
                        capsys)
    assert code == 1, out
    assert "has more than 100 tar entries" in out, out


def test_image_limit_counts_every_layer(registry, client, capsys, monkeypatch):
    monkeypatch.setenv("E2E_IMAGES_MAX_IMAGE_BYTES", "6M")
    image = _image(Builder(), _gz(_bomb(4 << 20)), _gz(_bomb(4 << 20)))
    code, out = _verify(registry, client, image, "integrity/image", capsys)
    assert code == 1, out
    assert "the image's layers decompress to more than 6 MiB" in out, out


def test_foreign_layers_are_never_fetched():
    """A foreign layer is listed as unverified; nothing asks for it (the store has no copy,
    so any read would fail the check)."""
    builder = Builder()
    foreign = Descriptor(mt.DOCKER_FOREIGN_LAYER, sha256_digest(b"remote"), 6,
                         urls=("http://127.0.0.1:9/never",))
    blob, diff_id = _gz(GOOD)
    builder.store.add(blob)
    image = append_layers(scratch(LINUX, source=builder.store), [
        Layer(foreign, builder.store, sha256_digest(b"remote tar")),
        Layer(Descriptor.of(mt.OCI_LAYER_GZIP, blob), builder.store, diff_id)])
    report = run_checks(image)
    result = next(r for r in report.results if r.check == "layer_integrity")
    assert result.passed, result.findings
    assert result.unverified == (f"foreign layer {foreign.digest} (lives at its urls; "
                                 "not fetched)",)


def test_windows_refused_entries_are_judged_by_the_layer_rules():
    """On Windows images the entry rules are the layer lint's (W3/W5), not repeated here."""
    builder = Builder()
    image = builder.add(builder.base("ltsc2022"), raw=raw_tar([
        Raw("Files/bin", "dir"), Raw("Files/../../evil.dll", data=b"MZ"),
        Raw("Files/bin/link.dll", "hardlink", link="Files/../../Windows/x.dll")]))
    report = run_checks(image)
    assert not report.passed
    by_check = {f.check: f for f in report.findings}
    assert {"W3", "W5"} <= set(by_check), report.lines()
    assert "LAYER-ENTRY" not in by_check, report.lines()
