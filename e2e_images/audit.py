"""Verify any image or list reference in any registry, without building.

Fetches through the registry pool (the mirror map applies), finds each child's base and the
catalog's expectations when a spec is given, and runs the `verify` checks. The CLI's `verify`
and the CI gate both go through here; `verify/` itself never touches a registry.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from e2e_images.catalog import BaseImageLine, ImageSpec
from e2e_images.errors import E2EImagesError, ManifestUnknown
from e2e_images.oci.image import Image
from e2e_images.oci.models import Index
from e2e_images.platforms import WINDOWS_RELEASES, Platform
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import Reference, parse_reference
from e2e_images.verify.checks.manifest_list import Child
from e2e_images.verify.checks.root_image import BaseImage
from e2e_images.verify.expectations import Expectations
from e2e_images.verify.result import CheckResult, Finding, Report
from e2e_images.verify.runner import run_checks, run_list_checks

__all__ = ["base_image", "fetch_children", "root_images", "verify_image", "verify_reference"]

ROOT_REPOSITORY = "mcr.microsoft.com/windows/{flavor}:{tag}"


def base_image(pool: ClientPool, ref: str, platform: Platform) -> BaseImage:
    """A base (tag or list) for one platform, by layer digests; no layer is read."""
    want = platform if platform.is_windows or not platform.release else Platform(
        "windows", platform.arch, release=platform.release)
    image = pool.image(ref, platform=want)
    return BaseImage(ref, tuple(d.digest for d in image.manifest.layers),
                     image.config.platform.os_version)


def root_images(pool: ClientPool, os_version: str) -> tuple[BaseImage | None, list[BaseImage]]:
    """nanoserver (the root Windows images must start with) and servercore (forbidden) of the
    release an os.version belongs to; None when the release is unknown or unreachable."""
    build = os_version.split(".")[2] if os_version.count(".") >= 2 else ""
    token = next((r.token for r in WINDOWS_RELEASES.values() if str(r.build) == build), None)
    if token is None:
        return None, []
    found: dict[str, BaseImage] = {}
    for flavor in ("nanoserver", "servercore"):
        ref = ROOT_REPOSITORY.format(flavor=flavor, tag=token)
        try:
            found[flavor] = base_image(pool, ref, Platform("windows", "amd64", release=token))
        except E2EImagesError:
            continue
    forbidden = [found["servercore"]] if "servercore" in found else []
    return found.get("nanoserver"), forbidden


def fetch_children(pool: ClientPool, ref: Reference, index: Index) -> dict[str, Child]:
    client = pool.client(ref.registry)
    out: dict[str, Child] = {}
    for d in index.platforms():
        try:
            m = client.get_manifest(ref.repository, d.digest)
        except ManifestUnknown:
            out[d.digest] = None
            continue
        out[d.digest] = m if isinstance(m, Index) else Image.load(
            m, client.repository(ref.repository))
    return out


def _registry_prefix(ref: Reference) -> str:
    """What REGISTRY stands for: the reference's name without its last component."""
    return ref.name.rsplit("/", 1)[0]


def _line_for(spec: ImageSpec, image: Image) -> BaseImageLine | None:
    p = image.config.platform
    for line in spec.lines:
        lp = line.platform
        if (lp.os, lp.arch, lp.oci_variant) != (p.os, p.architecture, p.variant):
            continue
        if lp.os_version is None or p.os_version.startswith(lp.os_version + "."):
            return line
    return None


def _per_platform_line(spec: ImageSpec | None, ref: Reference) -> BaseImageLine | None:
    """The BASEIMAGE line a per-platform tag (`<version>-windows-amd64-ltsc2022`) is for."""
    if spec is None or not ref.tag:
        return None
    return next((line for line in spec.lines
                 if ref.tag == f"{spec.version}-{line.platform.tag_suffix}"), None)


def verify_image(pool: ClientPool, image: Image, *, subject: str, spec: ImageSpec | None,
                 prefix: str, expectations: Expectations | None, fast: bool,
                 line: BaseImageLine | None = None) -> Report:
    """One image; `line` is its BASEIMAGE line when the caller knows it (from a per-platform
    tag), else the first line whose platform the image's config matches."""
    base = None
    if line is None and spec is not None:
        line = _line_for(spec, image)
    if line is not None and line.value:
        try:
            base = base_image(pool, line.base_image(prefix), line.platform)
        except E2EImagesError as exc:
            print(f"note: {subject}: base {line.base_image(prefix)} not read: {exc}",
                  file=sys.stderr)
    root, forbidden = None, []
    section = expectations.for_os(image.platform.os) if expectations is not None else None
    if section is not None and section.root_image:
        root, forbidden = root_images(pool, image.config.platform.os_version)
    report = run_checks(image, expectations=expectations, base=base, root=root,
                        forbidden_roots=forbidden, fast=fast)
    return Report(f"{subject} ({image.platform})", report.results)


def verify_reference(pool: ClientPool, text: str, *, spec: ImageSpec | None = None,
                     expected: Sequence[Platform] = (),
                     expectations: Expectations | None = None, fast: bool = False) -> Report:
    """A list: the list checks, then every child; an image: its checks."""
    ref = pool.resolve(text)
    client = pool.client(ref.registry)
    manifest = client.get_manifest(ref.repository, ref.ref)
    prefix = _registry_prefix(parse_reference(text))
    if not isinstance(manifest, Index):
        image = Image.load(manifest, client.repository(ref.repository))
        return verify_image(pool, image, subject=text, spec=spec, prefix=prefix,
                            expectations=expectations, fast=fast,
                            line=_per_platform_line(spec, parse_reference(text)))
    children = fetch_children(pool, ref, manifest)
    per_platform = _per_platform_line(spec, parse_reference(text))
    if per_platform is not None:
        report = Report(f"{text} (index)", (CheckResult("per_platform_tag", manifest.digest, (
            Finding("TAG-INDEX", per_platform.platform.key, text,
                    f"per-platform tag is an index of {len(manifest.manifests)} entries, not "
                    "a single manifest (BuildKit attestations? build with --provenance=false "
                    "--sbom=false)"),)),))
        for digest, child in children.items():
            if isinstance(child, Image):
                report = report.merged(verify_image(
                    pool, child, subject=f"{text}@{digest}", spec=spec, prefix=prefix,
                    expectations=expectations, fast=fast), subject=report.subject)
        return report
    bases: dict[str, str] = {}
    if spec is not None:
        for line in spec.lines:
            if line.platform.is_windows and line.value:
                try:
                    bases[line.platform.key] = base_image(
                        pool, line.base_image(prefix), line.platform).os_version
                except E2EImagesError:
                    continue
    keys = {p.key for p in expected}
    report = run_list_checks(manifest, children, expected,
                             base_os_versions={k: v for k, v in bases.items() if k in keys})
    report = Report(f"{text} (list)", report.results)
    for digest, child in children.items():
        if isinstance(child, Image):
            report = report.merged(verify_image(pool, child, subject=f"{text}@{digest}",
                                                spec=spec, prefix=prefix,
                                                expectations=expectations, fast=fast),
                                   subject=report.subject)
    return report
