"""Files that must (or must not) exist, with their mode, owner and link target.

Paths are rooted at the image's root (`C:\\` for Windows: `/Windows/System32/x.dll`). A path is
looked up as written (a symlink is not followed for `isSymlink`/`linkTarget`), and through
symlinked directories when the literal lookup misses. In fast mode a path absent from the
added layers may live in the base: it is reported as unverified, not as missing.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass

from e2e_images.errors import LayerError
from e2e_images.oci.fs import Entry, EntryType
from e2e_images.verify.checks.per_file import PerFileCheck
from e2e_images.verify.result import Finding
from e2e_images.verify.view import ImageView

__all__ = ["FileExistence", "FileExistenceCheck", "find", "mode_string"]

_LS_MODE = re.compile(r"^[-dlcbps][-rwxsStT]{9}$")
_OCTAL = re.compile(r"^0?[0-7]{3,4}$")
_TYPE_BITS = {EntryType.DIR: stat.S_IFDIR, EntryType.SYMLINK: stat.S_IFLNK,
              EntryType.FILE: stat.S_IFREG, EntryType.HARDLINK: stat.S_IFREG}


def mode_string(entry: Entry) -> str:
    """`-rwxr-xr-x`, as ls and container-structure-test write permissions."""
    return stat.filemode(_TYPE_BITS.get(entry.type, 0) | (entry.mode & 0o7777))


def find(view: ImageView, path: str) -> Entry | None:
    entry = view.fs.lookup(path)
    if entry is None:
        try:
            entry = view.fs.resolve(path, follow_last=False)
        except LayerError:
            entry = None
    return entry


@dataclass(frozen=True, slots=True)
class FileExistence:
    path: str
    should_exist: bool = True
    permissions: str = ""  # `-rwxr-xr-x` or octal `0755`; empty: not checked
    uid: int = -1  # -1: not checked
    gid: int = -1
    is_symlink: bool | None = None
    link_target: str = ""

    def validate(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path {self.path!r} must be absolute (rooted at / or C:\\)")
        if self.permissions and not (_LS_MODE.match(self.permissions)
                                     or _OCTAL.match(self.permissions)):
            raise ValueError(f"permissions {self.permissions!r}: want -rwxr-xr-x or 0755")
        if self.link_target and self.is_symlink is False:
            raise ValueError(f"{self.path}: linkTarget given but isSymlink is false")
        if not self.should_exist and (self.permissions or self.link_target
                                      or self.is_symlink):
            raise ValueError(f"{self.path}: shouldExist false with properties to check")

    def findings(self, view: ImageView, entry: Entry | None) -> list[Finding]:
        def bad(rule: str, message: str) -> Finding:
            return Finding(rule, view.platform, self.path, message)

        if entry is None:
            return [bad("FILE-EXISTS", "missing")] if self.should_exist else []
        if not self.should_exist:
            return [bad("FILE-EXISTS", f"present ({entry.type}) but must not exist")]
        out: list[Finding] = []
        if self.permissions:
            have = mode_string(entry)
            if _OCTAL.match(self.permissions):
                if entry.mode & 0o7777 != int(self.permissions, 8):
                    out.append(bad("FILE-MODE", f"mode {entry.mode & 0o7777:04o}, want "
                                                f"{self.permissions}"))
            elif have != self.permissions:
                out.append(bad("FILE-MODE", f"mode {have}, want {self.permissions}"))
        if self.uid >= 0 and entry.uid != self.uid:
            out.append(bad("FILE-OWNER", f"uid {entry.uid}, want {self.uid}"))
        if self.gid >= 0 and entry.gid != self.gid:
            out.append(bad("FILE-OWNER", f"gid {entry.gid}, want {self.gid}"))
        is_link = entry.type is EntryType.SYMLINK
        if self.is_symlink is not None and is_link != self.is_symlink:
            out.append(bad("FILE-SYMLINK", f"is a {entry.type}, want "
                                           f"{'a symlink' if self.is_symlink else 'no symlink'}"))
        if self.link_target and is_link and entry.linkname != self.link_target:
            out.append(bad("FILE-SYMLINK", f"links to {entry.linkname!r}, want "
                                           f"{self.link_target!r}"))
        return out


@dataclass(frozen=True, slots=True)
class FileExistenceCheck(PerFileCheck[FileExistence]):
    name = "file_existence"

    def check(self, view: ImageView, rule: FileExistence) -> list[Finding] | None:
        entry = find(view, rule.path)
        if entry is None and not view.complete:
            return None
        return rule.findings(view, entry)
