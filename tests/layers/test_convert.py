"""Linux entries in Windows form: converted directly, they give the very layer the old way
(write a Linux tar, read it back) gave, byte for byte, so digests do not move."""

from __future__ import annotations

import pytest

from e2e_images.errors import LayerError
from e2e_images.layers import layer_for
from e2e_images.layers.convert import windows_entries, windows_entries_from_linux
from e2e_images.layers.linux import FileKind, LayerEntry, write_layer
from e2e_images.layers.windows import build_windows_layer
from e2e_images.oci import media_types as mt

EPOCH = 1_700_000_000

ENTRIES = [
    LayerEntry("/bin/busybox.exe", data=b"MZ busybox", mode=0o100755, uid=1000, gid=1000),
    LayerEntry("/bin/sh.exe", FileKind.SYMLINK, mode=0o777, link="busybox.exe"),
    LayerEntry("/bin/abs.exe", FileKind.SYMLINK, link="C:\\Windows\\System32\\cmd.exe"),
    LayerEntry("/agnhost-2", FileKind.HARDLINK, link="/bin/busybox.exe"),
    LayerEntry("/deep/er/still/file.txt", data=b"implied parents"),
    LayerEntry("/var/log", FileKind.DIR, mode=0o1777),
    LayerEntry("/etc/.wh.gone", data=b""),
    LayerEntry("/twice", data=b"old"),
    LayerEntry("./twice", data=b"new"),  # a later entry for the path wins
]


@pytest.mark.parametrize("entries", [ENTRIES, ENTRIES[::-1], ENTRIES[:1], []],
                         ids=["all", "reversed", "one", "none"])
def test_direct_conversion_is_the_tar_round_trip(entries):
    via_tar = windows_entries_from_linux(write_layer(entries, epoch=EPOCH).read())
    old = build_windows_layer(via_tar, epoch=EPOCH)
    new = build_windows_layer(windows_entries(entries), epoch=EPOCH)
    assert new.read() == old.read()
    assert (new.digest, new.diff_id) == (old.digest, old.diff_id)


def test_layer_for_writes_the_os_format_with_the_manifest_media_type():
    linux = layer_for("linux", ENTRIES, epoch=EPOCH, media_type=mt.DOCKER_LAYER_GZIP)
    windows = layer_for("windows", ENTRIES, epoch=EPOCH, media_type=mt.OCI_LAYER_GZIP)
    assert linux.read() == write_layer(ENTRIES, epoch=EPOCH).read()
    assert linux.descriptor.media_type == mt.DOCKER_LAYER_GZIP
    assert windows.read() == build_windows_layer(windows_entries(ENTRIES), epoch=EPOCH).read()
    assert windows.descriptor.media_type == mt.OCI_LAYER_GZIP
    with pytest.raises(LayerError, match="no layer format for os 'plan9'"):
        layer_for("plan9", ENTRIES, epoch=EPOCH, media_type=mt.OCI_LAYER_GZIP)


def test_opaque_directories_and_escapes_are_refused_directly_too():
    with pytest.raises(LayerError, match="opaque"):
        windows_entries([LayerEntry("/etc/.wh..wh..opq")])
    with pytest.raises(LayerError, match="escapes"):
        windows_entries([LayerEntry("../x")])
