"""LayerFS: the merged view of layer tars, read without extracting anything."""

from __future__ import annotations

import io
import tarfile
import time
import tracemalloc

import pytest

from e2e_images.errors import LayerError
from e2e_images.oci import media_types as mt
from e2e_images.oci.fs import EntryType, LayerFS, iter_layer

from .conftest import (
    WINDOWS_LTSC2022,
    T,
    d,
    f,
    gz,
    hard,
    make_image,
    make_tar,
    memory_layer,
    sym,
    zst,
)

BASE = make_tar([
    d("etc"), f("etc/passwd", "root:x:0:0\n"), f("etc/hosts", "127.0.0.1 localhost\n"),
    d("bin"), f("bin/busybox", b"\x7fELF" + b"\0" * 100, mode=0o755),
    hard("bin/sh", "bin/busybox"), sym("bin/ls", "busybox"),
    d("usr"), d("usr/lib"), f("usr/lib/a.so", "a"), d("usr/lib/sub"), f("usr/lib/sub/b", "b"),
    d("var"), f("var/old", "old"),
])


def view(*tars: bytes, media_type: str = mt.OCI_LAYER_GZIP) -> LayerFS:
    return LayerFS.open(make_image(tars, media_type=media_type))


def test_single_layer_entries_and_content() -> None:
    fs = view(BASE)
    assert fs.problems == []
    assert fs.listdir("/") == ["bin", "etc", "usr", "var"]
    passwd = fs.lookup("/etc/passwd")
    assert passwd is not None
    assert (passwd.type, passwd.mode, passwd.size, passwd.layer) == (EntryType.FILE, 0o644, 11, 0)
    assert fs.read("/etc/passwd") == b"root:x:0:0\n"
    assert fs.lookup("bin/busybox").mode == 0o755  # relative paths are from the root
    sh = fs.lookup("/bin/sh")
    assert sh.type is EntryType.HARDLINK and sh.linkname == "/bin/busybox"
    assert fs.read("/bin/sh") == fs.read("/bin/busybox")
    assert fs.read("/bin/ls").startswith(b"\x7fELF")  # through the symlink
    assert [e.path for e in fs.walk("/usr")] == ["/usr/lib", "/usr/lib/a.so", "/usr/lib/sub",
                                                 "/usr/lib/sub/b"]


def test_later_layers_override_and_whiteouts_hide() -> None:
    upper = make_tar([
        d("etc"), f("etc/passwd", "root:x:0:0:new\n", mode=0o600),
        d("bin"), f("bin/.wh.ls"), d("var"), f("var/.wh.old"), f("var/new", "new"),
        f("etc/.wh.nonexistent"),
    ])
    fs = view(BASE, upper)
    assert fs.read("/etc/passwd") == b"root:x:0:0:new\n"
    assert fs.lookup("/etc/passwd").mode == 0o600 and fs.lookup("/etc/passwd").layer == 1
    assert fs.read("/etc/hosts") == b"127.0.0.1 localhost\n"  # still from layer 0
    assert not fs.exists("/bin/ls")
    assert fs.listdir("/var") == ["new"]
    assert ".wh.old" not in fs.listdir("/var")


def test_opaque_directory_keeps_only_its_own_layer() -> None:
    upper = make_tar([d("usr"), d("usr/lib"), f("usr/lib/first", "1"), f("usr/lib/.wh..wh..opq"),
                      d("usr/lib/sub"), f("usr/lib/later", "2")])
    middle = make_tar([d("usr/lib/gone"), f("usr/lib/gone/z", "z")])
    fs = view(BASE, middle, upper)
    assert fs.listdir("/usr/lib") == ["first", "later", "sub"]
    assert fs.listdir("/usr/lib/sub") == []  # the lower sub/b is hidden under the restated dir
    assert fs.read("/usr/lib/first") == b"1"


def test_whiteout_hides_only_lower_layers() -> None:
    same = make_tar([f("x", "mine"), f(".wh.x")])
    fs = view(same)
    assert fs.read("/x") == b"mine"


