"""The Windows layer writer, checked rule by rule (W1-W11) by reading its tar back."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import random
import struct
import tarfile

import pytest

from e2e_images.errors import LayerError
from e2e_images.layers.convert import windows_entries_from_linux
from e2e_images.layers.security import DIR_SECURITY_DESCRIPTOR, FILE_SECURITY_DESCRIPTOR
from e2e_images.layers.windows import build_windows_layer, format_creation_time, layer_names
from e2e_images.layers.winentries import HIVES, UTILITY_VM, StreamContent, WinEntry
from e2e_images.oci.image import Layer

EPOCH = 1_700_000_000
KO_FILE_SD = "AQAAgBQAAAAkAAAAAAAAAAAAAAABAgAAAAAABSAAAAAhAgAAAQIAAAAAAAUgAAAAIQIAAA=="


def busybox_entries() -> list[WinEntry]:
    return [
        WinEntry.file("bin/busybox.exe", b"MZ busybox"),
        WinEntry.symlink("bin/sh.exe", "busybox.exe"),
        WinEntry.symlink("bin/cmd-link.exe", "C:\\Windows\\System32\\cmd.exe"),
        WinEntry.file("agnhost", b"MZ agnhost", created_ns=EPOCH * 10**9 + 5),
        WinEntry.hardlink("agnhost-2", "agnhost"),
        WinEntry.file("Windows/System32/vcruntime140.dll", b"MZ vc"),
        WinEntry.whiteout("Windows/System32/old.dll"),
    ]


def tar_of(layer: Layer) -> bytes:
    return gzip.decompress(layer.read())


def members(layer: Layer) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tar_of(layer))) as tar:
        return tar.getmembers()


def by_name(layer: Layer) -> dict[str, tarfile.TarInfo]:
    return {m.name: m for m in members(layer)}


def raw_headers(tar: bytes) -> list[tuple[bytes, str]]:
    """(typeflag, name) of every 512-byte header block, walking sizes ourselves."""
    out, pos = [], 0
    while pos + 512 <= len(tar):
        block = tar[pos:pos + 512]
        if block == b"\0" * 512:
            break
        name = block[:100].rstrip(b"\0").decode()
        size = int(block[124:136].rstrip(b"\0 ") or b"0", 8)
        out.append((block[156:157], name))
        pos += 512 + (size + 511) // 512 * 512
    return out


@pytest.fixture(scope="module")
def layer() -> Layer:
    return build_windows_layer(busybox_entries(), epoch=EPOCH)


def test_w1_every_member_has_a_pax_header(layer: Layer) -> None:
    flags = [flag for flag, _ in raw_headers(tar_of(layer))]
    assert flags[0] == b"x"
    # each member is preceded by its own extended header: x, member, x, member, ...
    assert flags[0::2] == [b"x"] * (len(flags) // 2)
    assert set(flags[1::2]) <= {b"0", b"1", b"2", b"5"}
    assert all(m.pax_headers for m in members(layer))


def test_w2_files_and_hives_come_first(layer: Layer) -> None:
    ms = members(layer)
    assert [(m.name, m.isdir()) for m in ms[:2]] == [("Files", True), ("Hives", True)]
    # as hcsshim and BuildKit write them: no trailing slash on directory names
    dirs = [name for flag, name in raw_headers(tar_of(layer)) if flag == b"5"]
    assert dirs[:2] == ["Files", "Hives"] and not any(d.endswith("/") for d in dirs)


def test_w3_everything_else_under_files(layer: Layer) -> None:
    for m in members(layer)[2:]:
        assert m.name.startswith("Files/"), m.name
        assert "\\" not in m.name and ".." not in m.name.split("/")


def test_w3_base_layer_areas() -> None:
    entries = [WinEntry.file("Windows/System32/cmd.exe", b"MZ"),
               WinEntry.file("System_Delta", b"hive", area=HIVES),
               WinEntry.file("EFI/Microsoft/Boot/bcd", b"bcd", area=UTILITY_VM)]
    names = layer_names(entries, base_layer=True)
    assert names[:4] == ["Files", "Hives", "UtilityVM", "UtilityVM/Files"]
    assert "Hives/System_Delta" in names
    assert "UtilityVM/Files/EFI/Microsoft/Boot/bcd" in names
    with pytest.raises(LayerError, match="base layers only"):
        layer_names(entries)


@pytest.mark.parametrize("path", ["/bin/x.exe", "C:\\bin\\x.exe", "bin\\x.exe", "a/../b",
                                  "a//b", "./a", "C:/x"])
def test_w3_bad_paths_rejected(path: str) -> None:
    with pytest.raises(LayerError):
        build_windows_layer([WinEntry.file(path, b"x")], epoch=EPOCH)


def test_w4_whiteout_name(layer: Layer) -> None:
    m = by_name(layer)["Files/Windows/System32/.wh.old.dll"]
    assert m.isfile() and m.size == 0
    with pytest.raises(LayerError, match="whiteout"):
        build_windows_layer([WinEntry.file("a/.wh.b", b"")], epoch=EPOCH)


def test_w5_hardlink_name_and_target_prefixed(layer: Layer) -> None:
    m = by_name(layer)["Files/agnhost-2"]
    assert m.islnk() and m.linkname == "Files/agnhost"


def test_w5_hardlink_written_after_its_target() -> None:
    # sorted order alone would put "a-link" before "z/target"
    names = layer_names([WinEntry.file("z/target", b"x"), WinEntry.hardlink("a-link", "z/target")])
    assert names.index("Files/z/target") < names.index("Files/a-link")
    with pytest.raises(LayerError, match="target is a dir"):
        layer_names([WinEntry.directory("d"), WinEntry.hardlink("l", "d")])


def test_w6_symlink_targets_verbatim(layer: Layer) -> None:
    ms = by_name(layer)
    assert ms["Files/bin/sh.exe"].issym()
    assert ms["Files/bin/sh.exe"].linkname == "busybox.exe"
    assert ms["Files/bin/cmd-link.exe"].linkname == "C:\\Windows\\System32\\cmd.exe"
    with pytest.raises(LayerError, match="W6"):
        build_windows_layer([WinEntry.symlink("x", "Files/bin/busybox.exe")], epoch=EPOCH)


def test_w7_file_attributes(layer: Layer) -> None:
    for m in members(layer):
        assert m.pax_headers["MSWINDOWS.fileattr"] == ("16" if m.isdir() else "32"), m.name


def _sd_parts(b64: str) -> tuple[int, bytes, bytes, bytes | None]:
    raw = base64.b64decode(b64)
    rev, _, control, o_owner, o_group, o_sacl, o_dacl = struct.unpack_from("<BBHIIII", raw)
    assert rev == 1 and control & 0x8000 and o_sacl == 0

    def sid(off: int) -> bytes:
        return raw[off:off + 8 + 4 * raw[off + 1]]

    dacl = None
    if o_dacl:
        size = struct.unpack_from("<H", raw, o_dacl + 2)[0]
        dacl = raw[o_dacl:o_dacl + size]
    return control, sid(o_owner), sid(o_group), dacl


def test_w8_security_descriptors(layer: Layer) -> None:
    assert FILE_SECURITY_DESCRIPTOR == KO_FILE_SD  # O:BUG:BU, as ko writes it
    users = struct.pack("<BB", 1, 2) + (5).to_bytes(6, "big") + struct.pack("<II", 32, 545)
    control, owner, group, dacl = _sd_parts(DIR_SECURITY_DESCRIPTOR)
    assert owner == users and group == users and control & 0x0004
    assert dacl is not None
    _, _, _, count, _ = struct.unpack_from("<BBHHH", dacl)
    assert count == 3
    for m in members(layer):
        want = DIR_SECURITY_DESCRIPTOR if m.isdir() else FILE_SECURITY_DESCRIPTOR
        assert m.pax_headers["MSWINDOWS.rawsd"] == want, m.name


@pytest.mark.parametrize(("ns", "text"), [
    (5, "0.000000005"),
    (1_700_000_000 * 10**9 + 5, "1700000000.000000005"),
    (1_500_000_000, "1.5"),
    (1_700_000_000 * 10**9, "1700000000"),
    (123_456_789, "0.123456789"),
])
def test_w9_creation_time_format(ns: int, text: str) -> None:
    assert format_creation_time(ns) == text


def test_w9_creation_time_in_layer(layer: Layer) -> None:
    ms = by_name(layer)
    assert ms["Files/agnhost"].pax_headers["LIBARCHIVE.creationtime"] == "1700000000.000000005"
    assert ms["Files"].pax_headers["LIBARCHIVE.creationtime"] == str(EPOCH)
    assert all(m.mtime == EPOCH for m in ms.values())


def _linux_tar(add: list[tuple[tarfile.TarInfo, bytes]]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in add:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    buf.seek(0)
    return buf


def _ti(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o755
    return info


def test_w10_linux_entries_convert_and_devices_are_refused() -> None:
    src = _linux_tar([(_ti("bin", tarfile.DIRTYPE), b""), (_ti("bin/busybox.exe"), b"MZ"),
                      (_ti("bin/sh.exe", tarfile.SYMTYPE, "busybox.exe"), b""),
                      (_ti("bin/bb2.exe", tarfile.LNKTYPE, "bin/busybox.exe"), b""),
                      (_ti("etc/.wh.gone"), b"")])
    layer = build_windows_layer(windows_entries_from_linux(src), epoch=EPOCH)
    ms = by_name(layer)
    assert ms["Files/bin/sh.exe"].linkname == "busybox.exe"
    assert ms["Files/bin/bb2.exe"].linkname == "Files/bin/busybox.exe"
    assert "Files/etc/.wh.gone" in ms
    assert {flag for flag, _ in raw_headers(tar_of(layer))} <= {b"x", b"0", b"1", b"2", b"5"}
    fifo = _linux_tar([(_ti("run/pipe", tarfile.FIFOTYPE), b"")])
    with pytest.raises(LayerError, match="W10"):
        windows_entries_from_linux(fifo)


def test_w11_case_clash_rejected() -> None:
    with pytest.raises(LayerError, match=r"differ only by case \(W11\)") as err:
        build_windows_layer([WinEntry.file("Windows/System32/cmd.exe", b"a"),
                             WinEntry.file("windows/system32/CMD.exe", b"b")], epoch=EPOCH)
    assert "Files/Windows" in str(err.value) and "Files/windows" in str(err.value)


def test_implicit_parents_in_sorted_order() -> None:
    names = layer_names([WinEntry.file("b/y/z.dll", b""), WinEntry.file("a/x.exe", b""),
                         WinEntry.file("b/a.txt", b"")])
    assert names == ["Files", "Hives", "Files/a", "Files/a/x.exe", "Files/b", "Files/b/a.txt",
                     "Files/b/y", "Files/b/y/z.dll"]


def test_duplicates_and_file_parents_rejected() -> None:
    with pytest.raises(LayerError, match="twice"):
        layer_names([WinEntry.file("a", b""), WinEntry.file("a", b"")])
    with pytest.raises(LayerError, match="needs it to be a directory"):
        layer_names([WinEntry.file("a", b""), WinEntry.file("a/b", b"")])


def test_deterministic_and_order_independent() -> None:
    entries = busybox_entries()
    first = build_windows_layer(entries, epoch=EPOCH)
    shuffled = list(entries)
    random.Random(7).shuffle(shuffled)
    second = build_windows_layer(shuffled, epoch=EPOCH)
    assert first.read() == second.read()
    assert (first.descriptor, first.diff_id) == (second.descriptor, second.diff_id)
    assert build_windows_layer(entries, epoch=EPOCH + 1).digest != first.digest


def test_digests_and_gzip_header(layer: Layer) -> None:
    compressed = layer.read()
    assert layer.diff_id == "sha256:" + hashlib.sha256(tar_of(layer)).hexdigest()
    assert layer.digest == "sha256:" + hashlib.sha256(compressed).hexdigest()
    assert layer.descriptor.size == len(compressed)
    flags, mtime = compressed[3], compressed[4:8]
    assert flags & 0x08 == 0  # no FNAME
    assert mtime == b"\0\0\0\0"


def test_stream_content_written_exactly() -> None:
    pieces = [b"a" * 70_001, b"b" * 3, b"c" * 1_300_000]
    size = sum(map(len, pieces))
    content = StreamContent(size, lambda: iter(pieces))
    layer = build_windows_layer([WinEntry.file("big.bin", content)], epoch=EPOCH)
    with tarfile.open(fileobj=io.BytesIO(tar_of(layer))) as tar:
        f = tar.extractfile("Files/big.bin")
        assert f is not None and f.read() == b"".join(pieces)
    for wrong in (size + 1, size - 1):
        with pytest.raises(LayerError, match="declared"):
            build_windows_layer([WinEntry.file("big.bin", StreamContent(wrong,
                                                                        lambda: iter(pieces)))],
                                epoch=EPOCH)


def test_epoch_must_be_integer_seconds() -> None:
    with pytest.raises(LayerError, match="epoch"):
        build_windows_layer([], epoch=1.5)  # type: ignore[arg-type]


def test_linux_layer_writer_output_converts() -> None:
    from e2e_images.layers.linux import FileKind, LayerEntry, write_layer

    linux = write_layer([LayerEntry("/bin/busybox.exe", data=b"MZ", mode=0o755),
                         LayerEntry("/bin/sh.exe", FileKind.SYMLINK, link="busybox.exe"),
                         LayerEntry("/agnhost-2", FileKind.HARDLINK, link="/bin/busybox.exe")],
                        epoch=EPOCH)
    for source in (tar_of(linux), io.BytesIO(linux.read())):
        ms = by_name(build_windows_layer(windows_entries_from_linux(source), epoch=EPOCH))
        assert ms["Files/bin/sh.exe"].linkname == "busybox.exe"
        assert ms["Files/agnhost-2"].linkname == "Files/bin/busybox.exe"
        assert ms["Files/bin"].isdir()
