"""Windows security descriptors for layer entries (rule W8), encoded from SIDs and ACEs.

go-winio hands a layer entry's `MSWINDOWS.rawsd` PAX record (base64) to BackupWrite as a
binary self-relative SECURITY_DESCRIPTOR; without one, Windows may refuse to execute a binary.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable

__all__ = ["DIR_SECURITY_DESCRIPTOR", "FILE_SECURITY_DESCRIPTOR"]


# --- Security descriptors (W8) -------------------------------------------------------------
# go-winio hands `MSWINDOWS.rawsd` to BackupWrite as a binary self-relative SECURITY_DESCRIPTOR.
# We encode ours from SIDs and ACEs here instead of pasting opaque blobs, so the intent is
# readable: files get owner and group BUILTIN\Users with no DACL (ko's "O:BUG:BU"; a missing
# DACL grants everyone access, which is what lets the container user execute the binary).
# Directories get the same owner and group plus a DACL whose ACEs are inherited by new files
# (OI) and subdirectories (CI), so files a container later creates inside stay accessible:
# full control for SYSTEM, Administrators and Users.

def _sid(*parts: int) -> bytes:
    """S-1-<authority>-<sub...>: revision, count, 48-bit big-endian authority, LE subauths."""
    authority, *subs = parts
    return (struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


_SID_USERS = _sid(5, 32, 545)  # BU
_SID_ADMINS = _sid(5, 32, 544)  # BA
_SID_SYSTEM = _sid(5, 18)  # SY
_FILE_ALL_ACCESS = 0x001F01FF
_ACE_INHERIT = 0x01 | 0x02  # OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE


def _acl(aces: Iterable[tuple[int, int, bytes]]) -> bytes:
    body = b""
    count = 0
    for flags, mask, sid in aces:
        size = 8 + len(sid)
        body += struct.pack("<BBHI", 0, flags, size, mask) + sid  # ACCESS_ALLOWED_ACE
        count += 1
    return struct.pack("<BBHHH", 2, 0, 8 + len(body), count, 0) + body


def _self_relative_sd(owner: bytes, group: bytes, dacl: bytes | None = None) -> str:
    control = 0x8000 | (0x0004 if dacl is not None else 0)  # SE_SELF_RELATIVE | DACL_PRESENT
    owner_off = 20
    group_off = owner_off + len(owner)
    dacl_off = group_off + len(group) if dacl is not None else 0
    header = struct.pack("<BBHIIII", 1, 0, control, owner_off, group_off, 0, dacl_off)
    return base64.b64encode(header + owner + group + (dacl or b"")).decode("ascii")


FILE_SECURITY_DESCRIPTOR = _self_relative_sd(_SID_USERS, _SID_USERS)
DIR_SECURITY_DESCRIPTOR = _self_relative_sd(
    _SID_USERS, _SID_USERS,
    _acl((_ACE_INHERIT, _FILE_ALL_ACCESS, sid) for sid in (_SID_SYSTEM, _SID_ADMINS, _SID_USERS)),
)
