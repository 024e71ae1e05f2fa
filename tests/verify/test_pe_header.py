"""Windows Go binaries must be PE32+ x86-64: machine 0x8664 and optional-header magic 0x20b."""

from __future__ import annotations

import struct

from e2e_images.verify.checks.go_binary import binary_machine


def pe(machine: int, magic: int) -> bytes:
    header = bytearray(0x100)
    header[:2] = b"MZ"
    header[0x3C:0x40] = struct.pack("<I", 0x80)
    header[0x80:0x84] = b"PE\0\0"
    header[0x84:0x86] = struct.pack("<H", machine)
    header[0x80 + 24:0x80 + 26] = struct.pack("<H", magic)
    return bytes(header)


def test_pe32_plus_amd64():
    assert binary_machine(pe(0x8664, 0x20B)) == ("pe", "amd64")


def test_pe32_with_an_amd64_machine_is_refused():
    kind, reason = binary_machine(pe(0x8664, 0x10B))
    assert kind == "" and "not PE32+" in reason


def test_unknown_machine_is_named():
    assert binary_machine(pe(0x1234, 0x20B)) == ("", "PE machine 0x1234")
