"""Build one plan target and push it: the path shared by `e2e-images build` and the fixtures.

Per target: a staging copy of the image directory with its Go payloads compiled in; the
Dockerfile rendered (BASEARCH) and resolved for the target platform; then each needed stage
built by the backend that can (`auto`: native without RUN, buildah with RUN, Linux only);
then the final image pushed as a single manifest, base layers mounted rather than copied.
A tag that already holds the built digest is left alone, so re-runs push nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from filelock import FileLock

from e2e_images.atomic import entry_lock
from e2e_images.build.artifact_map import ArtifactRouter
from e2e_images.build.buildah import Buildah, BuildahRequest
from e2e_images.build.digests import json_key, tree_digest
from e2e_images.build.dockerfile import (
    Add,
    BaseImageConfig,
    ResolvedDockerfile,
    ResolvedStage,
    list_context,
    parse_dockerfile,
    resolve,
)
from e2e_images.build.dockerfile.precheck import check_copy_sources
from e2e_images.build.fetch import unreachable
from e2e_images.build.fingerprint import (
    file_digest,
    lookup,
    record,
    sources_digest,
    target_fingerprint,
)
from e2e_images.build.gobuild import compile_payloads
from e2e_images.build.native import AssemblyInputs, FetchUrl, assemble_stage
from e2e_images.build.remote_docker import RemoteDaemon, build_remote
from e2e_images.catalog import cross_build_qemu, read_text, render_dockerfile
from e2e_images.errors import BuildError, DockerfileError, MissingBaseError, RegistryError
from e2e_images.oci.image import Image
from e2e_images.oci.layout import Layout
from e2e_images.oci.models import (
    ConfigFile,
    Descriptor,
    ImagePlatform,
    Index,
    Manifest,
    build_manifest,
)
from e2e_images.oci.mutate import with_config, with_runtime
from e2e_images.plan import BuildTarget
from e2e_images.platforms import Platform, build_platform, image_platform
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import parse_reference
from e2e_images.registry.write import Written, write_image

__all__ = ["BACKENDS", "BuildEnv", "TargetBuild", "build_target", "current_digest", "iso_time",
           "record_push", "unchanged_manifest", "unchanged_tag"]

BACKENDS = ("auto", "native", "buildah", "legacy")
BASE_NAME_ANNOTATION = "org.opencontainers.image.base.name"
BUILDAH_DOCKERFILE = ".e2e-images.Dockerfile"  # written into the staging context
BASE_REF = "base"  # the ref name of a base in its cached OCI layout
_ADD_URL = re.compile(r"(?im)^(\s*ADD\b[^\n]*?\s)(https?://\S+)")


def iso_time(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass
class BuildEnv:
    """What every target build shares: registries, caches, the clock, the backends."""

    pool: ClientPool
    cache: Path
    epoch: int
    fetch_url: FetchUrl  # ADD <url> for native stages: (url, checksum) -> bytes
    mirror_url: Callable[[str], str] | None = None  # ADD URLs rewritten for buildah
    backend: str = "auto"
    insecure_hosts: tuple[str, ...] = ()  # plain-HTTP registries buildah may pull from
    daemons: Mapping[str, RemoteDaemon] = field(default_factory=dict)  # legacy: per release
    qemu_dir: Path = Path("/usr/bin")  # qemu-<arch>-static for CROSS_BUILD_ (qemu-user-static)
    hermetic: bool = False  # upstream bases come from the stand-ins (for error messages)
    artifacts: ArtifactRouter | None = None  # which ADD URLs are mapped (--artifacts, mirror)
    # Upstream images read during this run, by (ref, platform): a run never pushes to them,
    # so 40 images on one base resolve its tag once, not 40 times.
    upstream: dict[tuple[str, ImagePlatform], Image] = field(default_factory=dict, repr=False)
    _buildah: Buildah | None = field(default=None, repr=False)

    def buildah(self) -> Buildah:
        if self._buildah is None:
            self._buildah = Buildah(self.cache / "buildah", mirrors=self.pool.mirrors,
                                    insecure_hosts=self.insecure_hosts)
        return self._buildah


@dataclass(frozen=True, slots=True)
class TargetBuild:
    target: BuildTarget
    digest: str
    backend: str
    bytes_pushed: int
    seconds: float
    pushed: bool  # False: the tag already held this digest
    entry: Descriptor | None = None  # the pushed manifest with its config's platform, when
    # this build holds them (a list takes it as is instead of reading the child back)


def _stage_context(target: BuildTarget, env: BuildEnv) -> Path:
    """A private copy of the image directory with the Go payloads compiled in (private: two
    runs building the same target at once must not share it), and, as image-util.sh does for
    CROSS_BUILD_ lines, the host's qemu-<arch>-static."""
    parent = env.cache / "contexts"
    parent.mkdir(parents=True, exist_ok=True)
    ctx = Path(tempfile.mkdtemp(prefix=f"{target.id}.", dir=parent)) / "context"
    shutil.copytree(target.context, ctx, symlinks=True)
    if target.go.needs_make:
        make_bin(target, ctx)
    else:
        compile_payloads(target.go, target.context, target.platform, ctx, env.cache)
    qemu = cross_build_qemu(target.dockerfile.read_text(), target.platform,
                            target.dockerfile.name)
    if qemu is not None:
        host = env.qemu_dir / qemu
        if not host.is_file():
            raise BuildError(f"{target.id}: the Dockerfile has CROSS_BUILD_ lines and needs "
                             f"{host}, which is missing", path=str(target.dockerfile),
                             hint="apt-get install qemu-user-static (hack/bootstrap.sh does)")
        shutil.copyfile(host, ctx / qemu)
        os.chmod(ctx / qemu, 0o755)
    return ctx


