"""Layer tars built with the stdlib `tarfile`, and small in-memory images around them."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard

from e2e_images.oci import media_types as mt
from e2e_images.oci.digest import sha256_digest
from e2e_images.oci.image import Image, Layer, MemoryBlobs
from e2e_images.oci.models import Descriptor, ImagePlatform
from e2e_images.oci.mutate import append_layers, scratch

LINUX_AMD64 = ImagePlatform("linux", "amd64")
WINDOWS_LTSC2022 = ImagePlatform("windows", "amd64", os_version="10.0.20348.2527")


@dataclass(frozen=True)
class T:
    """One member to put in a test tar."""

    name: str
    kind: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    link: str = ""
    uid: int = 0
    gid: int = 0
    pax: Mapping[str, str] = field(default_factory=dict)


def f(name: str, data: bytes | str = b"", **kw: object) -> T:
    return T(name, data=data.encode() if isinstance(data, str) else data, **kw)  # type: ignore[arg-type]


def d(name: str, **kw: object) -> T:
    return T(name, tarfile.DIRTYPE, mode=0o755, **kw)  # type: ignore[arg-type]


def sym(name: str, target: str, **kw: object) -> T:
    return T(name, tarfile.SYMTYPE, mode=0o777, link=target, **kw)  # type: ignore[arg-type]


def hard(name: str, target: str, **kw: object) -> T:
    return T(name, tarfile.LNKTYPE, link=target, **kw)  # type: ignore[arg-type]


def make_tar(members: Sequence[T], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for m in members:
            ti = tarfile.TarInfo(m.name)
            ti.type, ti.mode, ti.uid, ti.gid = m.kind, m.mode, m.uid, m.gid
            ti.linkname, ti.mtime = m.link, 1_700_000_000
            ti.pax_headers = dict(m.pax)
            if m.kind == tarfile.REGTYPE:
                ti.size = len(m.data)
                tar.addfile(ti, io.BytesIO(m.data))
            else:
                tar.addfile(ti)
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def compress(tar: bytes, media_type: str) -> bytes:
    kind = mt.layer_compression(media_type)
    return gz(tar) if kind == "gzip" else zst(tar) if kind == "zstd" else tar


def make_image(tars: Sequence[bytes], *, media_type: str = mt.OCI_LAYER_GZIP,
               platform: ImagePlatform = LINUX_AMD64,
               blobs: MemoryBlobs | None = None) -> Image:
    """An image over MemoryBlobs whose layers are these tars, built with oci.mutate."""
    blobs = blobs if blobs is not None else MemoryBlobs()
    added = []
    for tar in tars:
        blob = compress(tar, media_type)
        blobs.add(blob)
        added.append(Layer(Descriptor.of(media_type, blob), blobs, sha256_digest(tar),
                           {"created_by": "test"}))
    return append_layers(scratch(platform, created="2024-01-01T00:00:00Z", source=blobs), added)


def memory_layer(blob: bytes, media_type: str) -> Layer:
    blobs = MemoryBlobs()
    blobs.add(blob)
    return Layer(Descriptor.of(media_type, blob), blobs)


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.fixture
def outside_guard(tmp_path: Path):
    """Fails the test if anything appears next to tmp_path (a layer escaping its root)."""
    parent = tmp_path.parent
    before = set(parent.iterdir())
    yield tmp_path
    assert set(parent.iterdir()) == before
