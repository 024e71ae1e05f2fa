"""The JSON form of a resolved Dockerfile: what the golden tests compare, and what a
`--debug` dump shows. Stable key order, plain JSON types only."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from e2e_images.build.dockerfile.commands import Add, Cmd, Copy, Entrypoint, Run

if TYPE_CHECKING:
    from e2e_images.build.dockerfile.resolved import ResolvedDockerfile, ResolvedStage, Step

__all__ = ["instruction_to_json", "resolved_to_json"]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name.rstrip("_"): _plain(getattr(value, f.name))
                for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def instruction_to_json(instruction: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"instruction": type(instruction).__name__.upper(),
                           "line": instruction.loc.line}
    for field in dataclasses.fields(instruction):
        if field.name != "loc":
            out[field.name.rstrip("_")] = _plain(getattr(instruction, field.name))
    return out


def _step(step: Step) -> dict[str, Any]:
    out = instruction_to_json(step.instruction)
    ins = step.instruction
    if isinstance(ins, Run | Copy | Add):
        out["workdir"] = step.workdir
    if isinstance(ins, Run):
        out["user"] = step.user
        out["env"] = [f"{k}={v}" for k, v in step.env]
    if isinstance(ins, Run | Cmd | Entrypoint) and ins.shell_form:
        out["shell"] = list(step.shell)
    return out


def _stage(stage: ResolvedStage) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": stage.base.kind, "ref": stage.base.ref}
    if stage.base.stage is not None:
        base["stage"] = stage.base.stage
    out: dict[str, Any] = {
        "index": stage.index,
        "name": stage.name,
        "line": stage.line,
        "base": base,
        "platform": stage.platform.key,
        "platform_explicit": stage.platform_explicit,
        "needed": stage.needed,
        "has_run": stage.has_run,
    }
    if stage.needed:
        out["steps"] = [_step(s) for s in stage.steps]
        out["env"] = [f"{k}={v}" for k, v in stage.env]
        out["workdir"] = stage.workdir
        out["user"] = stage.user
    return out


def resolved_to_json(resolved: ResolvedDockerfile) -> dict[str, Any]:
    return {
        "target": resolved.target,
        "needed": list(resolved.needed),
        "images": [{"ref": d.ref, "platform": d.platform.key, "line": d.line, "via": d.via}
                   for d in resolved.images],
        "unused_build_args": list(resolved.unused_build_args),
        "warnings": [{"line": w.line, "message": w.message} for w in resolved.warnings],
        "stages": [_stage(s) for s in resolved.stages],
    }
