"""Stand-ins for mcr.microsoft.com/windows/{nanoserver,servercore}: Windows-format base layers
with synthetic contents, real os.version values and a Windows PATH.

Nothing can execute these files, and nothing needs to: a Windows image built on Linux only
copies files out of (servercore) or on top of (nanoserver) its base, and the verifier reads
layouts, configs and index entries. The file set mirrors what builds and checks look for:
servercore has the netapi32.dll/ntdsapi.dll/nltest.exe the servercore-cache image copies out,
and PowerShell; nanoserver lacks them, as the real one does.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from e2e_images.hermetic import StandinError
from e2e_images.hermetic.images import (
    STANDIN_EPOCH,
    STANDIN_MARKER,
    BlobStore,
    assemble_image,
    make_index,
)
from e2e_images.layers.windows import write_windows_layer
from e2e_images.layers.winentries import HIVES, UTILITY_VM, StreamContent, WinEntry
from e2e_images.oci.image import Image
from e2e_images.oci.models import ImagePlatform, Index
from e2e_images.platforms import windows_release

__all__ = [
    "FLAVORS",
    "WINDOWS_BASES",
    "WINDOWS_REPOSITORY",
    "WindowsBase",
    "base_entries",
    "build_windows_base",
]

WINDOWS_REPOSITORY = "mcr.microsoft.com/windows/{flavor}"
FLAVORS = ("nanoserver", "servercore")


@dataclass(frozen=True, slots=True)
class WindowsBase:
    """One Windows release as the stand-ins publish it; `os_version` is the full value."""

    release: str  # platforms.py token
    tags: tuple[str, ...]
    os_version: str


# The one table of stand-in os.version values (patch levels of December 2024).
WINDOWS_BASES = (
    WindowsBase("1809", ("1809", "ltsc2019"), "10.0.17763.6659"),
    WindowsBase("ltsc2022", ("ltsc2022",), "10.0.20348.2966"),
    WindowsBase("ltsc2025", ("ltsc2025",), "10.0.26100.2605"),
)

_COMMON = (
    "License.txt",
    "Windows/System32/cmd.exe",
    "Windows/System32/kernel32.dll",
    "Windows/System32/KernelBase.dll",
    "Windows/System32/ntdll.dll",
    "Windows/System32/ucrtbase.dll",
    "Windows/System32/advapi32.dll",
    "Windows/System32/ws2_32.dll",
    "Windows/System32/bcrypt.dll",
    "Windows/System32/netsh.exe",
    "Windows/System32/ping.exe",
    "Windows/System32/reg.exe",
    "Windows/System32/whoami.exe",
    "Windows/System32/drivers/etc/hosts",
    "Windows/System32/en-US/cmd.exe.mui",
)
_SERVERCORE = (
    "Windows/System32/netapi32.dll",
    "Windows/System32/ntdsapi.dll",
    "Windows/System32/nltest.exe",
    "Windows/System32/en-US/nltest.exe.mui",
    "Windows/System32/WindowsPowerShell/v1.0/powershell.exe",
    "Windows/System32/WindowsPowerShell/v1.0/Modules/Microsoft.PowerShell.Utility/"
    "Microsoft.PowerShell.Utility.psd1",
    "Windows/System32/wbem/wmic.exe",
)
_DIRS = ("Program Files", "Program Files (x86)", "ProgramData", "Users/Public",
         "Users/ContainerUser", "Users/ContainerAdministrator", "Windows/Temp")
_HIVES = ("DefaultUser_Delta", "Sam_Delta", "Security_Delta", "Software_Delta", "System_Delta")
_UVM = ("EFI/Microsoft/Boot/bcd", "Windows/System32/ntoskrnl.exe",
        "Windows/System32/config/SYSTEM")
_PE = (".exe", ".dll", ".mui", ".sys")
_FILLER_CHUNK = 1 << 20
_RUNTIME = {
    "nanoserver": {"Env": ["PATH=C:\\Windows\\system32;C:\\Windows;"],
                   "Cmd": ["c:\\windows\\system32\\cmd.exe"], "User": "ContainerUser"},
    "servercore": {"Env": ["PATH=C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;"
                           "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\;"],
                   "Cmd": ["c:\\windows\\system32\\cmd.exe"]},
}


def _content(flavor: str, base: WindowsBase, area: str, path: str) -> bytes:
    note = (STANDIN_MARKER + f": {flavor} {base.os_version} {area}/{path}\n".encode())
    if path.lower().endswith(_PE):
        # Looks like a PE to anything that sniffs the first bytes; runs nowhere.
        return b"MZ" + b"\x90\x00" + note
    if path == "Windows/System32/drivers/etc/hosts":
        return b"127.0.0.1 localhost\r\n::1 localhost\r\n"
    return note


def _filler(size: int, seed: str) -> StreamContent:
    """`size` incompressible bytes, the same every run, generated as they are written."""

    def chunks() -> Iterator[bytes]:
        block = random.Random(seed).randbytes(_FILLER_CHUNK)
        left, n = size, 0
        while left > 0:
            piece = n.to_bytes(8, "big") + block[8:]  # no two chunks alike
            yield piece[: min(left, _FILLER_CHUNK)]
            left -= _FILLER_CHUNK
            n += 1

    return StreamContent(size, chunks)


def base_entries(flavor: str, base: WindowsBase, filler_bytes: int = 0) -> list[WinEntry]:
    """The base layer's entries (Files, Hives and UtilityVM/Files areas)."""
    if flavor not in FLAVORS:
        raise StandinError(f"unknown Windows base flavor {flavor!r} (nanoserver, servercore)")
    files = _COMMON + (_SERVERCORE if flavor == "servercore" else ())
    entries = [WinEntry.file(p, _content(flavor, base, "Files", p)) for p in files]
    entries += [WinEntry.directory(d) for d in _DIRS]
    entries += [WinEntry.file(h, _content(flavor, base, HIVES, h), area=HIVES) for h in _HIVES]
    entries += [WinEntry.file(p, _content(flavor, base, UTILITY_VM, p), area=UTILITY_VM)
                for p in _UVM]
    if filler_bytes:
        entries.append(WinEntry.file("Windows/System32/stand-in-filler.bin",
                                     _filler(filler_bytes, f"{flavor}-{base.os_version}")))
    return entries


