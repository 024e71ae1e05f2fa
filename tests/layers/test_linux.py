from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from e2e_images.errors import LayerError
from e2e_images.layers.linux import FileKind, LayerEntry, write_layer
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.image import Layer

EPOCH = 1_700_000_000


def tar_of(layer: Layer) -> bytes:
    return gzip.decompress(layer.read())


def members(layer: Layer) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tar_of(layer))) as tar:
        return tar.getmembers()


def test_entries_sorted_with_parents_and_fixed_times():
    layer = write_layer([LayerEntry("/usr/bin/tool", data=b"x", mode=0o755),
                         LayerEntry("/agnhost-2", FileKind.SYMLINK, mode=0o777, link="agnhost"),
                         LayerEntry("/a/hard", FileKind.HARDLINK, link="/usr/bin/tool")],
                        epoch=EPOCH)
    ms = members(layer)
    assert [m.name for m in ms] == ["a", "a/hard", "agnhost-2", "usr", "usr/bin", "usr/bin/tool"]
    assert {m.mtime for m in ms} == {EPOCH}
    by = {m.name: m for m in ms}
    assert by["usr"].isdir() and by["usr"].mode == 0o755
    assert by["agnhost-2"].issym() and by["agnhost-2"].linkname == "agnhost"
    assert by["a/hard"].islnk() and by["a/hard"].linkname == "usr/bin/tool"
    tool = by["usr/bin/tool"]
    assert (tool.mode, tool.uid, tool.gid) == (0o755, 0, 0)


def test_parent_dirs_keep_the_base_owner_and_mode():
    layer = write_layer([LayerEntry("/tmp/x")], epoch=EPOCH, parent_dirs={"tmp": (0o1777, 0, 0)})
    assert {m.name: m.mode for m in members(layer)}["tmp"] == 0o1777


def test_deterministic_and_digests_consistent():
    entries = [LayerEntry("/b", data=b"2"), LayerEntry("/a", data=b"1")]
    one, two = write_layer(entries, epoch=EPOCH), write_layer(entries[::-1], epoch=EPOCH)
    assert one.read() == two.read()
    assert one.diff_id == sha256_digest(tar_of(one))
    assert one.descriptor.digest == sha256_digest(one.read())
    assert one.read()[4:8] == b"\0\0\0\0"  # gzip mtime 0
    assert write_layer(entries, epoch=EPOCH + 1).diff_id != one.diff_id


def test_later_entry_for_a_path_wins():
    layer = write_layer([LayerEntry("/f", data=b"old"), LayerEntry("/f", data=b"new")],
                        epoch=EPOCH)
    with tarfile.open(fileobj=io.BytesIO(tar_of(layer))) as tar:
        assert tar.extractfile("f").read() == b"new"


def test_escaping_path_is_refused():
    with pytest.raises(LayerError, match="escapes"):
        write_layer([LayerEntry("../../etc/passwd")], epoch=EPOCH)