def test_type_changes_replace_whole_subtrees() -> None:
    upper = make_tar([f("usr", "now a file"), d("etc/passwd"), f("etc/passwd/inner", "i")])
    fs = view(BASE, upper)
    assert fs.lookup("/usr").type is EntryType.FILE
    assert fs.lookup("/usr/lib/a.so") is None
    assert fs.listdir("/etc/passwd") == ["inner"]


def test_symlinks_resolve_inside_the_root_only() -> None:
    links = make_tar([
        sym("abs", "/etc/passwd"), sym("up", "../../../../etc/passwd"), sym("loop1", "loop2"),
        sym("loop2", "loop1"), d("lib"), sym("lib/libdir", "../usr/lib"), sym("dangling", "nope"),
    ])
    fs = view(BASE, links)
    assert fs.resolve("/abs").path == "/etc/passwd"
    assert fs.read("/up") == b"root:x:0:0\n"  # `..` stops at the image root
    assert fs.resolve("/lib/libdir/sub/b").path == "/usr/lib/sub/b"
    assert fs.listdir("/lib/libdir") == ["a.so", "sub"]
    assert fs.resolve("/lib/libdir", follow_last=False).type is EntryType.SYMLINK
    assert fs.resolve("/dangling") is None and not fs.exists("/dangling")
    assert not fs.exists("/loop1")
    with pytest.raises(LayerError, match="too many levels"):
        fs.resolve("/loop1")
    with pytest.raises(LayerError, match="not a regular file"):
        fs.read("/etc")


@pytest.mark.parametrize("media_type", [mt.OCI_LAYER, mt.OCI_LAYER_GZIP, mt.OCI_LAYER_ZSTD,
                                        mt.DOCKER_LAYER_GZIP])
def test_every_compression_reads_the_same(media_type: str) -> None:
    fs = view(BASE, make_tar([f("etc/motd", "hi")]), media_type=media_type)
    assert fs.problems == []
    assert fs.read("/etc/motd") == b"hi" and fs.read("/bin/sh").startswith(b"\x7fELF")


@pytest.mark.parametrize("blob", [BASE, gz(BASE), zst(BASE)], ids=["tar", "gzip", "zstd"])
def test_unknown_media_type_is_sniffed(blob: bytes) -> None:
    fs = LayerFS.from_layers([memory_layer(blob, "application/octet-stream")])
    assert fs.read("/etc/passwd") == b"root:x:0:0\n"


def test_declared_compression_must_match_the_bytes() -> None:
    layer = memory_layer(zst(BASE), mt.OCI_LAYER_GZIP)
    with pytest.raises(LayerError, match=r"declared gzip .* bytes are zstd") as err:
        LayerFS.from_layers([layer])
    assert layer.digest in str(err.value)


def test_hostile_names_are_refused_and_reported(outside_guard) -> None:
    bad = make_tar([
        f("../etc/passwd", "pwned"), f("/abs", "abs"), f("ok/../../escape", "x"),
        T("dev/sda", tarfile.BLKTYPE), T("dev/null", tarfile.CHRTYPE), f("fine", "fine"),
        hard("hl", "../etc/passwd"), hard("hl2", "missing"),
    ])
    fs = view(BASE, bad)
    kinds = sorted((p.name, p.kind) for p in fs.problems)
    assert kinds == [("../etc/passwd", "parent-traversal"), ("/abs", "absolute-path"),
                     ("dev/null", "device"), ("dev/sda", "device"),
                     ("hl", "hardlink-target"), ("hl2", "hardlink-target"),
                     ("ok/../../escape", "parent-traversal")]
    assert all(p.layer == 1 and p.digest == fs.layers[1].digest for p in fs.problems)
    assert fs.read("/etc/passwd") == b"root:x:0:0\n"
    assert fs.lookup("/abs") is None and fs.lookup("/escape") is None
    assert fs.read("/fine") == b"fine"


