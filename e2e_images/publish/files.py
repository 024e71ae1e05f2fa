"""Reading the small YAML/JSON inputs of mirror and promote, and replacing files atomically.

Inputs that do not parse are the user's to fix: `PublishInputError` exits 2 and names the
file and line. Outputs are written to a temporary file beside the target and renamed over it,
so a reader (or a killed run) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from e2e_images.errors import E2EImagesError

__all__ = ["PublishInputError", "read_yaml", "write_atomic"]


class PublishInputError(E2EImagesError):
    """A mirror config, promotion policy, images.yaml or results file that does not parse."""

    exit_code = 2


def read_yaml(path: str | Path, *, what: str) -> Any:
    """The parsed document (None for an empty file); errors name the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PublishInputError(f"cannot read {what}: {exc.strerror}", path=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PublishInputError(f"{what} is not valid YAML: {getattr(exc, 'problem', exc)}",
                                path=str(path),
                                line=mark.line + 1 if mark is not None else None) from None


def write_atomic(path: str | Path, text: str) -> None:
    """Replace `path` with `text` in one rename (same directory, so the same filesystem)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
