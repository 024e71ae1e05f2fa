"""Layers in the shapes their producers write, judged as a Windows node would.

BuildKit's shape (read from its `util/winlayers` differ), Windows' own export (go-winio
`backuptar`) and this project's writer, on a nanoserver stand-in. The importer (hcsshim
`pkg/ociwclayer/import.go`, `internal/wclayer`; go-winio `backuptar/tar.go`) tolerates a
missing fileattr (derived: 0x10 for directories, 0 otherwise), a missing security
descriptor or creation time, plain headers and `Files/`-prefixed symlink targets (used
verbatim); it refuses a whiteout outside `Files/` and a hard link whose target is missing.
So BuildKit's shape gives warnings, and errors only where the image breaks.
"""

from __future__ import annotations

import pytest
from verify_builders import (
    APPLETS,
    EPOCH,
    Builder,
    Raw,
    buildkit_tar,
    busybox_shape,
    raw_tar,
    windows_export_tar,
    with_windows_runtime,
)

from e2e_images.layers.winentries import WinEntry
from e2e_images.verify.checks.windows_layer import WindowsLayerCheck
from e2e_images.verify.runner import run_checks
from e2e_images.verify.view import ImageView


def _check(image, base_layers: int = 1):
    return WindowsLayerCheck().run(ImageView(image, base_layers=base_layers))


