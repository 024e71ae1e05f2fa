"""Run every applicable check on an image or a manifest list and collect one Report.

The caller opens the image (registry, layout, build output) and, when it knows them, the base
(whose layers are skipped by the Windows lint and, in fast mode, never read) and the root
image an expectation names. Nothing here fetches anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from e2e_images.oci.image import Image
from e2e_images.oci.models import Index
from e2e_images.platforms import Platform
from e2e_images.verify.checks.layer_integrity import LayerIntegrityCheck
from e2e_images.verify.checks.manifest_list import Child, ManifestListCheck
from e2e_images.verify.checks.root_image import BaseImage, RootImageCheck
from e2e_images.verify.checks.windows_layer import WindowsLayerCheck
from e2e_images.verify.expectations import Expectations
from e2e_images.verify.result import CheckResult, Report
from e2e_images.verify.view import ImageCheck, ImageView

__all__ = ["base_layer_count", "run_checks", "run_list_checks"]


def base_layer_count(image: Image, base: BaseImage | None) -> int:
    """How many of the image's first layers are the base's (0 when it is not built on it)."""
    if base is None:
        return 0
    return len(base.layers) if base.is_prefix_of(
        tuple(d.digest for d in image.manifest.layers)) else 0


def run_checks(image: Image, *, expectations: Expectations | None = None,
               base: BaseImage | None = None, root: BaseImage | None = None,
               forbidden_roots: Sequence[BaseImage] = (), fast: bool = False,
               extra: Sequence[ImageCheck] = (), view: ImageView | None = None) -> Report:
    """Layer integrity (digests, diff_ids, refused entries) and the Windows lint (W1-W13) on
    the added layers (every layer when the base is unknown), then the expectations.

    `extra` are further checks (anything with `run(view)`), e.g. the labels the plan
    requires. A base the image does not start with (a multi-stage build FROM scratch) only
    gives its os.version to W13; nothing is skipped.
    """
    skip = base_layer_count(image, base)
    view = view or ImageView(image, base_layers=skip, fast=fast)
    results: list[CheckResult] = []
    checks: list[ImageCheck] = [LayerIntegrityCheck()]
    if view.is_windows:
        checks.append(WindowsLayerCheck(base.os_version if base is not None else ""))
    section = expectations.for_os(image.platform.os) if expectations is not None else None
    if section is not None:
        checks += section.checks()
    checks += extra
    for check in checks:
        results.append(check.run(view))
    if section is not None and section.root_image:
        if root is None:
            results.append(CheckResult("root_image", image.digest,
                                       skipped=f"{section.root_image} not resolved"))
        else:
            results.append(RootImageCheck(root, tuple(forbidden_roots)).run(view))
    return Report(f"{image.digest} ({view.platform})", tuple(results))


def run_list_checks(index: Index, children: Mapping[str, Child],
                    expected_platforms: Sequence[Platform] = (), *,
                    base_os_versions: Mapping[str, str] | None = None,
                    gating: frozenset[str] | None = None) -> Report:
    """The list checks; `gating`: the containerd families whose problems are findings
    (default: containerd.DEFAULT_GATING)."""
    check = ManifestListCheck(tuple(expected_platforms), dict(base_os_versions or {}),
                              **({"gating": gating} if gating is not None else {}))
    check.validate()
    return Report(index.digest, (check.run(index, children),))
