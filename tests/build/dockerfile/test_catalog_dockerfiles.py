"""Every Dockerfile in the repository's images/ parses and resolves for each catalog target."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from e2e_images.build.dockerfile import (
    Add,
    Copy,
    Entry,
    Listing,
    list_context,
    parse_dockerfile,
    resolve,
    resolve_sources,
)
from e2e_images.platforms import Platform
from e2e_images.workspace import load_plan

IMAGES = Path(__file__).resolve().parents[3] / "images"
BUILD = Platform("linux", "amd64")
PLAN = load_plan(IMAGES, "example.com/e2e")
TARGETS = PLAN.targets()


def test_every_dockerfile_is_used_by_a_target():
    on_disk = {p for p in IMAGES.rglob("Dockerfile*") if p.name in ("Dockerfile",
                                                                     "Dockerfile_windows")}
    assert on_disk, "no Dockerfiles under images/"
    assert on_disk == {t.dockerfile for t in TARGETS}


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.id)
def test_resolves_for_target(target):
    df = parse_dockerfile(target.dockerfile.read_bytes(), str(target.dockerfile))
    resolved = resolve(df, build_args=target.build_args, target=target.platform, build=BUILD)
    final = resolved.final
    # The result is for this target's platform; a Dockerfile that declares BASEIMAGE builds
    # some needed stage on it (the final one, or a helper stage of a cache image).
    assert final.platform == target.platform
    declared = {d.name for a in df.meta_args for d in a.args}
    if target.base_image and "BASEIMAGE" in declared:
        assert any(s.base.ref == target.base_image for s in resolved.stages if s.needed)
    elif target.base_image:
        assert "BASEIMAGE" in resolved.unused_build_args
    for stage in resolved.stages:
        if stage.needed and stage.platform.is_windows:
            assert not stage.has_run, f"{target.dockerfile}:{stage.line}: a Windows stage RUNs"
        if stage.base.kind == "image":
            assert "$" not in stage.base.ref
    text = target.dockerfile.read_text()
    for name in resolved.unused_build_args:
        assert name in target.build_args
        assert not re.search(rf"^\s*ARG\s+(.*\s)?{name}\b", text, re.M | re.I)

    # Context sources resolve, once the Go programs the build compiles first are counted in.
    context = list_context(target.context)
    generated = tuple(Entry(src, "file") for src in target.go.srcs)
    listing = Listing(context.listing.entries + generated, context.listing.ignored)
    for stage in resolved.stages:
        for step in stage.steps:
            cmd = step.instruction
            if isinstance(cmd, Add) or (isinstance(cmd, Copy) and cmd.from_ is None):
                resolve_sources(cmd, listing, workdir=step.workdir, read_head=context.read_head)


CACHE_TARGETS = [t for t in TARGETS if t.image_dir == "windows-servercore-cache"]


@pytest.mark.parametrize("target", CACHE_TARGETS, ids=lambda t: t.id)
def test_windows_platform_flag_takes_the_target_release(target):
    """`FROM --platform=windows/amd64` in a linux/amd64/<release> build means that release."""
    df = parse_dockerfile(target.dockerfile.read_bytes(), str(target.dockerfile))
    resolved = resolve(df, build_args=target.build_args, target=target.platform, build=BUILD)
    core = next(s for s in resolved.stages if s.name == "core")
    assert core.platform == Platform("windows", "amd64", release=target.platform.release)
    assert core.platform.os_version is not None
    assert resolved.final.platform == target.platform
    assert [(d.ref, d.via) for d in resolved.images] == [(target.base_image, "FROM")]