def build_windows_base(
    store: BlobStore,
    flavor: str,
    base: WindowsBase,
    *,
    filler_bytes: int = 0,
    workdir: Path | None = None,
) -> tuple[Index, Image]:
    """The single-entry windows/amd64 index for one flavor and release.

    With `filler_bytes` (a benchmark's ~1 GB base) the layer is streamed to a file in `workdir`
    and never held in memory.
    """
    release = windows_release(base.release)
    if not base.os_version.startswith(release.os_version_prefix + "."):
        raise StandinError(f"{base.os_version} is not a {release.name} version "
                           f"({release.os_version_prefix}.x)")
    entries = base_entries(flavor, base, filler_bytes)
    if filler_bytes:
        if workdir is None:
            raise StandinError("a filled Windows base needs a workdir to stream its layer to")
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"{flavor}-{base.release}-{filler_bytes}.tar.gz"
        with path.open("wb") as out:
            layer = write_windows_layer(entries, epoch=STANDIN_EPOCH, gz_out=out, source=store,
                                        base_layer=True)
        store.add_file(path, layer.digest, layer.descriptor.size)
    else:
        buf = io.BytesIO()
        layer = write_windows_layer(entries, epoch=STANDIN_EPOCH, gz_out=buf, source=store,
                                    base_layer=True)
        store.add(buf.getvalue())
    platform = ImagePlatform("windows", "amd64", os_version=base.os_version)
    image = assemble_image(
        store, [layer], platform, _RUNTIME[flavor],
        comment=f"e2e-images stand-in: {flavor} {base.os_version} (synthetic files)")
    return make_index(store, [image]), image
