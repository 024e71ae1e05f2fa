"""Content keys for caches: what a build read, hashed, so equal inputs find equal outputs."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["json_key", "tree_digest"]


def tree_digest(root: Path, *, skip: Iterable[str] = ()) -> str:
    """Names, modes, symlink targets and contents of every file under `root`."""
    skipped = set(skip)
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel in skipped or (path.is_dir() and not path.is_symlink()):
            continue
        h.update(rel.encode() + b"\0")
        if path.is_symlink():
            h.update(b"->" + os.readlink(path).encode())
        else:
            h.update(oct(path.stat().st_mode & 0o7777).encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def json_key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()).hexdigest()
