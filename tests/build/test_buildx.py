"""The buildx backend's command lines (buildx runs where installed; not on this machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_images.build.buildx import buildx_available, buildx_command, run_buildx
from e2e_images.errors import BuildError
from e2e_images.workspace import load_plan

IMAGES = Path(__file__).resolve().parents[2] / "images"


def target(tid: str):
    plan = load_plan(IMAGES, "gcr.io/k8s-staging-e2e-test-images")
    return next(t for t in plan.targets() if t.id == tid)


def test_windows_target_command_line():
    t = target("agnhost-windows-amd64-ltsc2022")
    cmd = buildx_command(t, "Dockerfile_windows", "/ctx", builder="img-builder")
    assert cmd[:5] == ["docker", "buildx", "build", "--builder", "img-builder"]
    assert "--provenance=false" in cmd and "--sbom=false" in cmd
    assert "--output=type=registry" in cmd
    assert cmd[cmd.index("--platform") + 1] == "windows/amd64"
    assert cmd[cmd.index("-t") + 1] == t.tag and cmd[cmd.index("-f") + 1] == "Dockerfile_windows"
    args = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--build-arg"]
    assert f"BASEIMAGE={t.base_image}" in args
    assert "OS_VERSION=ltsc2022" in args and "REGISTRY=gcr.io/k8s-staging-e2e-test-images" in args
    labels = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--label"]
    assert "image_version=2.52" in labels and any(x.startswith("git_url=") for x in labels)
    assert cmd[-1] == "/ctx"


def test_linux_arm_is_v7():
    cmd = buildx_command(target("agnhost-linux-arm"), "Dockerfile", ".")
    assert cmd[cmd.index("--platform") + 1] == "linux/arm/v7"


@pytest.mark.skipif(buildx_available(), reason="docker buildx is installed here")
def test_missing_buildx_is_a_clear_error():
    with pytest.raises(BuildError, match="buildx is not available"):
        run_buildx(buildx_command(target("agnhost-linux-arm"), "Dockerfile", "."))
