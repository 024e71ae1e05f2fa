"""The pytest plugin: selection by -k/-m over plan ids, and produce-once across xdist workers."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from e2e_images.workspace import load_plan

PROJECT_ROOT = Path(__file__).resolve().parents[1]

ID = re.compile(r"\[([^\]]+)\]$")


def collect(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *args],
                         cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return [m.group(1) for line in out.stdout.splitlines() if (m := ID.search(line))]


def project_targets():
    return load_plan(PROJECT_ROOT / "images", "example.invalid").targets()


def test_k_windows_collects_only_the_windows_build():
    ids = collect("-k", "windows", "-n", "2")
    expected = {t.id for t in project_targets() if t.platform.is_windows or t.platform.release}
    assert ids and set(ids) == expected
    assert "agnhost-windows-amd64-ltsc2022" in ids
    assert not any(i.startswith("agnhost-linux") for i in ids)


def test_m_linux_collects_only_linux_targets():
    ids = collect("-m", "linux")
    expected = {t.id for t in project_targets() if t.platform.os == "linux"}
    assert ids and set(ids) == expected


def test_m_arch_and_windows_versions_option():
    ids = collect("-m", "arm64")
    assert ids and all("-linux-arm64" in i for i in ids)
    ids = collect("-k", "windows", "--windows-versions", "ltsc2025")
    assert ids and all(i.endswith("ltsc2025") for i in ids)


def test_bad_catalog_is_a_usage_error(pytester, upstream_tree):
    (upstream_tree / "busybox" / "BASEIMAGE").write_text("linux/amd64 busybox\n")
    pytester.makepyfile("def test_x(build_target):\n    pass\n")
    result = pytester.runpytest_subprocess("--images-dir", str(upstream_tree))
    assert result.ret == 4  # usage error
    result.stderr.fnmatch_lines(
        ["ERROR: e2e-images: *busybox/BASEIMAGE:1: *not properly formatted*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_each_target_is_produced_once_across_workers(pytester, upstream_tree, tmp_path):
    pytester.makepyfile(
        """
        def test_a(built_target):
            assert built_target.reference == built_target.target.tag

        def test_b(built_target):
            assert built_target.digest is None

        def test_c(build_target, built_target):
            assert built_target.target is build_target
        """
    )
    basetemp = tmp_path / "basetemp"
    result = pytester.runpytest_subprocess("--images-dir", str(upstream_tree), "-n", "4",
                                           "-p", "xdist", f"--basetemp={basetemp}",
                                           "-p", "no:randomly")
    n_targets = len(load_plan(upstream_tree, "x.invalid").targets())
    result.assert_outcomes(passed=3 * n_targets)
    produced = (basetemp / "e2e-results" / "produced.log").read_text().split()
    counts = Counter(produced)
    assert len(counts) == n_targets
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v > 1]