def make_bin(target: BuildTarget, ctx: Path) -> None:
    """An image whose Makefile has a `bin` recipe of its own: run it as image-util.sh does."""
    if shutil.which("make") is None:
        raise BuildError(f"{target.id}: the Makefile has its own `bin` recipe and needs make",
                         path=target.go.source, hint="apt-get install make "
                         "(hack/bootstrap.sh does)")
    cmd = ["make", "-C", str(target.context), "bin", f"OS={target.platform.os}",
           f"ARCH={target.platform.arch}", f"TARGET={ctx}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise BuildError(f"{target.id}: `{' '.join(cmd)}` exited {result.returncode}: {tail}",
                         path=target.go.source)


class _Images:
    """The images one build reads, fetched once each (resolve and fingerprint share them);
    images outside the target registry (upstream bases) once per run, in `upstream`."""

    def __init__(self, pool: ClientPool, target: BuildTarget | None = None,
                 hermetic: bool = False,
                 upstream: dict[tuple[str, ImagePlatform], Image] | None = None) -> None:
        self.pool = pool
        self.target = target
        self.hermetic = hermetic
        self._seen: dict[tuple[str, ImagePlatform], Image] = {}
        registry = target.build_args.get("REGISTRY", "") if target is not None else ""
        self._ours = registry.rstrip("/") + "/" if registry else None
        self._upstream = upstream if upstream is not None else {}

    def get(self, ref: str, platform: ImagePlatform | Platform) -> Image:
        key = (ref, image_platform(platform))
        if key not in self._seen:
            shared = self._ours is not None and not ref.startswith(self._ours)
            if shared and key in self._upstream:
                self._seen[key] = self._upstream[key]
                return self._seen[key]
            try:
                self._seen[key] = self.pool.image(ref, key[1])
            except RegistryError as exc:
                if self.target is None:
                    raise
                raise missing_base(self.target, ref, self.pool, self.hermetic, exc) from None
            if shared:
                self._upstream[key] = self._seen[key]
        return self._seen[key]


def _asked_by(target: BuildTarget, ref: str) -> tuple[str, int | None, str]:
    """Which file and line asked for `ref`: the BASEIMAGE line, else a Dockerfile line."""
    if ref == target.base_image and target.baseimage_line:
        path = target.context / "BASEIMAGE"
        return str(path), target.baseimage_line, f"BASEIMAGE line {target.baseimage_line}"
    lines = target.dockerfile.read_text().splitlines()
    number = next((n for n, text in enumerate(lines, 1) if ref in text), None) or next(
        (n for n, text in enumerate(lines, 1) if text.strip().upper().startswith("FROM")), None)
    return str(target.dockerfile), number, f"{target.dockerfile.name} line {number}"


