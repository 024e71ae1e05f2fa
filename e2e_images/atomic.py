"""Files replaced in one rename, so a reader or a killed run sees the old file or the new one.

Every cache entry goes through here: written under a unique temporary name in the target's
directory (same filesystem, so `os.replace` is atomic), then renamed into place. Two processes
producing the same entry each write their own temporary file; the last rename wins, and both
wrote the same bytes. Where producing an entry is expensive, callers also hold `entry_lock`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from filelock import FileLock

__all__ = ["entry_lock", "temp_path", "write_atomic_bytes"]


def temp_path(target: Path) -> Path:
    """A fresh, unique name beside `target` for a producer to write to before the rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    return Path(tmp)


def write_atomic_bytes(target: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = temp_path(target)
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def entry_lock(target: Path) -> FileLock:
    """The lock two processes take before producing `target` (a file beside it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(target.parent / f".{target.name}.lock"))
