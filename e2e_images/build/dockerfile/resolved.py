"""The resolved form of a Dockerfile: what build backends dispatch on.

Each needed stage has its base (scratch, an earlier stage, or an image), its platform and its
steps: instructions with values expanded plus the workdir/user/shell/env they run with.
"""

from __future__ import annotations

from dataclasses import dataclass

from e2e_images.build.dockerfile.commands import Instruction
from e2e_images.build.dockerfile.parser import ParseWarning
from e2e_images.platforms import Platform

__all__ = ["Base", "BaseImageConfig", "ImageDependency", "ResolvedDockerfile", "ResolvedStage",
           "Step"]


@dataclass(frozen=True, slots=True)
class BaseImageConfig:
    """What a stage inherits from its base image's config, when the caller knows it."""

    env: tuple[tuple[str, str], ...] = ()
    workdir: str = ""
    user: str = ""
    shell: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Base:
    kind: str  # "scratch", "stage" or "image"
    ref: str  # the expanded FROM text
    stage: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """An instruction with its values expanded, and the state it runs in."""

    instruction: Instruction
    workdir: str
    user: str
    shell: tuple[str, ...]
    env: tuple[tuple[str, str], ...]  # what a RUN sees: ENV, then the ARGs in scope


@dataclass(frozen=True, slots=True)
class ImageDependency:
    ref: str
    platform: Platform
    line: int
    via: str  # "FROM", "COPY --from" or "RUN --mount"


@dataclass(frozen=True, slots=True)
class ResolvedStage:
    index: int
    name: str | None
    line: int
    base: Base
    platform: Platform
    platform_explicit: bool
    needed: bool
    has_run: bool
    steps: tuple[Step, ...]
    env: tuple[tuple[str, str], ...]  # ENV at the end of the stage (image config)
    workdir: str
    user: str
    shell: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResolvedDockerfile:
    path: str
    target: int
    stages: tuple[ResolvedStage, ...]
    images: tuple[ImageDependency, ...]
    unused_build_args: tuple[str, ...]
    warnings: tuple[ParseWarning, ...]

    @property
    def final(self) -> ResolvedStage:
        return self.stages[self.target]

    @property
    def needed(self) -> tuple[int, ...]:
        return tuple(s.index for s in self.stages if s.needed)

    def to_json(self) -> dict:
        from e2e_images.build.dockerfile.jsonform import resolved_to_json

        return resolved_to_json(self)
