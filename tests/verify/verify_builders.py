"""Build good and deliberately broken images for the verification tests.

Good Windows layers come from the project's writer (`layers.windows`); broken ones are
written here as raw tars, since the writer refuses them (a `Files/`-prefixed symlink, an entry
outside `Files/`...). Bases are the hermetic nanoserver/servercore stand-ins.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from e2e_images.hermetic.images import BlobStore
from e2e_images.hermetic.windows_base import WINDOWS_BASES, build_windows_base
from e2e_images.layers.linux import LayerEntry, write_layer
from e2e_images.layers.security import DIR_SECURITY_DESCRIPTOR, FILE_SECURITY_DESCRIPTOR
from e2e_images.layers.windows import build_windows_layer
from e2e_images.layers.winentries import WinEntry
from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.image import Image, Layer
from e2e_images.oci.models import Descriptor, ImagePlatform, Index, build_index
from e2e_images.oci.mutate import append_layers, scratch, with_runtime
from e2e_images.registry.client import RegistryClient

EPOCH = 1_700_000_000
RELEASES = {b.release: b for b in WINDOWS_BASES}
OS_VERSIONS = {b.release: b.os_version for b in WINDOWS_BASES}
WINDOWS_PATH = "C:\\bin;C:\\Windows\\System32;C:\\Windows;"
LINUX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
APPLETS = ("ls", "cat", "sh", "wget")


def tar_of(layer: Layer) -> bytes:
    """The uncompressed tar of a layer our writers made (they gzip)."""
    return gzip.decompress(layer.read())


def fake_go_pe(version: str = "1.0", machine: int = 0x8664) -> bytes:
    """The start of a PE32+ for `machine` (COFF header, then the optional header's magic) with
    a Go build-info block and a version string."""
    header = bytearray(0x40)
    header[:2] = b"MZ"
    header[0x3C:0x40] = struct.pack("<I", 0x40)
    coff = struct.pack("<H", machine) + b"\0" * 18  # machine, then 18 bytes to the opt. header
    return bytes(header) + b"PE\0\0" + coff + struct.pack("<H", 0x20B) + \
        b"\xff Go buildinf:" + b"\0" * 16 + f"main.Version={version}".encode()


def fake_go_elf(version: str = "1.0", machine: int = 62, little: bool = True) -> bytes:
    ident = b"\x7fELF" + bytes([2, 1 if little else 2, 1]) + b"\0" * 9
    body = struct.pack("<HH" if little else ">HH", 2, machine)
    return ident + body + b"\0" * 44 + b"\xff Go buildinf:" + version.encode()


@dataclass(frozen=True, slots=True)
class Raw:
    """A tar member written exactly as given (for layers the writer would refuse)."""

    name: str
    kind: str = "file"  # file, dir, symlink, hardlink, fifo, chr
    data: bytes = b""
    link: str = ""
    pax: Mapping[str, str] | None = None  # None: the usual Windows records

    def info(self) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(self.name)
        ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                   "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE,
                   "chr": tarfile.CHRTYPE}[self.kind]
        ti.linkname, ti.size, ti.mtime = self.link, len(self.data), EPOCH
        ti.mode = 0o755 if self.kind == "dir" else 0o644
        is_dir = self.kind == "dir"
        ti.pax_headers = dict(self.pax) if self.pax is not None else {
            "MSWINDOWS.fileattr": "16" if is_dir else "32",
            "MSWINDOWS.rawsd": DIR_SECURITY_DESCRIPTOR if is_dir else FILE_SECURITY_DESCRIPTOR,
            "LIBARCHIVE.creationtime": str(EPOCH)}
        return ti


def raw_tar(members: Iterable[Raw], *, tops: bool = True, fmt: int = tarfile.PAX_FORMAT
            ) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for m in ([Raw("Files", "dir"), Raw("Hives", "dir")] if tops else []) + list(members):
            tar.addfile(m.info(), io.BytesIO(m.data) if m.kind == "file" else None)
    return buf.getvalue()


@dataclass
class Builder:
    """Images built in memory (a BlobStore is their BlobSource), pushed on demand."""

    store: BlobStore = field(default_factory=BlobStore)

    def base(self, release: str, flavor: str = "nanoserver") -> Image:
        return build_windows_base(self.store, flavor, RELEASES[release])[1]

    def scratch(self, platform: ImagePlatform) -> Image:
        image = scratch(platform, source=self.store)
        self.store.add(image.config.raw)
        return image

    def _layer(self, tar: bytes, media_type: str = mt.OCI_LAYER_GZIP) -> Layer:
        blob = gzip.compress(tar, mtime=0) if media_type.endswith("gzip") else tar
        self.store.add(blob)
        return Layer(Descriptor.of(media_type, blob), self.store, sha256_digest(tar))

    def add(self, image: Image, *, entries: Sequence[WinEntry] = (),
            raw: bytes | None = None, linux: Sequence[LayerEntry] = (),
            runtime: Mapping[str, Any] | None = None,
            media_type: str = mt.OCI_LAYER_GZIP) -> Image:
        layers = []
        if entries:
            layers.append(self._layer(tar_of(build_windows_layer(entries, epoch=EPOCH)),
                                      media_type))
        if raw is not None:
            layers.append(self._layer(raw, media_type))
        if linux:
            layers.append(self._layer(tar_of(write_layer(linux, epoch=EPOCH)), media_type))
        if layers:
            image = append_layers(image, layers)
        if runtime:
            image = with_runtime(image, runtime)
        self.store.add(image.config.raw)
        self.store.add(image.manifest.raw)
        return image

    def busybox(self, release: str, *, flavor: str = "nanoserver", link_prefix: str = "",
                vcruntime: bool = True, path: str = WINDOWS_PATH) -> Image:
        """A small busybox-for-Windows: applet links, vcruntime, a Go hostname.exe."""
        entries = [WinEntry.file("bin/busybox.exe", b"MZ busybox"),
                   WinEntry.file("bin/hostname.exe", fake_go_pe("1.36.1-1"))]
        if vcruntime:
            entries.append(WinEntry.file("Windows/System32/vcruntime140.dll", b"MZ vc"))
        image = self.add(self.base(release, flavor), entries=entries)
        if link_prefix:  # BuildKit's way: Files/ prepended to every link target
            raw = raw_tar([Raw("Files/bin", "dir")] + [
                Raw(f"Files/bin/{a}.exe", "symlink", link=f"{link_prefix}busybox.exe")
                for a in APPLETS])
            image = self.add(image, raw=raw)
        else:
            image = self.add(image, entries=[WinEntry.symlink(f"bin/{a}.exe", "busybox.exe")
                                             for a in APPLETS])
        return self.add(image, runtime={"Env": [f"PATH={path}"],
                                        "Entrypoint": ["cmd.exe", "/s", "/c"],
                                        "User": "ContainerAdministrator"})

    def push(self, client: RegistryClient, repo: str, image: Image, tag: str | None = None
             ) -> Descriptor:
        for d in (image.manifest.config, *image.manifest.layers):
            client.push_blob(repo, self.store.open_blob(d.digest).read(), digest=d.digest)
        m = image.manifest
        client.put_manifest(repo, tag or m.digest, m.raw, m.media_type)
        return m.descriptor(image.config.platform)


def push_index(client: RegistryClient, repo: str, entries: Sequence[Descriptor], tag: str
               ) -> Index:
    index = build_index(list(entries))
    client.put_manifest(repo, tag, index.raw, index.media_type)
    return index


def entry(desc: Descriptor, **platform: str) -> Descriptor:
    """The same child with its index platform rewritten (os_version=..., variant=...)."""
    p = desc.platform or ImagePlatform("", "")
    new = ImagePlatform(platform.get("os", p.os), platform.get("architecture", p.architecture),
                        platform.get("variant", p.variant),
                        platform.get("os_version", p.os_version), p.os_features)
    return Descriptor(desc.media_type, desc.digest, desc.size, platform=new,
                      annotations=desc.annotations)


# -- layers in the shapes other producers write ------------------------------------------
# (spec, Windows path) -> what a diff entry is: ("file", data) | ("dir",) | ("symlink", target)
# | ("hardlink", target). Names and targets are as the Linux diff has them (no `Files/`).
Shape = Sequence[tuple[str, str, str | bytes]]
NANOS = 5  # the mtime's nanoseconds: `%d.%d` writes them unpadded, `x.5`


def buildkit_tar(entries: Shape, *, nanos: int = NANOS) -> bytes:
    """A layer as BuildKit's `util/winlayers` differ writes it (read from its code):
    `Hives` then `Files`, every diff entry renamed under `Files/` and every link target
    (symlink and hardlink alike) prefixed with `Files/`; directories get fileattr 16 and a
    directory security descriptor, regular files 32 and a file descriptor; symlinks and
    hardlinks get neither; every entry's creation time is `<sec>.<nsec>`, unpadded."""
    mtime = f"{EPOCH}.{nanos:09d}"
    created = f"{EPOCH}.{nanos}"
    members = [Raw(top, "dir", pax={"MSWINDOWS.fileattr": "16", "mtime": mtime,
                                    "LIBARCHIVE.creationtime": created})
               for top in ("Hives", "Files")]
    for name, kind, value in entries:
        pax = {"mtime": mtime, "LIBARCHIVE.creationtime": created}
        if kind == "dir":
            pax |= {"MSWINDOWS.fileattr": "16", "MSWINDOWS.rawsd": DIR_SECURITY_DESCRIPTOR}
        elif kind == "file":
            pax |= {"MSWINDOWS.fileattr": "32", "MSWINDOWS.rawsd": FILE_SECURITY_DESCRIPTOR}
        link = f"Files/{value}" if kind in ("symlink", "hardlink") else ""
        data = value if kind == "file" and isinstance(value, bytes) else b""
        members.append(Raw(f"Files/{name}", kind, data=data, link=link, pax=pax))
    return raw_tar(members, tops=False)


def windows_export_tar(entries: Shape) -> bytes:
    """A layer as Windows' own export writes it (go-winio `backuptar`): every entry with its
    file attributes (a symlink carries the reparse-point bit 0x400), a security descriptor
    and a creation time padded to nine digits; symlink targets as Windows paths, verbatim."""
    members = [Raw("Files", "dir"), Raw("Hives", "dir")]
    for name, kind, value in entries:
        attr = {"dir": "16", "file": "32", "symlink": str(0x400 | 0x20)}[kind]
        sd = DIR_SECURITY_DESCRIPTOR if kind == "dir" else FILE_SECURITY_DESCRIPTOR
        pax = {"MSWINDOWS.fileattr": attr, "MSWINDOWS.rawsd": sd,
               "LIBARCHIVE.creationtime": f"{EPOCH}.000000005"}
        link = str(value).replace("/", "\\") if kind == "symlink" else ""
        data = value if kind == "file" and isinstance(value, bytes) else b""
        members.append(Raw(f"Files/{name}", kind, data=data, link=link, pax=pax))
    return raw_tar(members, tops=False)


def busybox_shape(*, workaround: bool = True) -> list[tuple[str, str, str | bytes]]:
    """Upstream's busybox for Windows as a diff: the binary, applet symlinks beside it, a
    hardlink, vcruntime; with `workaround`, the copy at bin/Files/busybox.exe that makes
    BuildKit's prefixed targets resolve."""
    entries: list[tuple[str, str, str | bytes]] = [
        ("bin", "dir", ""), ("bin/busybox.exe", "file", b"MZ busybox"),
        ("Windows", "dir", ""), ("Windows/System32", "dir", ""),
        ("Windows/System32/vcruntime140.dll", "file", b"MZ vc"),
        ("bin/sh2.exe", "hardlink", "bin/busybox.exe")]
    if workaround:
        entries += [("bin/Files", "dir", ""), ("bin/Files/busybox.exe", "file", b"MZ busybox")]
    entries += [(f"bin/{a}.exe", "symlink", "busybox.exe") for a in APPLETS]
    return entries


def with_windows_runtime(b: Builder, image: Image) -> Image:
    return b.add(image, runtime={"Env": [f"PATH={WINDOWS_PATH}"],
                                 "Entrypoint": ["cmd.exe", "/s", "/c"]})
