"""The gate's results file: per image, the list it verified (tag and digest), whether it
passed, and every finding with its severity (warnings pass unless the gate ran with
`--fail-on-warnings`). Promote reads it: only what passed there may be proposed.

JSON, versioned by `schema`; fields are only ever added (`severity`, `errors`, `warnings`,
`info` came with severities; a finding without `severity` is an error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e_images.publish.files import PublishInputError, write_atomic
from e2e_images.verify.result import Finding, Judged

__all__ = ["SCHEMA", "GateResults", "ImageResult", "read_results", "write_results"]

SCHEMA = 1


@dataclass(frozen=True, slots=True)
class ImageResult(Judged):
    dir: str  # catalog directory
    name: str  # published name (ALIAS applied)
    version: str  # the list tag's tag
    list_tag: str  # `<registry>/<name>:<version>`
    list_digest: str | None  # None: no list (per-platform tags only) or not built
    passed: bool
    findings: tuple[Finding, ...] = ()
    error: str | None = None  # why it could not be built or verified
    targets: tuple[tuple[str, str], ...] = ()  # (per-platform tag, digest)
    info: tuple[str, ...] = ()  # observations (which entry each containerd release pulls)

    def to_dict(self) -> dict[str, Any]:
        return {"dir": self.dir, "name": self.name, "version": self.version,
                "list_tag": self.list_tag, "list_digest": self.list_digest,
                "passed": self.passed, "error": self.error,
                "errors": len(self.errors), "warnings": len(self.warnings),
                "findings": [f.to_dict() for f in self.findings],
                "targets": [{"tag": t, "digest": d} for t, d in self.targets],
                "info": list(self.info)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageResult:
        return cls(dir=str(d["dir"]), name=str(d["name"]), version=str(d["version"]),
                   list_tag=str(d["list_tag"]), list_digest=d.get("list_digest"),
                   passed=bool(d["passed"]), error=d.get("error"),
                   findings=tuple(Finding.from_dict(f) for f in d.get("findings") or ()),
                   targets=tuple((t["tag"], t["digest"]) for t in d.get("targets") or ()),
                   info=tuple(str(x) for x in d.get("info") or ()))


@dataclass(frozen=True, slots=True)
class GateResults:
    registry: str  # what REGISTRY was for the run (the staging registry)
    images: tuple[ImageResult, ...]
    built: bool = True  # False: --no-build (verified what was already pushed)

    @property
    def passed(self) -> bool:
        return bool(self.images) and all(i.passed for i in self.images)

    def to_json(self) -> str:
        return json.dumps({"schema": SCHEMA, "registry": self.registry, "built": self.built,
                           "passed": self.passed,
                           "images": [i.to_dict() for i in self.images]}, indent=2) + "\n"


def write_results(path: str | Path, results: GateResults) -> None:
    write_atomic(path, results.to_json())


def read_results(path: str | Path) -> GateResults:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PublishInputError(f"cannot read gate results: {exc.strerror}", path=str(path),
                                hint="run `e2e-images gate --results FILE` first") from None
    except json.JSONDecodeError as exc:
        raise PublishInputError(f"gate results are not JSON: {exc.msg}", path=str(path),
                                line=exc.lineno) from None
    try:
        if data.get("schema") != SCHEMA:
            raise PublishInputError(f"gate results schema {data.get('schema')!r}, expected "
                                    f"{SCHEMA}", path=str(path))
        return GateResults(str(data["registry"]),
                           tuple(ImageResult.from_dict(i) for i in data["images"]),
                           bool(data.get("built", True)))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise PublishInputError(f"gate results are malformed ({exc!r})",
                                path=str(path)) from None