def _by_rule(findings, severity: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        if f.severity == severity:
            out.setdefault(f.check, set()).add(f.subject)
    return out


@pytest.fixture(scope="module")
def b() -> Builder:
    return Builder()


def test_buildkit_busybox_with_the_workaround_has_warnings_only(b):
    image = with_windows_runtime(b, b.add(b.base("ltsc2022"), raw=buildkit_tar(busybox_shape())))
    result = _check(image)
    assert result.passed and not result.errors, [f.line() for f in result.errors]
    warned = _by_rule(result.findings, "warning")
    links = {f"Files/bin/{a}.exe" for a in APPLETS}
    assert warned["W7"] == links | {"Files/bin/sh2.exe"}  # symlinks and the hardlink
    assert warned["W6"] == links  # prefixed, and resolved through bin/Files/busybox.exe
    assert "Files/bin/busybox.exe" in warned["W9"]  # `%d.%d`: 5 ns written as .5
    assert set(warned) == {"W6", "W7", "W9"}
    w6 = next(f for f in result.findings if f.check == "W6")
    assert "/bin/Files/busybox.exe" in w6.message


def test_buildkit_busybox_without_the_workaround_has_dangling_symlinks(b):
    image = with_windows_runtime(b, b.add(b.base("ltsc2022"),
                                          raw=buildkit_tar(busybox_shape(workaround=False))))
    result = _check(image)
    assert not result.passed
    errors = _by_rule(result.findings, "error")
    assert errors == {"W6": {f"Files/bin/{a}.exe" for a in APPLETS}}
    message = next(f.message for f in result.errors)
    assert "dangling symlink" in message and "/bin/Files/busybox.exe" in message


def test_windows_export_shape_passes_every_rule(b):
    shape = [("bin", "dir", ""), ("bin/busybox.exe", "file", b"MZ"),
             ("bin/ls.exe", "symlink", "busybox.exe"),
             ("bin/cat.exe", "symlink", "C:/bin/busybox.exe"),
             ("Windows", "dir", ""), ("Windows/System32", "dir", ""),
             ("Windows/System32/sh.exe", "symlink", "../../bin/busybox.exe")]
    image = b.add(b.base("ltsc2025"), raw=windows_export_tar(shape))
    result = _check(image)
    assert result.findings == (), [f.line() for f in result.findings]


def test_this_builders_shape_passes_every_rule(b):
    image = b.add(b.base("1809"), entries=[
        WinEntry.file("bin/busybox.exe", b"MZ"), WinEntry.symlink("bin/ls.exe", "busybox.exe"),
        WinEntry.hardlink("bin/sh.exe", "bin/busybox.exe"),
        WinEntry.file("Windows/System32/x.dll", b"MZ", created_ns=EPOCH * 10**9 + 5)])
    assert _check(image).findings == ()


def test_whiteout_outside_files_and_hardlink_to_nothing_are_errors(b):
    image = b.add(b.base("ltsc2022"), raw=raw_tar([
        Raw("Hives/.wh.Software_Delta"), Raw(".wh.evil"),
        Raw("Files/bin", "dir"), Raw("Files/bin/sh.exe", "hardlink", link="Files/bin/gone.exe"),
    ]))
    result = _check(image)
    errors = _by_rule(result.findings, "error")
    assert errors["W4"] == {"Hives/.wh.Software_Delta", ".wh.evil"}
    assert errors["W5"] == {"Files/bin/sh.exe"}
    assert "invalid tombstone" in next(f.message for f in result.errors if f.check == "W4")


@pytest.mark.parametrize(("pax", "severity"), [
    ({"MSWINDOWS.fileattr": "32"}, "error"),  # a directory without 0x10
    ({"MSWINDOWS.fileattr": "sixteen"}, "error"),  # the importer cannot parse it
    ({"MSWINDOWS.fileattr": "16", "LIBARCHIVE.creationtime": "yesterday"}, "error"),
    ({"MSWINDOWS.fileattr": "16", "LIBARCHIVE.creationtime": f"{EPOCH}.1234567891"},
     "warning"),
    ({}, "warning"),  # no fileattr: derived as 0x10 for a directory
])
def test_attribute_and_time_severities(b, pax, severity):
    image = b.add(b.base("ltsc2022"), raw=raw_tar([Raw("Files/d", "dir", pax=pax)]))
    found = [f for f in _check(image).findings if f.subject == "Files/d"]
    assert found and {f.severity for f in found} == {severity}, [f.line() for f in found]


def test_symlink_to_another_drive_is_an_error_and_absolute_c_resolves(b):
    image = b.add(b.base("ltsc2022"), raw=windows_export_tar([
        ("bin", "dir", ""), ("bin/x.exe", "file", b"MZ"),
        ("bin/d.exe", "symlink", "D:/x.exe"), ("bin/c.exe", "symlink", "C:/bin/x.exe")]))
    result = _check(image)
    assert {(f.check, f.subject, f.severity) for f in result.findings} == {
        ("W6", "Files/bin/d.exe", "error")}


def test_base_layers_are_told_apart_without_a_known_base(b):
    """A bare reference: the stand-in's UtilityVM/ layer is a base layer by layout, so its
    entries get the base-layer rules; the same UtilityVM/ in an added layer is a warning."""
    image = with_windows_runtime(b, b.add(b.base("ltsc2022"), raw=buildkit_tar(busybox_shape())))
    bare = _check(image, base_layers=0)
    assert bare.passed and "W3" not in {f.check for f in bare.findings}
    added_uvm = b.add(image, raw=raw_tar([Raw("UtilityVM/Files/x.sys", data=b"MZ")]))
    late = _check(added_uvm, base_layers=0)
    assert {(f.check, f.severity) for f in late.findings if f.subject.startswith("UtilityVM")} \
        == {("W3", "warning")}


def test_fast_mode_leaves_a_target_in_the_base_unverified(b):
    """Fast mode reads only the added layers: a link into the base is unverified, not
    dangling; the full view resolves it."""
    image = b.add(b.base("ltsc2022"), entries=[
        WinEntry.symlink("bin/cmd.exe", "../Windows/System32/cmd.exe")])
    fast = WindowsLayerCheck().run(ImageView(image, base_layers=1, fast=True))
    assert fast.passed and fast.unverified == ("/bin/cmd.exe",)
    full = run_checks(image)
    assert full.passed and not [p for r in full.results for p in r.unverified]
