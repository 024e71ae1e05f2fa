"""W1-W13: a good layer passes; each broken layer fails on its rule, naming the entry."""

from __future__ import annotations

import io
import tarfile

import pytest
from verify_builders import EPOCH, LINUX_PATH, Builder, Raw, raw_tar, tar_of

from e2e_images.layers.windows import build_windows_layer
from e2e_images.layers.winentries import WinEntry
from e2e_images.oci import media_types as mt
from e2e_images.oci.fs import iter_layer
from e2e_images.oci.models import ConfigFile, ImagePlatform
from e2e_images.verify.checks.root_image import BaseImage
from e2e_images.verify.checks.windows_layer import (
    WindowsLayerCheck,
    lint_config,
    lint_members,
)
from e2e_images.verify.runner import run_checks
from e2e_images.verify.view import ImageView

# ko's "O:BUG:BU" (docs/windows-layers.md, W8)
KO_SD = "AQAAgBQAAAAkAAAAAAAAAAAAAAABAgAAAAAABSAAAAAhAgAAAQIAAAAAAAUgAAAAIQIAAA=="


def _members(tar: bytes):
    return [m for m, _ in iter_layer(io.BytesIO(tar), mt.OCI_LAYER)]


def _lint(tar: bytes, **kw) -> list:
    return lint_members(_members(tar), media_type=mt.OCI_LAYER_GZIP, **kw)


def _ids(findings) -> set[str]:
    return {f.check for f in findings}


def test_a_layer_from_our_writer_passes_every_rule():
    layer = build_windows_layer([
        WinEntry.file("bin/busybox.exe", b"MZ"), WinEntry.symlink("bin/ls.exe", "busybox.exe"),
        WinEntry.hardlink("bin/sh.exe", "bin/busybox.exe"), WinEntry.whiteout("old/gone.txt"),
        WinEntry.file("Windows/System32/vcruntime140.dll", b"MZ", created_ns=EPOCH * 10**9 + 5),
    ], epoch=EPOCH)
    assert _lint(tar_of(layer)) == []


def test_symlinks_are_collected_for_w6_not_judged_per_layer():
    """W6 needs the merged image (test_layer_shapes.py): one layer's lint only lists them."""
    tar = raw_tar([Raw("Files/bin", "dir"), Raw("Files/bin/busybox.exe", data=b"MZ"),
                   Raw("Files/bin/ls.exe", "symlink", link="Files/bin/busybox.exe"),
                   Raw("Files/bin/cat.exe", "symlink", link="Files\\bin\\busybox.exe")])
    links: list = []
    found = _lint(tar, platform="windows/amd64", links=links)
    assert found == []
    assert [(x.name, x.target) for x in links] == [
        ("Files/bin/ls.exe", "Files/bin/busybox.exe"),
        ("Files/bin/cat.exe", "Files\\bin\\busybox.exe")]


def test_entry_outside_files_is_w3_and_utilityvm_only_in_base_layers():
    tar = raw_tar([Raw("bin", "dir"), Raw("bin/busybox.exe", data=b"MZ"),
                   Raw("UtilityVM/Files/x.sys", data=b"MZ"), Raw("Files/../etc", "dir"),
                   Raw("/Files/abs.txt", data=b"x")])
    found = [f for f in _lint(tar) if f.check == "W3"]
    subjects = {f.subject for f in found}
    assert {"bin", "bin/busybox.exe", "UtilityVM/Files/x.sys", "Files/../etc"} <= subjects
    assert any(f.subject == "/Files/abs.txt" for f in found)
    based = [f for f in _lint(tar, base_layer=True) if f.check == "W3"]
    assert "UtilityVM/Files/x.sys" not in {f.subject for f in based}


def test_missing_tops_bad_whiteouts_and_hardlinks():
    tar = raw_tar([Raw("Files/a", "dir"), Raw(".wh.top"), Raw("Files/a/.wh..wh..opq"),
                   Raw("Files/a/link", "hardlink", link="Files/a/nowhere"),
                   Raw("Files/a/out", "hardlink", link="Hives/x")], tops=False)
    found = _lint(tar)
    by_rule = {r: {f.subject for f in found if f.check == r} for r in _ids(found)}
    assert by_rule["W2"] == {"Files", "Hives"}
    assert by_rule["W4"] == {".wh.top", "Files/a/.wh..wh..opq"}
    assert by_rule["W5"] == {"Files/a/link", "Files/a/out"}
    # a hardlink to a file of a lower layer is fine
    assert not [f for f in _lint(tar, lower={"Files/a/nowhere"}) if f.subject == "Files/a/link"]