def missing_base(target: BuildTarget, ref: str, pool: ClientPool, hermetic: bool,
                 exc: RegistryError) -> MissingBaseError:
    """A base image the build cannot read, said so that the user knows what to do."""
    path, line, asked = _asked_by(target, ref)
    where = str(pool.resolve(ref))
    looked = (f"the hermetic stand-in {where}" if hermetic else
              f"{where} (through the mirror map)" if where != str(parse_reference(ref))
              else where)
    hint = ("the stand-ins cover busybox, httpd, nginx (also their per-arch Docker Hub names) "
            "and the Windows bases; for other bases use --registry with --mirrors FILE "
            "mapping the upstream registry to a mirror that has it" if hermetic else
            "give --mirrors FILE mapping the upstream registry to a mirror that has it, or "
            "--registry a registry that can reach it")
    return MissingBaseError(f"{target.image_dir}: base image {ref} ({asked}) for "
                            f"{target.platform.key} was not found: looked for {looked}: "
                            f"{exc.message}", path=path, line=line, hint=hint,
                            status=exc.status)


def _resolve(target: BuildTarget, images: _Images, text: str) -> ResolvedDockerfile:
    def base_config(ref: str, platform: Platform) -> BaseImageConfig:
        config = images.get(ref, platform).config
        env_pairs = tuple(tuple(e.split("=", 1)) for e in config.runtime.get("Env") or ()
                          if "=" in e)
        return BaseImageConfig(env=env_pairs,  # type: ignore[arg-type]
                               workdir=str(config.runtime.get("WorkingDir") or ""),
                               user=str(config.runtime.get("User") or ""),
                               shell=tuple(config.runtime.get("Shell") or ()))

    return resolve(parse_dockerfile(text, str(target.dockerfile)),
                   build_args=dict(target.build_args), target=target.platform,
                   build=build_platform(), base_config=base_config)


def _buildah_dockerfile(text: str, ctx: Path, env: BuildEnv,
                        bases: Mapping[int, str] | None = None,
                        resolved: ResolvedDockerfile | None = None) -> Path:
    """The Dockerfile buildah sees: ADD URLs pointed at the artifact mirror, and each FROM
    of an image replaced by the local name its base was imported under (`bases`: stage
    index -> name), line numbers kept."""
    if bases and resolved is not None:
        lines = text.split("\n")
        parsed = parse_dockerfile(text, resolved.path)
        for index, name in bases.items():
            stage, loc = resolved.stages[index], parsed.stages[index].loc
            flag = f"--platform={stage.platform.oci_platform} " if stage.platform_explicit else ""
            alias = f" AS {stage.name}" if stage.name else ""
            lines[loc.line - 1:loc.end_line] = [f"FROM {flag}{name}{alias}",
                                                *[""] * (loc.end_line - loc.line)]
        text = "\n".join(lines)
    if env.mirror_url is not None:
        text = _ADD_URL.sub(lambda m: m.group(1) + env.mirror_url(m.group(2)), text)
    path = ctx / BUILDAH_DOCKERFILE
    path.write_text(text)
    return path


def _stage_key(resolved: ResolvedDockerfile, index: int, context_digest: str,
               env: BuildEnv, images: _Images) -> str:
    """What a buildah stage's result depends on: the expanded instructions of it and of the
    stages before it (file and line left out, so the same prep stage in two Dockerfiles or
    for two Windows releases is one entry), their bases' digests, platform, context, epoch."""
    stages = []
    for stage in resolved.stages[: index + 1]:
        if not stage.needed:
            continue
        base = stage.base.ref
        if stage.base.kind == "image":
            base = images.get(stage.base.ref, stage.platform).digest
        steps = [repr(replace(step.instruction, loc=None)) for step in stage.steps]
        stages.append([stage.name, stage.platform.key, stage.base.kind, base, steps])
    return json_key(stages, context_digest, env.epoch)


