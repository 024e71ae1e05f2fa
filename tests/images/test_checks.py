"""Every built target passes the static checks: the Windows layer lint (W1-W13) on the layers
its build added, its image's expectations.yaml, the plan's labels, and for Windows images
whose expectations say so, nanoserver (never servercore) of its release as the root.

Fast mode first (config and added layers only); the base layers are read only when an
expectation names a path the added layers do not hold (httpd's vcruntime140.dll comes from
busybox).
"""

from __future__ import annotations

from e2e_images.audit import base_image, root_images
from e2e_images.errors import E2EImagesError
from e2e_images.verify.checks.metadata import MetadataCheck
from e2e_images.verify.expectations import EXPECTATIONS_FILE, load_expectations
from e2e_images.verify.runner import run_checks


def _report(target, image, clients, *, fast: bool):
    expect = target.dockerfile.parent / EXPECTATIONS_FILE
    expectations = load_expectations(expect) if expect.is_file() else None
    base = None
    if target.base_image:
        try:
            base = base_image(clients, target.base_image, target.platform)
        except E2EImagesError as exc:  # the base test (test_bases.py) says why
            raise AssertionError(f"base {target.base_image} unreadable: {exc}") from None
    root, forbidden = None, []
    if image.platform.os == "windows":
        root, forbidden = root_images(clients, image.config.platform.os_version)
    return run_checks(image, expectations=expectations, base=base, root=root,
                      forbidden_roots=forbidden, fast=fast,
                      extra=[MetadataCheck(labels=dict(target.labels))])


def test_target_passes_static_checks(built_target, built_image, e2e_clients):
    target = built_target.target
    report = _report(target, built_image, e2e_clients, fast=True)
    if any(r.unverified for r in report.results):
        report = _report(target, built_image, e2e_clients, fast=False)
    assert report.passed, "\n".join([report.summary(), *report.lines()])
    skipped = [f"{r.check}: {r.skipped}" for r in report.results
               if r.skipped and r.check != "windows_layer"]
    assert not skipped, skipped  # a root image that cannot be resolved is not a pass
    assert not [p for r in report.results for p in r.unverified]


def test_target_config_describes_its_platform(built_target, built_image):
    target, platform = built_target.target, built_image.config.platform
    assert (platform.os, platform.architecture) == (target.platform.os, target.platform.arch)
    assert platform.variant == target.platform.oci_variant
    if target.platform.is_windows:
        assert platform.os_version.startswith(f"{target.os_version}."), platform.os_version
    assert dict(built_image.config.labels).items() >= dict(target.labels).items()
