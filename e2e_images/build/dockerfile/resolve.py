"""A parsed Dockerfile + build args + platforms -> resolved stages, ready to dispatch.

Mirrors BuildKit's scoping: FROM and --platform see the meta ARGs and the predefined
TARGET*/BUILD* args; inside a stage an ARG (global or predefined) must be re-declared to be
seen; ENV accumulates and wins over an ARG of the same name; a build arg only sets a
declared ARG. Only the stages the target needs are expanded, as BuildKit only dispatches
those, so a broken stage nobody uses does not fail the build.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Callable, Mapping

from e2e_images.build.dockerfile.commands import (
    Add,
    Arg,
    ArgDecl,
    Copy,
    Dockerfile,
    Env,
    Expose,
    Instruction,
    KeyValue,
    Label,
    Run,
    Shell,
    Stage,
    StopSignal,
    User,
    Volume,
    Workdir,
)
from e2e_images.build.dockerfile.expand import ExpansionError, expand_word
from e2e_images.build.dockerfile.parser import ParseWarning
from e2e_images.build.dockerfile.resolved import (
    Base,
    BaseImageConfig,
    ImageDependency,
    ResolvedDockerfile,
    ResolvedStage,
    Step,
)
from e2e_images.errors import DockerfileError
from e2e_images.platforms import Platform, PlatformError, parse_platform

__all__ = ["DEFAULT_LINUX_PATH", "build_args_for", "resolve"]

DEFAULT_LINUX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PROXY_ARGS = frozenset(n for p in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
                                    "ALL_PROXY") for n in (p, p.lower()))
_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/([A-Za-z]+))?$")
_DRIVE = re.compile(r"^([A-Za-z]):(.*)$")


def build_args_for(platform: Platform) -> dict[str, str]:
    """BUILD* args, derived from the build platform as TARGET* are from the target."""
    return {k.replace("TARGET", "BUILD", 1): v for k, v in platform.target_args().items()}


class _Resolver:
    def __init__(self, df: Dockerfile, build_args: Mapping[str, str], target: Platform,
                 build: Platform, base_config: Callable[[str, Platform], BaseImageConfig] | None,
                 escape: str) -> None:
        self.df = df
        self.build_args = dict(build_args)
        self.target = target
        self.escape = escape
        self.base_config = base_config
        self.warnings: list[ParseWarning] = list(df.warnings)
        self.globals: dict[str, str | None] = {**target.target_args(), **build_args_for(build)}

    def fail(self, line: int, message: str, hint: str | None = None) -> DockerfileError:
        return DockerfileError(message, path=self.df.path, line=line, hint=hint)

    def expand(self, word: str, env: Mapping[str, str], line: int) -> str:
        try:
            return expand_word(word, env, self.escape)
        except ExpansionError as exc:
            raise self.fail(line, f"cannot expand {word!r}: {exc}") from None

    def global_env(self) -> dict[str, str]:
        return {k: v for k, v in self.globals.items() if v is not None}

    def meta_args(self) -> None:
        for arg in self.df.meta_args:
            for decl in arg.args:
                if decl.name in self.build_args:
                    value: str | None = self.build_args[decl.name]
                elif decl.value is not None:
                    value = self.expand(decl.value, self.global_env(), arg.loc.line)
                else:
                    value = self.globals.get(decl.name)
                self.globals[decl.name] = value

    # --- stage headers ---------------------------------------------------------------

    def base(self, stage: Stage) -> Base:
        text = self.expand(stage.base, self.global_env(), stage.loc.line)
        if not text:
            raise self.fail(stage.loc.line, f"base name ({stage.base}) should not be blank",
                            hint="declare it with ARG before the first FROM and give it a value")
        if text.lower() == "scratch":
            return Base("scratch", text)
        for previous in self.df.stages[:stage.index]:
            if previous.name == text.lower():
                return Base("stage", text, previous.index)
        if text.isdigit():
            if int(text) < stage.index:
                return Base("stage", text, int(text))
            raise self.fail(stage.loc.line, f"FROM {text}: no stage {text} before this one")
        return Base("image", text)

    def platform(self, stage: Stage) -> Platform | None:
        if stage.platform is None:
            return None
        text = self.expand(stage.platform, self.global_env(), stage.loc.line)
        if not text:
            raise self.fail(stage.loc.line, f"empty platform value from {stage.platform!r}")
        parts = text.split("/")
        if len(parts) == 2 and parts[0] == "windows" and self.target.release:
            text = f"{text}/{self.target.release}"  # windows/amd64 at the target's release
        try:
            parsed = parse_platform(text)
        except PlatformError as exc:
            hint = None
            if len(parts) == 2 and parts[0] == "windows":
                hint = "windows/<arch> takes the Windows release from the target; name one"
            raise self.fail(stage.loc.line, f"--platform={stage.platform}: {exc.message}",
                            hint=hint) from None
        same = (parsed.oci_platform, parsed.os_version) == (self.target.oci_platform,
                                                            self.target.os_version)
        return self.target if same else parsed  # linux/arm/v7 spelled out is still the target

    # --- dependencies ----------------------------------------------------------------

    def stage_ref(self, stage: Stage, text: str, line: int, via: str) -> int | None:
        """A COPY --from / mount from= value: a stage index, or None for an image."""
        if "$" in text:
            raise self.fail(line, f"{via}={text}: variables are not expanded here",
                            hint="name the stage or image literally")
        if text.isdigit():
            index = int(text)
            if index >= stage.index:
                what = "this stage" if index == stage.index else f"no stage {index} before it"
                raise self.fail(line, f"{via}={text}: {what}",
                                hint=f"stages before line {line}: 0..{stage.index - 1}"
                                if stage.index else "no stage comes before this one")
            return index
        for other in self.df.stages:
            if other.name == text.lower():
                if other.index >= stage.index:
                    raise self.fail(line, f"{via}={text}: stage {other.name!r} is not defined "
                                          "before this one", hint="move that stage up")
                return other.index
        return None

    def dependencies(self, stage: Stage, base: Base, platform: Platform,
                     images: list[ImageDependency]) -> set[int]:
        deps: set[int] = set()
        if base.kind == "stage" and base.stage is not None:
            deps.add(base.stage)
        elif base.kind == "image":
            images.append(ImageDependency(base.ref, platform, stage.loc.line, "FROM"))
        refs: list[tuple[str, int, str]] = []
        for cmd in stage.commands:
            if isinstance(cmd, Copy) and cmd.from_ is not None:
                refs.append((cmd.from_, cmd.loc.line, "COPY --from"))
            elif isinstance(cmd, Run):
                refs.extend((m.from_, cmd.loc.line, "RUN --mount")
                            for m in cmd.mounts if m.from_)
        for text, line, via in refs:
            index = self.stage_ref(stage, text, line, via)
            if index is not None:
                deps.add(index)
            else:
                images.append(ImageDependency(text, platform, line, via))
        return deps

    # --- stage bodies ----------------------------------------------------------------

    def image_path(self, text: str, windows: bool, line: int) -> str:
        if not windows:
            return text
        m = _DRIVE.match(text)
        if m:
            if m.group(1).lower() != "c":
                raise self.fail(line, f"{text}: a Windows image has only drive C:")
            text = m.group(2) or "/"
        return text.replace("\\", "/")

    def ports(self, ports: tuple[str, ...], env: Mapping[str, str], line: int) -> tuple[str, ...]:
        out: list[str] = []
        for raw in ports:
            text = self.expand(raw, env, line)
            m = _PORT.match(text)
            proto = (m.group(3) or "tcp").lower() if m else ""
            if not m or proto not in ("tcp", "udp", "sctp"):
                raise self.fail(line, f"EXPOSE: invalid port {text!r}",
                                hint="<port>[/tcp|udp|sctp] or <from>-<to>[/proto]")
            low = int(m.group(1))
            high = int(m.group(2) or low)
            if not 0 < low <= high <= 65535:
                raise self.fail(line, f"EXPOSE: invalid port range {text!r}")
            out.extend(f"{p}/{proto}" for p in range(low, high + 1))
        return tuple(out)

    def body(self, stage: Stage, base: Base, platform: Platform,
             done: Mapping[int, ResolvedStage]) -> tuple[list[Step], dict[str, str], str, str,
                                                         tuple[str, ...]]:
        windows = platform.is_windows
        shell: tuple[str, ...] = ("cmd", "/S", "/C") if windows else ("/bin/sh", "-c")
        env: dict[str, str] = {}
        workdir, user = "/", ""
        if base.kind == "stage" and base.stage is not None:
            parent = done[base.stage]
            env, workdir, user, shell = dict(parent.env), parent.workdir, parent.user, parent.shell
        else:
            known = base.kind == "scratch" or self.base_config is not None
            if base.kind == "image" and self.base_config is not None:
                config = self.base_config(base.ref, platform)
                env = dict(config.env)
                workdir = config.workdir or "/"
                user = config.user
                shell = config.shell or shell
            if known and not windows and "PATH" not in env:
                env["PATH"] = DEFAULT_LINUX_PATH
        args: dict[str, str | None] = {}
        steps: list[Step] = []
        for cmd in stage.commands:
            line = cmd.loc.line
            scope = {**{k: v for k, v in args.items() if v is not None}, **env}

            def x(word: str, scope: Mapping[str, str] = scope, line: int = line) -> str:
                return self.expand(word, scope, line)

            new: Instruction = cmd
            match cmd:
                case Arg():
                    decls = []
                    for d in cmd.args:
                        if d.name in self.build_args:
                            value = self.build_args[d.name]
                        elif d.value is not None:
                            value = x(d.value)
                        else:
                            value = self.globals.get(d.name)
                        decls.append(ArgDecl(d.name, value))
                    args.update((d.name, d.value) for d in decls)
                    new = dataclasses.replace(cmd, args=tuple(decls))
                case Env():
                    pairs = tuple(KeyValue(x(p.key), x(p.value)) for p in cmd.pairs)
                    env.update((p.key, p.value) for p in pairs)
                    new = dataclasses.replace(cmd, pairs=pairs)
                case Label():
                    pairs = tuple(KeyValue(x(p.key), x(p.value)) for p in cmd.pairs)
                    if any(not p.key for p in pairs):
                        raise self.fail(line, "LABEL: a name can not be blank")
                    new = dataclasses.replace(cmd, pairs=pairs)
                case Copy() | Add():
                    changes: dict[str, object] = {
                        "sources": tuple(x(s) for s in cmd.sources),
                        "dest": self.image_path(x(cmd.dest), windows, line),
                        "chown": x(cmd.chown) if cmd.chown else cmd.chown,
                        "chmod": x(cmd.chmod) if cmd.chmod else cmd.chmod,
                    }
                    if isinstance(cmd, Add) and cmd.checksum:
                        changes["checksum"] = x(cmd.checksum)
                    if not changes["dest"]:
                        raise self.fail(line, f"{type(cmd).__name__.upper()}: the destination "
                                              "is empty after expansion")
                    new = dataclasses.replace(cmd, **changes)
                case Workdir():
                    path = self.image_path(x(cmd.path), windows, line)
                    if not path:
                        raise self.fail(line, "WORKDIR: the path is empty after expansion")
                    workdir = posixpath.normpath(posixpath.join(workdir, path))
                    workdir = "/" + workdir.lstrip("/")
                    new = dataclasses.replace(cmd, path=workdir)
                case User():
                    user = x(cmd.user)
                    new = dataclasses.replace(cmd, user=user)
                case Expose():
                    new = dataclasses.replace(cmd, ports=self.ports(cmd.ports, scope, line))
                case Volume():
                    paths = tuple(x(p) for p in cmd.paths)
                    if any(not p.strip() for p in paths):
                        raise self.fail(line, "VOLUME: a path can not be an empty string")
                    new = dataclasses.replace(cmd, paths=paths)
                case StopSignal():
                    new = dataclasses.replace(cmd, signal=x(cmd.signal))
                case Shell():
                    shell = cmd.shell
            run_env = (*env.items(),
                       *((k, v) for k, v in args.items() if v is not None and k not in env))
            steps.append(Step(new, workdir, user, shell, run_env))
        return steps, env, workdir, user, shell

    def declared(self) -> set[str]:
        names = {d.name for a in self.df.meta_args for d in a.args}
        for stage in self.df.stages:
            names |= {d.name for c in stage.commands if isinstance(c, Arg) for d in c.args}
        return names

    def run(self, stage_target: str | None) -> ResolvedDockerfile:
        self.meta_args()
        stages = self.df.stages
        if stage_target is None:
            target = len(stages) - 1
        else:
            found = self.df.stage_by_name(stage_target)
            if found is None:
                names = ", ".join(s.name for s in stages if s.name) or "none are named"
                raise DockerfileError(f"target stage {stage_target!r} could not be found",
                                      path=self.df.path, hint=f"stages: {names}")
            target = found.index
        bases: list[Base] = []
        platforms: list[Platform] = []
        explicit: list[bool] = []
        deps: list[set[int]] = []
        per_stage_images: list[list[ImageDependency]] = []
        for stage in stages:
            base = self.base(stage)
            flag = self.platform(stage)
            if base.kind == "stage" and base.stage is not None:
                platform = platforms[base.stage]
                if flag is not None and flag != platform:
                    self.warnings.append(ParseWarning(stage.loc.line, (
                        f"--platform={flag} is ignored: a stage built FROM stage "
                        f"{base.ref!r} takes its platform ({platform})")))
            else:
                platform = flag or self.target
            images: list[ImageDependency] = []
            deps.append(self.dependencies(stage, base, platform, images))
            bases.append(base)
            platforms.append(platform)
            explicit.append(flag is not None)
            per_stage_images.append(images)
        needed = {target}
        todo = [target]
        while todo:
            for dep in deps[todo.pop()] - needed:
                needed.add(dep)
                todo.append(dep)
        done: dict[int, ResolvedStage] = {}
        for stage in stages:
            i = stage.index
            steps: list[Step] = []
            env: dict[str, str] = {}
            workdir, user, shell = "/", "", ()
            if i in needed:
                steps, env, workdir, user, shell = self.body(stage, bases[i], platforms[i], done)
            done[i] = ResolvedStage(
                index=i, name=stage.name, line=stage.loc.line, base=bases[i],
                platform=platforms[i], platform_explicit=explicit[i], needed=i in needed,
                has_run=stage.has_run, steps=tuple(steps), env=tuple(env.items()),
                workdir=workdir, user=user, shell=shell)
        unused = sorted(set(self.build_args) - self.declared() - _PROXY_ARGS)
        images = tuple(d for i in sorted(needed) for d in per_stage_images[i])
        return ResolvedDockerfile(self.df.path, target, tuple(done[s.index] for s in stages),
                                  images, tuple(unused), tuple(self.warnings))


def resolve(dockerfile: Dockerfile, *, build_args: Mapping[str, str], target: Platform,
            build: Platform, stage: str | None = None,
            base_config: Callable[[str, Platform], BaseImageConfig] | None = None,
            ) -> ResolvedDockerfile:
    """Resolve for one target platform; `stage` picks a named target (default: the last).

    `base_config` returns an image's env/workdir/user/shell when the caller has the config;
    without it a stage built on an image starts from an empty environment.
    """
    return _Resolver(dockerfile, build_args, target, build, base_config,
                     dockerfile.directives.escape).run(stage)