def _buildah_stage(target: BuildTarget, env: BuildEnv, text: str, ctx: Path, stage_index: int,
                   resolved: ResolvedDockerfile, context_digest: str, images: _Images
                   ) -> Image:
    """A RUN stage through buildah into an OCI layout, cached by content: equal stages of
    other targets reuse it, and a lock keeps two of them from building it at once."""
    stage = resolved.stages[stage_index]
    key = _stage_key(resolved, stage_index, context_digest, env, images)
    layout_dir = env.cache / "stages" / key
    layout_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(layout_dir) + ".lock"):
        if not (layout_dir / "index.json").is_file():
            bases = _import_bases(env, resolved, stage_index, images)
            building = layout_dir.with_name(f"{key}.{uuid.uuid4().hex}.partial")
            Layout.init(building)
            dockerfile = _buildah_dockerfile(text, ctx, env, bases, resolved)
            request = BuildahRequest(dockerfile, ctx, stage.platform, env.epoch,
                                     target_stage=stage.name or str(stage_index),
                                     build_args=dict(target.build_args))
            try:
                env.buildah().build(request, f"oci:{building}:stage")
                os.replace(building, layout_dir)
            finally:
                shutil.rmtree(building, ignore_errors=True)
    image = Layout(layout_dir).image("stage")
    assert isinstance(image, Image)
    return _without_base_refs(image)


def _import_bases(env: BuildEnv, resolved: ResolvedDockerfile, index: int, images: _Images
                  ) -> dict[int, str]:
    """Every image a buildah build up to stage `index` starts FROM, fetched by our client
    (retries, mirrors, credentials) into an OCI layout cached by digest, then imported into
    buildah's storage under a name of its digest: buildah itself never pulls (it builds with
    `--pull=never`). Returns stage index -> local name."""
    bases: dict[int, str] = {}
    for stage in resolved.stages[: index + 1]:
        if not stage.needed or stage.base.kind != "image":
            continue
        image = images.get(stage.base.ref, stage.platform)
        layout = env.cache / "bases" / image.digest.replace(":", "-")
        if not (layout / "index.json").is_file():
            with entry_lock(layout):
                if not (layout / "index.json").is_file():
                    building = layout.with_name(f".{layout.name}.{uuid.uuid4().hex}.partial")
                    try:
                        Layout.init(building).write_image(image, BASE_REF)
                        os.replace(building, layout)
                    finally:
                        shutil.rmtree(building, ignore_errors=True)
        name = f"localhost/e2e-images-base:{image.digest.split(':', 1)[1]}"
        env.buildah().import_base(layout, BASE_REF, name)
        bases[stage.index] = name
    return bases


def _without_base_refs(parts: Image) -> Image:
    """buildah notes `FROM <base ref>` in history and `org.opencontainers.image.base.name` on
    the manifest, and the ref carries the registry's address: both dropped (the base digest
    annotation stays), so the same sources give the same digests wherever they are built."""
    history = [{k: v for k, v in h.items()
                if not (k == "comment" and str(v).startswith("FROM "))}
               for h in parts.config.history]
    config = ConfigFile.build(parts.config.platform, parts.config.runtime,
                              parts.config.diff_ids, history, parts.config.created)
    m = parts.manifest
    annotations = {k: v for k, v in m.annotations.items() if k != BASE_NAME_ANNOTATION}
    manifest = build_manifest(m.config, m.layers, media_type=m.media_type,
                              annotations=annotations)
    return with_config(Image(manifest, parts.config, parts.source), config)


def _push(target: BuildTarget, env: BuildEnv, image: Image, final: ResolvedStage) -> Written:
    """The image to its tag; blobs read from the registry are mounted, and the layers a
    buildah layout holds copies of are mounted from the final stage's base repository."""
    ref = parse_reference(target.tag)
    base = env.pool.resolve(final.base.ref) if final.base.kind == "image" else None
    mount_from = base.repository if base and base.registry == ref.registry else None
    return write_image(env.pool.client(ref.registry), ref.repository, image, ref.ref,
                       mount_from=mount_from)


