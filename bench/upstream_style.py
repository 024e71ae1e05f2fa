"""Scenario (b): the catalog built the way upstream's image-util.sh does, with buildah.

One target after another: a staging context with the Go payloads, `buildah bud --platform
os/arch -f <Dockerfile> --build-arg ...`, `buildah push`; then per image `buildah manifest
create`, `manifest add` per child and `manifest push --all`. One buildah store for the run
(as upstream has one daemon), vfs driver, chroot isolation. A target buildah cannot build is
recorded as failed, never hidden. With `substitute`, a failed target's tag is then filled by
the caller (our builder, outside the figures) so the targets built on it are still tried
with buildah, rather than all failing for a missing base.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from e2e_images.build.buildah import registries_conf
from e2e_images.build.gobuild import compile_payloads
from e2e_images.catalog import render_dockerfile
from e2e_images.errors import E2EImagesError
from e2e_images.plan import BuildTarget, Plan
from e2e_images.registry.mirrors import MirrorMap

__all__ = ["UpstreamOutcome", "UpstreamRun", "build_upstream_style"]

_FAILURES = (RuntimeError, OSError, E2EImagesError)
_ADD_URL = re.compile(r"(?im)^(\s*ADD\b[^\n]*?\s)(https?://\S+)")


@dataclass(frozen=True, slots=True)
class UpstreamOutcome:
    name: str  # target id, or `<dir> (list)`
    seconds: float
    error: str | None = None


@dataclass(slots=True)
class UpstreamRun:
    outcomes: list[UpstreamOutcome] = field(default_factory=list)
    substituted: list[str] = field(default_factory=list)  # failed, tag filled by our builder

    @property
    def failed(self) -> list[UpstreamOutcome]:
        return [o for o in self.outcomes if o.error]


class _Buildah:
    def __init__(self, root: Path, conf: Path) -> None:
        self.root = root
        self.env = os.environ | {"CONTAINERS_REGISTRIES_CONF": str(conf),
                                 "BUILDAH_ISOLATION": "chroot"}

    def __call__(self, *args: str) -> None:
        cmd = ["buildah", "--storage-driver", "vfs", "--root", str(self.root / "root"),
               "--runroot", str(self.root / "run"), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
        if result.returncode != 0:
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-4:])
            raise RuntimeError(f"buildah {args[0]}: {tail}")


def _stage(target: BuildTarget, cache: Path, mirror_url: Callable[[str], str]) -> Path:
    ctx = cache / "contexts" / target.id
    if ctx.exists():
        shutil.rmtree(ctx)
    shutil.copytree(target.context, ctx, symlinks=True)
    compile_payloads(target.go, target.context, target.platform, ctx, cache)
    text = render_dockerfile(target.dockerfile.read_text(), target.platform)
    text = _ADD_URL.sub(lambda m: m.group(1) + mirror_url(m.group(2)), text)
    dockerfile = ctx / ".bench-upstream.Dockerfile"
    dockerfile.write_text(text)
    return dockerfile


def _build_one(buildah: _Buildah, target: BuildTarget, cache: Path,
               mirror_url: Callable[[str], str]) -> None:
    dockerfile = _stage(target, cache, mirror_url)
    args = ["bud", "--isolation", "chroot", "--platform", target.platform.oci_platform,
            "-f", str(dockerfile), "-t", target.tag]
    for k, v in target.build_args.items():
        args += ["--build-arg", f"{k}={v}"]
    for k, v in target.labels.items():
        args += ["--label", f"{k}={v}"]
    buildah(*args, str(dockerfile.parent))
    buildah("push", "--tls-verify=false", target.tag, f"docker://{target.tag}")


def build_upstream_style(plan: Plan, *, work: Path, mirrors: MirrorMap,
                         insecure_hosts: tuple[str, ...], mirror_url: Callable[[str], str],
                         progress: Callable[[str], None] = lambda _: None,
                         substitute: Callable[[BuildTarget], bool] | None = None
                         ) -> UpstreamRun:
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "registries.conf"
    conf.write_text(registries_conf(mirrors, insecure_hosts))
    buildah = _Buildah(work / "buildah", conf)
    run = UpstreamRun()
    for image in plan.images:
        built: list[BuildTarget] = []
        for target in image.targets:
            started = time.monotonic()
            try:
                _build_one(buildah, target, work, mirror_url)
            except _FAILURES as exc:  # a failed target is a figure here
                run.outcomes.append(UpstreamOutcome(target.id, time.monotonic() - started,
                                                    str(exc)[:2000]))
                progress(f"(b) FAIL {target.id}: {str(exc)[:300]}")
                if substitute is not None and substitute(target):
                    run.substituted.append(target.id)
                continue
            built.append(target)
            run.outcomes.append(UpstreamOutcome(target.id, time.monotonic() - started))
            progress(f"(b) done {target.id} {time.monotonic() - started:.1f}s")
        if not image.has_list or len(built) != len(image.targets):
            continue
        started = time.monotonic()
        local = f"localhost/bench-list/{image.spec.dir}:{image.spec.version}"
        try:
            buildah("manifest", "create", local)
            for target in built:
                extra = ["--os-version", target.os_version] if target.os_version else []
                buildah("manifest", "add", "--tls-verify=false", *extra, local,
                        f"docker://{target.tag}")
            buildah("manifest", "push", "--all", "--tls-verify=false", local,
                    f"docker://{image.list_tag}")
        except _FAILURES as exc:
            run.outcomes.append(UpstreamOutcome(f"{image.spec.dir} (list)",
                                                time.monotonic() - started, str(exc)[:2000]))
            progress(f"(b) FAIL list {image.spec.dir}: {str(exc)[:200]}")
            continue
        run.outcomes.append(UpstreamOutcome(f"{image.spec.dir} (list)",
                                            time.monotonic() - started))
        progress(f"(b) list {image.spec.dir}")
    return run