def _member(name: str, data: bytes, size: int | None = None) -> bytes:
    """One raw tar member (header + padded body), no end-of-archive blocks."""
    ti = tarfile.TarInfo(name)
    ti.size = len(data) if size is None else size
    return ti.tobuf(tarfile.PAX_FORMAT) + data + b"\0" * (-len(data) % 512)


def _absurd_tar() -> bytes:
    """A member whose header claims 10 GiB followed by almost nothing."""
    return _member("before", b"ok") + _member("huge", b"A" * 700, size=10 << 30)


@pytest.mark.parametrize("media_type", [mt.OCI_LAYER, mt.OCI_LAYER_GZIP, mt.OCI_LAYER_ZSTD])
def test_header_claiming_10gb_without_body_is_flagged(media_type: str) -> None:
    started = time.monotonic()
    fs = view(_absurd_tar(), media_type=media_type)
    assert time.monotonic() - started < 5
    assert [(p.name, p.kind) for p in fs.problems] == [("huge", "truncated")]
    assert "10737418240" in fs.problems[0].message
    assert fs.read("/before") == b"ok"
    with pytest.raises(LayerError, match="ends before"):
        fs.read("/huge")


def test_iter_layer_raises_on_truncation_without_a_problem_list() -> None:
    with pytest.raises(LayerError, match="huge"):
        list(iter_layer(io.BytesIO(_absurd_tar()), mt.OCI_LAYER))


@pytest.mark.parametrize("media_type,blob", [(mt.OCI_LAYER_GZIP, gz(BASE)),
                                             (mt.OCI_LAYER_ZSTD, zst(BASE))])
