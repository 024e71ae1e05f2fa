"""Every image's manifest list: complete and truthful (entries 1:1 with BASEIMAGE, in order,
full os.version equal to child and base), and what each containerd release pulls from it on
each Windows node build and on the Linux arm variants.

Through the one verification entry (`audit.verify`), list checks only (the children are
test_checks.py's). An image that publishes per-platform tags only has no list: skipped.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from e2e_images.audit import VerifyOptions, verify
from e2e_images.summary import WARNINGS_PROPERTY
from e2e_images.verify.containerd import LINUX_HOSTS, WINDOWS_HOSTS, can_run, parse_families


def _needs_list(image_plan, built_list) -> None:
    assert (built_list is None) == (not image_plan.has_list)
    if built_list is None:
        pytest.skip(f"{image_plan.spec.dir} publishes per-platform tags only (no list)")


def _list_report(image_plan, clients, options):
    return verify(clients, image_plan, options=replace(options, children=False))


def test_list_matches_the_plan(image_plan, built_list, e2e_clients, e2e_verify_options,
                               pytestconfig, record_property):
    _needs_list(image_plan, built_list)
    report = _list_report(image_plan, e2e_clients, e2e_verify_options)
    record_property(WARNINGS_PROPERTY, len(report.warnings))
    fail_on_warnings = pytestconfig.getoption("fail_on_warnings")
    assert report.ok(fail_on_warnings=fail_on_warnings), "\n".join(report.lines())
    assert len(built_list.platforms()) == len(image_plan.targets)


def test_containerd_pull_table_covers_every_family_and_node(image_plan, built_list,
                                                            e2e_clients, e2e_verify_options):
    _needs_list(image_plan, built_list)
    windows = [t for t in image_plan.targets if t.platform.is_windows]
    linux = {t.platform.arch for t in image_plan.targets if t.platform.os == "linux"}
    if not windows and not linux & {"arm", "arm64"}:
        pytest.skip(f"{image_plan.spec.dir}: no Windows entry and no arm entry to resolve")
    report = _list_report(image_plan, e2e_clients, e2e_verify_options)
    table = [line for line in report.info if line.startswith("containerd ")]
    for t in windows[:1]:
        for host in WINDOWS_HOSTS:
            hits = [line for line in table if f" on {host.label} ({t.platform.arch}) " in line]
            assert len(hits) == 4, (host.label, hits)  # one per family
    for host in LINUX_HOSTS:
        if host.platform.architecture in linux & {"arm", "arm64"}:
            hits = [line for line in table if f" on {host.label} " in line]
            assert hits and "pulls nothing" not in hits[0], hits
    pull_errors = [f.line() for f in report.errors if f.check == "LIST-CONTAINERD"]
    assert not pull_errors, pull_errors


def test_each_node_of_a_built_release_pulls_its_own_entry(image_plan, built_list,
                                                          e2e_clients):
    """Under 2.2+ (sorted by os.version) every Windows node pulls the entry built for its
    release; a client 22621 node pulls the LTSC 2022 one. (No "windows" in the test's name:
    `-k windows` selects the Windows build.)"""
    _needs_list(image_plan, built_list)
    built = {int(t.os_version.split(".")[2]) for t in image_plan.targets
             if t.platform.is_windows}
    if not built:
        pytest.skip(f"{image_plan.spec.dir} has no Windows entry")
    report = verify(e2e_clients, image_plan,
                    options=VerifyOptions(gating=parse_families("all"), children=False))
    for host in WINDOWS_HOSTS:
        want = max((b for b in built if can_run(host.build, b)), default=None)
        line = next(x for x in report.info if x.startswith(f"containerd 2.2+ on {host.label} "))
        if want is None:
            assert line.endswith("pulls nothing"), line
        else:
            assert f":10.0.{want}." in line, line