def test_attributes_security_descriptors_and_creation_times():
    tar = raw_tar([
        Raw("Files/d", "dir", pax={"MSWINDOWS.fileattr": "32", "MSWINDOWS.rawsd": KO_SD}),
        Raw("Files/d/a.exe", data=b"MZ", pax={"MSWINDOWS.fileattr": "32"}),
        Raw("Files/d/b.dll", data=b"MZ", pax={"MSWINDOWS.fileattr": "16",
                                             "MSWINDOWS.rawsd": "not base64!"}),
        Raw("Files/d/c.txt", data=b"x", pax={"MSWINDOWS.fileattr": "32",
                                            "LIBARCHIVE.creationtime": "1700000000.5",
                                            "mtime": "1700000000.000000005"}),
        Raw("Files/d/e.txt", data=b"x", pax={"MSWINDOWS.fileattr": "32",
                                            "LIBARCHIVE.creationtime": "17e8"}),
    ])
    found = _lint(tar)
    rules = {(f.check, f.subject) for f in found}
    assert ("W7", "Files/d") in rules and ("W7", "Files/d/b.dll") in rules
    assert ("W8", "Files/d/a.exe") in rules and ("W8", "Files/d/b.dll") in rules
    assert ("W9", "Files/d/c.txt") in rules and ("W9", "Files/d/e.txt") in rules
    assert ("W8", "Files/d") not in rules  # ko's O:BUG:BU descriptor is well formed


def test_devices_case_clashes_gnu_tars_and_media_types():
    tar = raw_tar([Raw("Files/dev", "dir"), Raw("Files/dev/null", "chr"),
                   Raw("Files/dev/pipe", "fifo"), Raw("Files/App.exe", data=b"MZ"),
                   Raw("Files/app.exe", data=b"MZ")])
    found = _lint(tar)
    assert {f.subject for f in found if f.check == "W10"} == {"Files/dev/null", "Files/dev/pipe"}
    assert {f.subject for f in found if f.check == "W11"} == {"Files/app.exe"}
    gnu = raw_tar([Raw("Files/x.txt", data=b"x", pax={})], fmt=tarfile.GNU_FORMAT)
    assert {f.check for f in _lint(gnu)} >= {"W1"}
    zstd = lint_members([], media_type=mt.OCI_LAYER_ZSTD)
    assert {f.subject for f in zstd if f.check == "W12"} == {"mediaType"}
    urls = lint_members(_members(tar_of(build_windows_layer([], epoch=EPOCH))),
                        media_type=mt.OCI_LAYER_GZIP, urls=("https://x/layer",))
    assert {f.subject for f in urls} == {"urls"}
    assert not lint_members(_members(tar_of(build_windows_layer([], epoch=EPOCH))),
                            media_type=mt.DOCKER_FOREIGN_LAYER, urls=("https://x/layer",))


def test_w13_linux_path_in_a_windows_config():
    plat = ImagePlatform("windows", "amd64", os_version="10.0.20348.2966")
    bad = ConfigFile.build(plat, {"Env": [f"PATH={LINUX_PATH}"], "Entrypoint": ["/bin/sh", "-c"]},
                           [])
    found = lint_config(bad, platform=str(plat), base_os_version="10.0.20348.2966")
    assert {f.subject for f in found} == {"Env.PATH", "Entrypoint"}
    assert "Linux PATH" in next(f.message for f in found if f.subject == "Env.PATH")
    no_version = ConfigFile.build(ImagePlatform("windows", "amd64", os_version="1809"),
                                  {"Env": ["PATH=C:\\Windows"]}, [])
    assert {f.subject for f in lint_config(no_version)} == {"os.version"}
    other = lint_config(ConfigFile.build(plat, {"Env": ["PATH=C:\\Windows"]}, []),
                        base_os_version="10.0.20348.3000")
    assert [f.subject for f in other] == ["os.version"]


def test_the_check_lints_only_added_layers_of_a_built_image():
    b = Builder()
    base = b.base("ltsc2022")
    good = b.busybox("ltsc2022")
    base_info = BaseImage("nanoserver", tuple(d.digest for d in base.manifest.layers),
                          base.config.platform.os_version)
    report = run_checks(good, base=base_info, fast=True)
    assert report.passed, report.lines()
    # the base layer carries UtilityVM/: linted as an added layer, it would be W3
    whole = WindowsLayerCheck().run(ImageView(good, base_layers=0))
    assert whole.passed  # ...unless recognised as a base layer when no base is known
    broken = b.busybox("ltsc2022", link_prefix="Files/")
    fast = run_checks(broken, base=base_info, fast=True)  # the target may be in the base
    assert fast.passed and next(r for r in fast.results if r.check == "windows_layer").unverified
    report = run_checks(broken, base=base_info)
    assert report.ids() == {"W6"}
    assert all(f.platform == "windows/amd64:10.0.20348.2966" for f in report.findings)
    linux_path = b.busybox("ltsc2022", path=LINUX_PATH)
    assert run_checks(linux_path, base=base_info).ids() == {"W13"}


def test_an_unreadable_layer_is_a_finding_not_a_crash():
    b = Builder()
    image = b.add(b.base("1809"), raw=b"not a tar at all" * 40)
    report = WindowsLayerCheck().run(ImageView(image, base_layers=1))
    assert report.findings and report.findings[0].check == "W1"


@pytest.mark.parametrize("media_type", [mt.OCI_LAYER, mt.DOCKER_LAYER_GZIP])
def test_plain_and_docker_layers_are_accepted(media_type):
    b = Builder()
    image = b.add(b.base("1809"), entries=[WinEntry.file("x.txt", b"x")], media_type=media_type)
    assert WindowsLayerCheck().run(ImageView(image, base_layers=1)).passed