def test_truncated_compressed_stream_is_a_clear_error(media_type: str, blob: bytes) -> None:
    layer = memory_layer(blob[: len(blob) // 2], media_type)
    with pytest.raises(LayerError) as err:
        LayerFS.from_layers([layer])
    assert layer.digest in str(err.value)
    assert "truncated" in str(err.value)


def test_digest_and_diff_id_are_verified() -> None:
    image = make_image([BASE])
    good = image.layers()[0]
    blob = good.read()
    wrong_digest = memory_layer(blob, mt.OCI_LAYER_GZIP)
    wrong_digest.source._blobs[wrong_digest.digest] = gz(make_tar([f("x")]))  # swap the bytes
    with pytest.raises(LayerError, match="is corrupt"):
        LayerFS.from_layers([wrong_digest])
    fs = LayerFS(image.layers(), diff_ids=["sha256:" + "0" * 64])
    assert [p.kind for p in fs.problems] == ["diff-id-mismatch"]


def test_garbage_after_a_member_is_reported() -> None:
    tar = _member("a", b"a") + b"\x01garbage" * 64 + b"\0" * 1024
    fs = view(tar, media_type=mt.OCI_LAYER)
    assert fs.read("/a") == b"a"
    assert [p.kind for p in fs.problems] == ["bad-header"]


@pytest.mark.parametrize("blob", [b"", make_tar([]), gz(b""), gz(make_tar([]))])
def test_empty_layers(blob: bytes) -> None:
    fs = LayerFS.from_layers([memory_layer(blob, "application/octet-stream")])
    assert fs.listdir("/") == [] and fs.problems == []


def test_not_a_tar_is_an_error() -> None:
    with pytest.raises(LayerError, match="not a tar archive"):
        LayerFS.from_layers([memory_layer(b"hello world, not a tar" * 40, mt.OCI_LAYER)])


def test_iter_layer_streams_bodies_in_order() -> None:
    seen = {}
    readers = []
    for member, body in iter_layer(io.BytesIO(gz(BASE)), mt.OCI_LAYER_GZIP):
        if body is not None:
            readers.append(body)
            if member.name != "etc/passwd":
                seen[member.name] = body.read(3) + body.read()
    assert seen["etc/hosts"] == b"127.0.0.1 localhost\n"
    assert seen["usr/lib/sub/b"] == b"b"
    with pytest.raises(LayerError, match="moved on"):
        readers[0].read()  # the stream has gone past it


def test_building_the_view_does_not_hold_file_contents() -> None:
    big = bytes(range(256)) * (48 << 12)  # 48 MiB, poorly compressible pattern x repeat
    tar = make_tar([f("big", big), f("small", "s")])
    image = make_image([tar])
    tracemalloc.start()
    try:
        fs = LayerFS.open(image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak} bytes while indexing a 48 MiB layer"
    assert fs.lookup("/big").size == len(big)
    assert fs.read("/big") == big and fs.read("/small") == b"s"


def test_windows_layer_is_seen_through_files() -> None:
    attrs = {"MSWINDOWS.fileattr": "32", "MSWINDOWS.rawsd": "AQAAgBQAAAAkAAAAAAAAAAAAAAAB"}
    dir_attrs = {"MSWINDOWS.fileattr": "16"}
    tar = make_tar([
        d("Files", pax=dir_attrs), d("Hives", pax=dir_attrs), f("Hives/Software_Delta", "reg"),
        d("Files/Windows", pax=dir_attrs), d("Files/Windows/System32", pax=dir_attrs),
        f("Files/Windows/System32/x.dll", "MZ dll", pax=attrs),
        hard("Files/Windows/System32/y.dll", "Files/Windows/System32/x.dll", pax=attrs),
        sym("Files/Windows/link.dll", "C:\\Windows\\System32\\x.dll"),
        sym("Files/rel", "Windows\\System32"),
    ])
    upper = make_tar([d("Files"), d("Hives"), d("Files/Windows/System32"),
                      f("Files/Windows/System32/.wh.y.dll"), f("Files/app.exe", "MZ app")])
    image = make_image([tar, upper], platform=WINDOWS_LTSC2022)
    fs = LayerFS.open(image)
    assert fs.windows and fs.problems == []
    assert fs.listdir("/") == ["Windows", "app.exe", "rel"]
    dll = fs.lookup("/Windows/System32/x.dll")
    assert dll.pax["MSWINDOWS.fileattr"] == "32"
    assert fs.read("/Windows/System32/x.dll") == b"MZ dll"
    assert fs.lookup("/Windows/System32/y.dll") is None  # whited out by the upper layer
    assert fs.lookup("/Windows/link.dll").linkname == "C:\\Windows\\System32\\x.dll"  # verbatim
    assert fs.read("/Windows/link.dll") == b"MZ dll"
    assert fs.listdir("/rel") == ["x.dll"]
    raw = fs.raw_entries(0)
    assert [m.name for m in raw][:3] == ["Files", "Hives", "Hives/Software_Delta"]
    hl = next(m for m in raw if m.type is EntryType.HARDLINK)
    assert hl.linkname == "Files/Windows/System32/x.dll"
    assert raw[0].pax["MSWINDOWS.fileattr"] == "16"


def test_windows_hardlink_outside_files_is_refused() -> None:
    tar = make_tar([d("Files"), d("Hives"), f("Hives/h", "x"), hard("Files/h", "Hives/h")])
    fs = LayerFS.open(make_image([tar], platform=WINDOWS_LTSC2022))
    assert [(p.name, p.kind) for p in fs.problems] == [("Files/h", "hardlink-target")]


def test_children_of_a_non_directory_are_refused() -> None:
    upper = make_tar([f("etc/passwd/inside", "x"), sym("bin/ls/deeper", "y")])
    fs = view(BASE, upper)
    assert [(p.name, p.kind) for p in fs.problems] == [("etc/passwd/inside", "not-a-directory"),
                                                       ("bin/ls/deeper", "not-a-directory")]
    assert fs.read("/etc/passwd") == b"root:x:0:0\n"


def test_hostile_nesting_depth_does_not_crash() -> None:
    deep = "/".join(["d"] * 3000)
    fs = view(make_tar([f(deep + "/leaf", "deep")]))
    assert fs.read("/" + deep + "/leaf") == b"deep"
    assert len(list(fs.walk())) == 3001
    assert fs.problems == []
