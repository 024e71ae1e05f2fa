"""One frozen dataclass per Dockerfile instruction, plus Stage and Dockerfile.

Values are kept as written (quotes, `$VAR`): `resolve` returns copies with them expanded.
Every command carries its `Location`, so any later error can name the line.
"""

from __future__ import annotations

from dataclasses import dataclass

from e2e_images.build.dockerfile.parser import Directives, ParseWarning

__all__ = [
    "Add", "Arg", "ArgDecl", "Cmd", "Copy", "Dockerfile", "Entrypoint", "Env", "Expose",
    "Healthcheck", "Instruction", "KeyValue", "Label", "Location", "Maintainer", "Mount", "Run",
    "Shell", "Stage", "StopSignal", "User", "Volume", "Workdir",
]

@dataclass(frozen=True, slots=True)
class Location:
    path: str
    line: int
    end_line: int
    original: str


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ArgDecl:
    name: str
    value: str | None  # the default as written; after `expand`, the value in effect


@dataclass(frozen=True, slots=True)
class Mount:
    """One RUN --mount: its type and the remaining options in order."""

    type: str
    options: tuple[KeyValue, ...]

    def get(self, key: str) -> str | None:
        return next((o.value for o in self.options if o.key == key), None)

    @property
    def from_(self) -> str | None:
        return self.get("from")


@dataclass(frozen=True, slots=True)
class Arg:
    loc: Location
    args: tuple[ArgDecl, ...]


@dataclass(frozen=True, slots=True)
class Env:
    loc: Location
    pairs: tuple[KeyValue, ...]


@dataclass(frozen=True, slots=True)
class Label:
    loc: Location
    pairs: tuple[KeyValue, ...]


@dataclass(frozen=True, slots=True)
class Copy:
    loc: Location
    sources: tuple[str, ...]
    dest: str
    from_: str | None = None
    chown: str | None = None
    chmod: str | None = None
    link: bool = False


@dataclass(frozen=True, slots=True)
class Add:
    loc: Location
    sources: tuple[str, ...]
    dest: str
    chown: str | None = None
    chmod: str | None = None
    checksum: str | None = None
    link: bool = False
    keep_git_dir: bool = False


@dataclass(frozen=True, slots=True)
class Run:
    loc: Location
    command: tuple[str, ...]  # shell form: one string, run through the stage's SHELL
    shell_form: bool
    mounts: tuple[Mount, ...] = ()
    network: str | None = None
    security: str | None = None


@dataclass(frozen=True, slots=True)
class Cmd:
    loc: Location
    command: tuple[str, ...]
    shell_form: bool


@dataclass(frozen=True, slots=True)
class Entrypoint:
    loc: Location
    command: tuple[str, ...]
    shell_form: bool


@dataclass(frozen=True, slots=True)
class Shell:
    loc: Location
    shell: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Workdir:
    loc: Location
    path: str


@dataclass(frozen=True, slots=True)
class User:
    loc: Location
    user: str


@dataclass(frozen=True, slots=True)
class Expose:
    loc: Location
    ports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Volume:
    loc: Location
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StopSignal:
    loc: Location
    signal: str


@dataclass(frozen=True, slots=True)
class Maintainer:
    loc: Location
    name: str


@dataclass(frozen=True, slots=True)
class Healthcheck:
    """`none=True` disables the base image's check; durations are in nanoseconds."""

    loc: Location
    none: bool
    command: tuple[str, ...] = ()
    shell_form: bool = False
    interval: int | None = None
    timeout: int | None = None
    start_period: int | None = None
    start_interval: int | None = None
    retries: int | None = None


Instruction = (Arg | Env | Label | Copy | Add | Run | Cmd | Entrypoint | Shell | Workdir | User
               | Expose | Volume | StopSignal | Maintainer | Healthcheck)


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    name: str | None  # lower case: stage names match case-insensitively
    base: str  # as written, before expansion
    platform: str | None  # the --platform flag text, before expansion
    loc: Location
    commands: tuple[Instruction, ...]

    @property
    def has_run(self) -> bool:
        return any(isinstance(c, Run) for c in self.commands)


@dataclass(frozen=True, slots=True)
class Dockerfile:
    path: str
    stages: tuple[Stage, ...]
    meta_args: tuple[Arg, ...]
    directives: Directives
    warnings: tuple[ParseWarning, ...]

    def stage_by_name(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name.lower()), None)

