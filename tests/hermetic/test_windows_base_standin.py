"""Windows base stand-ins built locally: the release table, file sets and the size knob."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import pytest

from e2e_images.hermetic import StandinError
from e2e_images.hermetic.images import BlobStore
from e2e_images.hermetic.windows_base import (
    WINDOWS_BASES,
    WindowsBase,
    base_entries,
    build_windows_base,
)
from e2e_images.layers.winentries import WinEntry
from e2e_images.platforms import windows_release


def test_release_table_matches_platforms() -> None:
    for base in WINDOWS_BASES:
        prefix = windows_release(base.release).os_version_prefix
        major, minor, build, revision = base.os_version.split(".")
        assert f"{major}.{minor}.{build}" == prefix and revision.isdigit()
        for tag in base.tags:
            assert windows_release(tag).build == int(build)
    assert {t for b in WINDOWS_BASES for t in b.tags} == {"1809", "ltsc2019", "ltsc2022",
                                                          "ltsc2025"}


def test_mismatched_os_version_refused() -> None:
    with pytest.raises(StandinError, match="not a Windows Server 2022 version"):
        build_windows_base(BlobStore(), "nanoserver", WindowsBase("ltsc2022", ("x",), "10.0.1.2"))
    with pytest.raises(StandinError, match="flavor"):
        base_entries("nano", WINDOWS_BASES[0])


def paths(entries: list[WinEntry]) -> set[str]:
    return {e.path for e in entries if e.area == "Files"}


def test_pe_files_look_like_pe_and_say_stand_in() -> None:
    for e in base_entries("servercore", WINDOWS_BASES[1]):
        if e.path.endswith((".exe", ".dll")):
            assert isinstance(e.data, bytes)
            assert e.data.startswith(b"MZ") and b"E2E-IMAGES STAND-IN" in e.data


def test_filled_base_streams_to_a_file(tmp_path: Path) -> None:
    size = 24 << 20
    store = BlobStore()
    _, image = build_windows_base(store, "nanoserver", WINDOWS_BASES[1], filler_bytes=size,
                                  workdir=tmp_path / "a")
    (layer,) = image.manifest.layers
    files = list((tmp_path / "a").iterdir())
    assert len(files) == 1 and files[0].stat().st_size == layer.size
    assert layer.size > size  # random filler does not compress
    with gzip.open(files[0]) as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
        sizes = {m.name: m.size for m in tar}
    assert sizes["Files/Windows/System32/stand-in-filler.bin"] == size
    _, again = build_windows_base(BlobStore(), "nanoserver", WINDOWS_BASES[1],
                                  filler_bytes=size, workdir=tmp_path / "b")
    assert again.manifest.digest == image.manifest.digest
    with pytest.raises(StandinError, match="workdir"):
        build_windows_base(BlobStore(), "nanoserver", WINDOWS_BASES[1], filler_bytes=1)
