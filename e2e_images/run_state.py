"""Results shared by every pytest-xdist worker of one run: each target is produced once.

The first worker to ask for a key takes a file lock, produces the value and writes it as JSON;
the others wait on the lock and read it. A failure is recorded too, so N workers do not
retry a broken build N times. `produced.log` lists every production, one key a line: the
proof (and the test) that nothing was produced twice.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from e2e_images.errors import E2EImagesError

__all__ = ["ProductionFailed", "SharedResults"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class ProductionFailed(E2EImagesError):
    """Another worker (or this one) already tried to produce this key and failed."""


class SharedResults:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    @property
    def log_path(self) -> Path:
        return self.directory / "produced.log"

    def _paths(self, key: str) -> tuple[Path, Path]:
        stem = _UNSAFE.sub("_", key)
        return self.directory / f"{stem}.json", self.directory / f"{stem}.lock"

    def get_or_produce(self, key: str, produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        result_path, lock_path = self._paths(key)
        with FileLock(str(lock_path)):
            if result_path.exists():
                record = json.loads(result_path.read_text())
            else:
                try:
                    record = {"ok": True, "value": produce()}
                except Exception as exc:  # recorded for the other workers, then re-raised
                    record = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                    self._write(key, result_path, record)
                    raise
                self._write(key, result_path, record)
        if not record["ok"]:
            raise ProductionFailed(f"{key}: {record['error']}")
        return record["value"]

    def _write(self, key: str, path: Path, record: dict[str, Any]) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, path)  # readers never see a half-written record
        with self.log_path.open("a") as log:
            log.write(f"{key}\n")

    def produced(self) -> list[str]:
        return self.log_path.read_text().split() if self.log_path.exists() else []