def build_target(target: BuildTarget, env: BuildEnv) -> TargetBuild:
    """Build `target` and push it to its tag; raises BuildError / DockerfileError.

    The inputs are fingerprinted first, from sources: when the registry records that these
    inputs produced the digest the tag holds, nothing is staged, compiled or built."""
    if env.backend not in BACKENDS:
        raise BuildError(f"unknown builder {env.backend!r} (one of {', '.join(BACKENDS)})")
    started = time.monotonic()
    text = render_dockerfile(read_text(target.dockerfile), target.platform,
                             target.dockerfile.name)
    legacy = env.backend == "legacy" and target.platform.is_windows
    inputs = None if legacy else _inputs(target, env, text)
    if inputs is not None:
        unchanged = unchanged_tag(env, target.tag, inputs.fingerprint)
        if unchanged is not None:
            return TargetBuild(target, unchanged, "unchanged", 0, time.monotonic() - started,
                               False)
    ctx = _stage_context(target, env)
    try:
        if inputs is None:
            return _build_legacy(target, env, ctx, text, started)
        return _build(target, env, ctx, text, inputs, started)
    finally:
        shutil.rmtree(ctx.parent, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class _Inputs:
    images: _Images
    resolved: ResolvedDockerfile
    fingerprint: str


def _inputs(target: BuildTarget, env: BuildEnv, text: str) -> _Inputs:
    """Resolve the Dockerfile and fingerprint the target from its sources (the qemu binary
    CROSS_BUILD_ adds included), reading only the manifests and configs of its bases."""
    images = _Images(env.pool, target, env.hermetic, env.upstream)
    resolved = _resolve(target, images, text)
    read = [(d.ref, images.get(d.ref, d.platform).digest) for d in resolved.images]
    qemu = cross_build_qemu(read_text(target.dockerfile), target.platform,
                            target.dockerfile.name)
    extra = [qemu, file_digest(env.qemu_dir / qemu)] if qemu is not None else []
    sources = sources_digest(target.context, target.go, target.platform, env.cache, extra)
    fp = target_fingerprint(
        dockerfile=text, build_args=target.build_args, labels=target.labels, sources=sources,
        images_read=read, epoch=env.epoch, backend=env.backend,
        registry=target.build_args.get("REGISTRY", ""))
    return _Inputs(images, resolved, fp)


def current_digest(target: BuildTarget, env: BuildEnv) -> str | None:
    """The digest `target.tag` holds, if the registry records that the target's current inputs
    produced it; None when the tag is missing, has moved, or holds a build of other inputs (or
    in legacy mode, which is not reproducible). This is the one place that decides whether a
    pushed per-platform tag may stand in for a build (a list's entries beyond a filter).
    Reads the bases' manifests and configs and two small records; builds nothing."""
    if env.backend == "legacy" and target.platform.is_windows:
        return None
    text = render_dockerfile(read_text(target.dockerfile), target.platform,
                             target.dockerfile.name)
    try:
        inputs = _inputs(target, env, text)
    except MissingBaseError as exc:
        if exc.status == 404:
            return None  # a base not pushed (yet): nothing was built from the current inputs
        raise
    return unchanged_tag(env, target.tag, inputs.fingerprint)


def _build_legacy(target: BuildTarget, env: BuildEnv, ctx: Path, text: str,
                  started: float) -> TargetBuild:
    daemon = env.daemons.get(target.platform.release)
    if daemon is None:
        raise BuildError(f"{target.id}: no REMOTE_DOCKER_URL_{target.platform.release}")
    rendered = ctx / BUILDAH_DOCKERFILE
    rendered.write_text(text)
    digest = build_remote(daemon, target, rendered, ctx)
    return TargetBuild(target, digest, "docker-remote", -1, time.monotonic() - started, True)


def _build(target: BuildTarget, env: BuildEnv, ctx: Path, text: str, found: _Inputs,
           started: float) -> TargetBuild:
    images, resolved, fingerprint = found.images, found.resolved, found.fingerprint
    if target.go.needs_make:  # now that `make bin` has run, the context is complete
        check_copy_sources(resolved, list_context(ctx).listing)
    context_digest = tree_digest(ctx, skip=(BUILDAH_DOCKERFILE,))
    _check_downloads(resolved, env)
    if env.backend == "buildah" and target.platform.is_windows:
        raise BuildError(f"{target.id}: buildah cannot build Windows images correctly (it "
                         "writes Linux-layout layers)", hint="use --builder auto or native")
    results: dict[int, Image] = {}  # filled as stages finish; later stages read it
    inputs = AssemblyInputs(
        context=list_context(ctx), epoch=env.epoch, created=iso_time(env.epoch),
        stages=results, stage_names={s.name: s.index for s in resolved.stages if s.name},
        image=images.get,
        fetch_url=env.fetch_url, dockerfile=str(target.dockerfile))
    for index in sorted(resolved.needed):
        stage = resolved.stages[index]
        buildah = stage.has_run or env.backend == "buildah"
        if buildah and not stage.platform.is_windows and env.backend != "native":
            results[index] = _buildah_stage(target, env, text, ctx, index, resolved,
                                            context_digest, images)
        else:
            results[index] = assemble_stage(stage, inputs)
    labelled = with_runtime(results[resolved.target], {"Labels": dict(target.labels)},
                            created=iso_time(env.epoch))
    _check_platform(target, labelled)
    written = _push(target, env, labelled, resolved.stages[resolved.target])
    record_push(env, target.tag, fingerprint, written.digest)
    backends = {"buildah" if resolved.stages[i].has_run or env.backend == "buildah"
                else "native" for i in resolved.needed}
    backend = "+".join(sorted(backends))
    m = labelled.manifest
    entry = Descriptor(m.media_type, m.digest, m.size, platform=labelled.platform)
    return TargetBuild(target, written.digest, backend, written.bytes_pushed,
                       time.monotonic() - started, written.pushed, entry)


def _check_downloads(resolved: ResolvedDockerfile, env: BuildEnv) -> None:
    """Every `ADD <url>` of a needed stage is mapped (--artifacts, the stand-in mirror) or
    reachable from here; otherwise fail before building, naming the line and the URL."""
    for stage in resolved.stages:
        for step in stage.steps if stage.needed else ():
            cmd = step.instruction
            for url in cmd.sources if isinstance(cmd, Add) else ():
                if not url.startswith(("http://", "https://")):
                    continue
                if env.artifacts is not None and env.artifacts.mapped(url):
                    continue
                reason = unreachable(url)
                if reason is not None:
                    raise DockerfileError(
                        f"ADD {url}: no --artifacts entry maps it and it cannot be downloaded "
                        f"from here ({reason})", path=cmd.loc.path, line=cmd.loc.line,
                        hint="give --artifacts FILE mapping its prefix to a mirror or a local "
                             "directory (README: --artifacts)")


def unchanged_tag(env: BuildEnv, tag: str, fingerprint: str) -> str | None:
    """The digest `tag` holds, if the registry records that these very inputs produced it."""
    ref = parse_reference(tag)
    client = env.pool.client(ref.registry)
    recorded = lookup(client, ref.repository, fingerprint)
    if recorded is None:
        return None
    current = client.head_manifest(ref.repository, ref.ref)
    return recorded if current is not None and current.digest == recorded else None


def unchanged_manifest(env: BuildEnv, tag: str, fingerprint: str) -> Manifest | Index | None:
    """What `tag` holds, read whole, if the registry records that these very inputs produced
    it (a list: two small GETs, the record and the list itself)."""
    ref = parse_reference(tag)
    client = env.pool.client(ref.registry)
    recorded = lookup(client, ref.repository, fingerprint)
    if recorded is None:
        return None
    try:
        current = client.get_manifest(ref.repository, ref.ref)
    except RegistryError as exc:
        if exc.status == 404:
            return None
        raise
    return current if current.digest == recorded else None


def record_push(env: BuildEnv, tag: str, fingerprint: str, digest: str) -> None:
    """Record in `tag`'s repository that `fingerprint`'s inputs produced `digest`."""
    ref = parse_reference(tag)
    record(env.pool.client(ref.registry), ref.repository, fingerprint, digest)


def _check_platform(target: BuildTarget, parts: Image) -> None:
    """The image must be what its tag says: a Linux image for linux/amd64/1809 keys."""
    p = parts.config.platform
    if (p.os, p.architecture) != (target.platform.os, target.platform.arch):
        raise DockerfileError(
            f"the final stage builds {p.os}/{p.architecture}, but the target is "
            f"{target.platform.key}", path=str(target.dockerfile),
            hint="use FROM --platform only on helper stages")
