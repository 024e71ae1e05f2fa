"""The native assembler: build a stage without RUN by writing its layers and config directly.

Every Windows stage is built here (nothing can execute Windows binaries on Linux), as are
Linux stages without RUN (mirrors, scratch caches, kitten). A base image is held as its
manifest and config only; its layers are never read, so a 1 GB Windows base costs nothing.
COPY and ADD become layer entries (copy semantics, here) that the format package `layers`
writes in the stage's format (Linux diff or Windows layer): the assembler never branches on
the format.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from e2e_images.build.dockerfile import (
    Add,
    Arg,
    BuildContext,
    Cmd,
    Copy,
    Entry,
    Entrypoint,
    Env,
    Expose,
    Healthcheck,
    Label,
    Listing,
    Maintainer,
    ResolvedStage,
    Run,
    Shell,
    Step,
    StopSignal,
    User,
    Volume,
    Workdir,
    resolve_sources,
)
from e2e_images.errors import BuildError, DockerfileError
from e2e_images.layers import layer_for
from e2e_images.layers.linux import FileKind, LayerEntry
from e2e_images.oci import media_types as mt
from e2e_images.oci.fs import EntryType, LayerFS
from e2e_images.oci.image import Image, Layer
from e2e_images.oci.models import ImagePlatform, build_manifest
from e2e_images.oci.mutate import append_layers, scratch, with_platform, with_runtime
from e2e_images.platforms import image_platform

__all__ = ["AssemblyInputs", "assemble_stage", "stage_error"]

FetchUrl = Callable[[str, str | None], bytes]


@dataclass(frozen=True, slots=True)
class AssemblyInputs:
    context: BuildContext
    epoch: int
    created: str
    stages: Mapping[int, Image]  # the stages built so far
    stage_names: Mapping[str, int]
    image: Callable[[str, ImagePlatform], Image]  # an external image by ref and platform
    fetch_url: FetchUrl
    dockerfile: str
    _views: dict[str, LayerFS] = field(default_factory=dict)

    def view(self, image: Image) -> LayerFS:
        """One filesystem view per source image for the whole build."""
        if image.digest not in self._views:
            self._views[image.digest] = LayerFS.open(image)
        return self._views[image.digest]


def stage_error(stage: ResolvedStage, message: str, path: str, hint: str | None = None
                ) -> DockerfileError:
    return DockerfileError(message, path=path, line=stage.line, hint=hint)


def _oci_platform(stage: ResolvedStage, base: Image | None) -> ImagePlatform:
    p = stage.platform
    if base is not None and base.platform.os == p.os:
        b = base.platform  # os.version and os.features come from the base, as on Windows
        return ImagePlatform(p.os, p.arch, p.oci_variant, b.os_version, b.os_features)
    return ImagePlatform(p.os, p.arch, p.oci_variant)


def _base(stage: ResolvedStage, inputs: AssemblyInputs) -> Image | None:
    if stage.base.kind == "scratch":
        return None
    if stage.base.kind == "stage":
        assert stage.base.stage is not None
        return inputs.stages[stage.base.stage]
    return inputs.image(stage.base.ref, image_platform(stage.platform))


def _listing(view: LayerFS) -> Listing:
    kinds = {EntryType.FILE: "file", EntryType.HARDLINK: "file", EntryType.DIR: "dir",
             EntryType.SYMLINK: "symlink"}
    return Listing(tuple(
        Entry(e.path.lstrip("/"), kinds[e.type], e.size, e.mode & 0o7777,
              e.linkname if e.type is EntryType.SYMLINK else None)
        for e in view.walk("/") if e.type in kinds and e.path != "/"))


def _owner(cmd: Copy | Add, stage: ResolvedStage, path: str) -> tuple[int, int]:
    if not cmd.chown:
        return 0, 0
    user, _, group = cmd.chown.partition(":")
    try:
        uid = 0 if user == "root" else int(user)
        gid = uid if not group else (0 if group == "root" else int(group))
    except ValueError:
        raise stage_error(stage, f"--chown={cmd.chown}: only numeric ids (or root) are "
                          "supported without a RUN stage", path) from None
    return uid, gid


def _mode(cmd: Copy | Add, default: int) -> int:
    return int(cmd.chmod, 8) if cmd.chmod else default


def _untar(data: bytes, dest: str, uid: int, gid: int) -> Iterable[LayerEntry]:
    kinds = {tarfile.DIRTYPE: FileKind.DIR, tarfile.SYMTYPE: FileKind.SYMLINK,
             tarfile.LNKTYPE: FileKind.HARDLINK}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for m in tar:
            name = m.name.lstrip("/").removeprefix("./")
            if not name or ".." in name.split("/") or not (m.isfile() or m.type in kinds):
                continue
            path = posixpath.join(dest, name)
            if m.isfile():
                f = tar.extractfile(m)
                yield LayerEntry(path, FileKind.FILE, f.read() if f else b"", m.mode, uid, gid)
            else:
                link = posixpath.join(dest, m.linkname) if m.islnk() else m.linkname
                yield LayerEntry(path, kinds[m.type], mode=m.mode, uid=uid, gid=gid, link=link)


def _copy_entries(cmd: Copy | Add, step: Step, stage: ResolvedStage,
                  inputs: AssemblyInputs) -> list[LayerEntry]:
    uid, gid = _owner(cmd, stage, inputs.dockerfile)
    view: LayerFS | None = None
    if isinstance(cmd, Copy) and cmd.from_ is not None:
        source = _from_image(cmd, stage, inputs)
        view = inputs.view(source)
        plan = resolve_sources(cmd, _listing(view), workdir=step.workdir, clamp=True)
    else:
        plan = resolve_sources(cmd, inputs.context.listing, workdir=step.workdir,
                               read_head=inputs.context.read_head)
    entries: list[LayerEntry] = []
    for item in plan.items:
        if view is not None:
            entry = view.resolve("/" + item.source, follow_last=False) if item.source != "." \
                else None
            if item.kind == "dir":
                mode = entry.mode if entry else 0o755
                entries.append(LayerEntry(item.dest, FileKind.DIR, mode=_mode(cmd, mode),
                                           uid=uid, gid=gid))
            elif entry is not None and entry.type is EntryType.SYMLINK:
                entries.append(LayerEntry(item.dest, FileKind.SYMLINK, mode=0o777, uid=uid,
                                          gid=gid, link=entry.linkname))
            else:
                data = view.read("/" + item.source)
                mode = entry.mode if entry else 0o644
                entries.append(LayerEntry(item.dest, FileKind.FILE, data, _mode(cmd, mode),
                                          uid, gid))
            continue
        local = inputs.context.listing.get(item.source)
        path = Path(inputs.context.root, item.source)
        if item.kind == "dir":
            entries.append(LayerEntry(item.dest, FileKind.DIR, mode=_mode(cmd, local.mode if
                                      local else 0o755), uid=uid, gid=gid))
        elif item.kind == "symlink" and local is not None and local.target is not None:
            entries.append(LayerEntry(item.dest, FileKind.SYMLINK, mode=0o777, uid=uid,
                                      gid=gid, link=local.target))
        elif item.archive:
            entries.extend(_untar(path.read_bytes(), item.dest, uid, gid))
        else:
            entries.append(LayerEntry(item.dest, FileKind.FILE, path.read_bytes(),
                                      _mode(cmd, local.mode if local else 0o644), uid, gid))
    for remote in plan.remote:
        try:
            data = inputs.fetch_url(remote.url, remote.checksum)
        except BuildError as exc:  # a checksum mismatch names the ADD line
            raise BuildError(exc.message, path=inputs.dockerfile, line=cmd.loc.line,
                             hint=exc.hint) from None
        entries.append(LayerEntry(remote.dest, FileKind.FILE, data, _mode(cmd, 0o600), uid,
                                  gid))
    return entries


def _from_image(cmd: Copy, stage: ResolvedStage, inputs: AssemblyInputs) -> Image:
    ref = cmd.from_ or ""
    index = inputs.stage_names.get(ref.lower())
    if index is None and ref.isdigit():
        index = int(ref)
    if index is not None:
        if index not in inputs.stages:
            raise stage_error(stage, f"COPY --from={ref}: stage not built", inputs.dockerfile)
        return inputs.stages[index]
    return inputs.image(ref, image_platform(stage.platform))


def _layer(entries: list[LayerEntry], stage: ResolvedStage, epoch: int, manifest_type: str,
           history: Mapping[str, Any]) -> Layer:
    """One gzip layer in the stage's format, typed to match the manifest (Docker v2s2 bases
    keep Docker types)."""
    kind = mt.DOCKER_LAYER_GZIP if mt.is_docker(manifest_type) else mt.OCI_LAYER_GZIP
    layer = layer_for(stage.platform.os, entries, epoch=epoch, media_type=kind)
    return replace(layer, history=history)


def _shell_form(command: tuple[str, ...], shell_form: bool, step: Step, windows: bool
                ) -> list[str]:
    if not shell_form:
        return list(command)
    shell = list(step.shell) or (["cmd", "/S", "/C"] if windows else ["/bin/sh", "-c"])
    return [*shell, *command]


def _runtime_change(ins: object, step: Step, runtime: Mapping[str, Any], windows: bool,
                    cmd_set: bool) -> dict[str, Any]:
    match ins:
        case Label(pairs=pairs):
            return {"Labels": {kv.key: kv.value for kv in pairs}}
        case User(user=user):
            return {"User": user}
        case Expose(ports=ports):
            exposed = dict(runtime.get("ExposedPorts") or {})
            exposed |= {p if "/" in p else f"{p}/tcp": {} for p in ports}
            return {"ExposedPorts": exposed}
        case Volume(paths=paths):
            return {"Volumes": {**(runtime.get("Volumes") or {}), **{p: {} for p in paths}}}
        case Cmd(command=command, shell_form=shell_form):
            return {"Cmd": _shell_form(command, shell_form, step, windows)}
        case Entrypoint(command=command, shell_form=shell_form):
            # ENTRYPOINT resets a CMD inherited from the base, as Docker does.
            return {"Entrypoint": _shell_form(command, shell_form, step, windows),
                    **({} if cmd_set else {"Cmd": None})}
        case Shell(shell=shell):
            return {"Shell": list(shell)}
        case StopSignal(signal=signal):
            return {"StopSignal": signal}
        case Healthcheck() as h:
            if h.none:
                return {"Healthcheck": {"Test": ["NONE"]}}
            test = (["CMD-SHELL", *h.command] if h.shell_form else ["CMD", *h.command])
            check: dict[str, Any] = {"Test": test}
            for key, value in (("Interval", h.interval), ("Timeout", h.timeout),
                               ("StartPeriod", h.start_period), ("Retries", h.retries)):
                if value is not None:
                    check[key] = value
            return {"Healthcheck": check}
    return {}


def assemble_stage(stage: ResolvedStage, inputs: AssemblyInputs) -> Image:
    """Build one stage natively; RUN is an error naming the line (the caller routes RUN
    stages of Linux targets to buildah)."""
    windows = stage.platform.is_windows
    for step in stage.steps:
        if isinstance(step.instruction, Run):
            hint = ("move the work into a `FROM --platform=linux/amd64 ... AS prep` stage and "
                    "COPY --from=prep" if windows else "build this stage with buildah")
            raise DockerfileError(
                f"RUN in a {'Windows' if windows else 'natively built'} stage: nothing can "
                f"execute {'Windows binaries' if windows else 'it'} here",
                path=inputs.dockerfile, line=step.instruction.loc.line, hint=hint)
    base = _base(stage, inputs)
    platform = _oci_platform(stage, base)
    if base is None:
        image = scratch(platform, created=inputs.created)
    else:  # the base's manifest annotations describe the base, not this image
        m = base.manifest
        image = Image(build_manifest(m.config, m.layers, media_type=m.media_type),
                      base.config, base.source)
    if image.config.platform != platform:
        image = with_platform(image, platform)
    cmd_set = False
    added_dirs: set[str] = set()
    for step in stage.steps:
        ins = step.instruction
        created_by = ins.loc.original.strip()
        history = {"created_by": created_by, "comment": "e2e-images native"}
        if isinstance(ins, Copy | Add):
            entries = _copy_entries(ins, step, stage, inputs)
            added_dirs |= {posixpath.dirname(e.path) for e in entries}
            added_dirs |= {e.path for e in entries if e.kind is FileKind.DIR}
            layer = _layer(entries, stage, inputs.epoch, image.manifest.media_type, history)
            image = append_layers(image, [layer], created=inputs.created)
        elif isinstance(ins, Workdir):
            path = posixpath.normpath(posixpath.join(step.workdir or "/", ins.path))
            if path != "/" and path not in added_dirs:
                layer = _layer([LayerEntry(path, FileKind.DIR, mode=0o755)], stage,
                               inputs.epoch, image.manifest.media_type, history)
                image = append_layers(image, [layer], created=inputs.created)
                added_dirs.add(path)
            image = with_runtime(image, {"WorkingDir": path}, history=history,
                                 created=inputs.created)
        elif isinstance(ins, Env | Arg | Maintainer):
            if isinstance(ins, Env):
                image = with_runtime(image, {}, history=history, created=inputs.created)
        else:
            change = _runtime_change(ins, step, image.config.runtime, windows, cmd_set)
            cmd_set = cmd_set or isinstance(ins, Cmd)
            image = with_runtime(image, change, history=history, created=inputs.created)
    env = [f"{k}={v}" for k, v in stage.env]
    image = with_runtime(image, {"Env": env or None}, created=inputs.created)
    return image
