"""Go programs are built for the image's platform and carry the catalog version.

The executable header says what machine a binary is for: ELF `e_machine` (and byte order) on
Linux, the PE COFF `Machine` on Windows. A Go binary carries a `Go buildinf:` block; the
version set with `-X main.Version=...` is a string in its data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from e2e_images.errors import LayerError
from e2e_images.verify.checks.per_file import PerFileCheck, read_visible
from e2e_images.verify.result import Finding
from e2e_images.verify.view import ImageView

__all__ = ["GoBinary", "GoBinaryCheck", "binary_machine"]

GO_BUILDINFO = b"\xff Go buildinf:"
# Go arch -> (ELF e_machine, little endian)
_ELF = {"amd64": (62, True), "386": (3, True), "arm": (40, True), "arm64": (183, True),
        "ppc64le": (21, True), "ppc64": (21, False), "s390x": (22, False),
        "riscv64": (243, True)}
_PE = {"amd64": 0x8664, "386": 0x14C, "arm64": 0xAA64, "arm": 0x1C4}
_PE64 = ("amd64", "arm64")  # 64-bit machines: the optional header must be PE32+
_PE32_PLUS = 0x20B


def binary_machine(data: bytes) -> tuple[str, str]:
    """('elf'|'pe', Go arch) from the header; ('', reason) when it is neither or unknown."""
    if data[:4] == b"\x7fELF" and len(data) >= 20:
        little = data[5] == 1
        machine = struct.unpack("<H" if little else ">H", data[18:20])[0]
        arch = next((a for a, (m, le) in _ELF.items() if m == machine and le == little), "")
        return ("elf", arch) if arch else ("", f"ELF machine {machine} "
                                               f"({'little' if little else 'big'} endian)")
    if data[:2] == b"MZ" and len(data) >= 0x40:
        offset = struct.unpack("<I", data[0x3C:0x40])[0]
        if data[offset:offset + 4] == b"PE\0\0" and len(data) >= offset + 6:
            machine = struct.unpack("<H", data[offset + 4:offset + 6])[0]
            arch = next((a for a, m in _PE.items() if m == machine), "")
            if not arch:
                return "", f"PE machine 0x{machine:04x}"
            magic = struct.unpack("<H", data[offset + 24:offset + 26])[0] \
                if len(data) >= offset + 26 else 0
            if arch in _PE64 and magic != _PE32_PLUS:
                return "", f"PE machine 0x{machine:04x} with optional header magic " \
                           f"0x{magic:03x}, not PE32+ (0x20b)"
            return "pe", arch
        return "", "MZ header without a PE signature"
    return "", "neither ELF nor PE"


@dataclass(frozen=True, slots=True)
class GoBinary:
    path: str
    version: str = ""  # must appear in the binary (main.Version); empty: not checked

    def validate(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"goBinaries: path {self.path!r} must be absolute")


@dataclass(frozen=True, slots=True)
class GoBinaryCheck(PerFileCheck[GoBinary]):
    name = "go_binaries"

    def check(self, view: ImageView, rule: GoBinary) -> list[Finding] | None:
        out: list[Finding] = []

        def bad(rule_id: str, message: str) -> None:
            out.append(Finding(rule_id, view.platform, rule.path, message))

        try:
            data = read_visible(view, rule.path)
        except LayerError as exc:
            bad("GO-MACHINE", f"cannot read: {exc.message}")
            return out
        if data is None:
            return None
        p = view.image.platform
        kind, arch = binary_machine(data)
        if not kind:
            bad("GO-MACHINE", f"not an executable: {arch}")
        elif kind != ("pe" if p.os == "windows" else "elf") or arch != p.architecture:
            bad("GO-MACHINE", f"{kind.upper()} binary for {arch}, the image is "
                              f"{p.os}/{p.architecture}")
        if GO_BUILDINFO not in data:
            bad("GO-VERSION", "no Go build info (not a Go binary?)")
        if rule.version and rule.version.encode() not in data:
            bad("GO-VERSION", f"version {rule.version!r} is not embedded")
        return out
