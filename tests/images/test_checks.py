"""Every built target passes the static checks: the Windows layer lint (W1-W13) on the layers
its build added, its image's expectations.yaml, the plan's labels, and for Windows images
whose expectations say so, nanoserver (never servercore) of its release as the root.

Through the one verification entry (`audit.verify`, as the gate and `e2e-images verify`).
Fast mode first (config and added layers only); the base layers are read only when an
expectation names a path the added layers do not hold (httpd's vcruntime140.dll comes from
busybox). Warnings pass unless `--fail-on-warnings`; the summary table shows them.
"""

from __future__ import annotations

from dataclasses import replace

from e2e_images.audit import verify
from e2e_images.summary import WARNINGS_PROPERTY


def test_target_passes_static_checks(built_target, e2e_clients, e2e_verify_options,
                                     pytestconfig, record_property):
    target = built_target.target
    options = replace(e2e_verify_options, fast=True, labels=True)
    report = verify(e2e_clients, target, options=options)
    if any(r.unverified for r in report.results):
        report = verify(e2e_clients, target, options=replace(options, fast=False))
    record_property(WARNINGS_PROPERTY, len(report.warnings))
    fail_on_warnings = pytestconfig.getoption("fail_on_warnings")
    assert report.ok(fail_on_warnings=fail_on_warnings), "\n".join(
        [report.summary(), *report.lines()])
    unread = [line for r in report.results if r.check == "base" for line in r.info]
    assert not unread, unread  # the base test (test_bases.py) says why
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
