"""The buildx backend: upstream's own path, where `docker buildx` exists.

Per-platform tags must be single manifests: BuildKit >= 0.10 attaches provenance by default,
which turns every tag into an index and breaks manifest-list creation, so the command always
carries `--provenance=false --sbom=false`. The list itself is assembled by `publish`, which
reads os.version from each pushed config (buildx imagetools loses it: docker/buildx#563).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

from e2e_images.errors import BuildError
from e2e_images.plan import BuildTarget

__all__ = ["buildx_available", "buildx_command", "run_buildx"]


def buildx_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "buildx", "version"], capture_output=True, text=True)
    return probe.returncode == 0


def buildx_command(target: BuildTarget, dockerfile: str, context: str, *,
                   extra_args: Mapping[str, str] | None = None,
                   builder: str | None = None) -> list[str]:
    cmd = ["docker", "buildx", "build"]
    if builder:
        cmd += ["--builder", builder]
    cmd += ["--progress=plain", "--pull", "--platform", target.platform.oci_platform,
            "--provenance=false", "--sbom=false", "--output=type=registry",
            "-t", target.tag, "-f", dockerfile]
    for k, v in {**target.build_args, **(extra_args or {})}.items():
        cmd += ["--build-arg", f"{k}={v}"]
    for k, v in target.labels.items():
        cmd += ["--label", f"{k}={v}"]
    return [*cmd, context]


def run_buildx(cmd: list[str]) -> None:
    if not buildx_available():
        raise BuildError("docker buildx is not available on this machine",
                         hint="use --builder auto (native + buildah) or install buildx")
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-6:])
        raise BuildError(f"docker buildx build failed: {tail}")
