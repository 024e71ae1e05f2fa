"""The pytest plugin: selection by -k/-m over plan ids, and produce-once across xdist workers."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from upstream_tree import make_tiny_tree

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


def windows_build_ids() -> set[str]:
    """Windows-build targets, and the lists of images that have one."""
    plan = load_plan(PROJECT_ROOT / "images", "example.invalid")
    targets = {t.id for t in plan.targets() if t.platform.is_windows or t.platform.release}
    lists = {f"{i.spec.dir}-list" for i in plan.images
             if any(t.platform.is_windows or t.platform.release for t in i.targets)}
    return targets | lists


def test_k_windows_collects_only_the_windows_build():
    ids = collect("-k", "windows", "-n", "2")
    targets = {t.id for t in project_targets() if t.platform.is_windows or t.platform.release}
    assert ids and targets <= set(ids) <= windows_build_ids()
    assert "agnhost-windows-amd64-ltsc2022" in ids
    assert not any(i.startswith("agnhost-linux") for i in ids)


def test_m_linux_collects_only_linux_targets():
    ids = collect("-m", "linux")
    plan = load_plan(PROJECT_ROOT / "images", "example.invalid")
    targets = {t.id for t in plan.targets() if t.platform.os == "linux"}
    lists = {f"{i.spec.dir}-list" for i in plan.images
             if any(t.platform.os == "linux" for t in i.targets)}
    assert ids and targets <= set(ids) <= targets | lists


def test_m_arch_and_windows_versions_option():
    ids = [i for i in collect("-m", "arm64") if not i.endswith("-list")]
    assert ids and all("-linux-arm64" in i for i in ids)
    ids = [i for i in collect("-k", "windows", "--windows-versions", "ltsc2025")
           if not i.endswith("-list")]
    assert ids and all(i.endswith("ltsc2025") for i in ids)


def test_bad_catalog_is_a_usage_error(pytester, upstream_tree):
    (upstream_tree / "busybox" / "BASEIMAGE").write_text("linux/amd64 busybox\n")
    pytester.makepyfile("def test_x(build_target):\n    pass\n")
    result = pytester.runpytest_subprocess("--images-dir", str(upstream_tree))
    assert result.ret == 4  # usage error
    result.stderr.fnmatch_lines(
        ["ERROR: e2e-images: *busybox/BASEIMAGE:1: *not properly formatted*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_each_target_is_produced_once_across_workers(pytester, tmp_path):
    tree = make_tiny_tree(tmp_path / "images")
    pytester.makepyfile(
        """
        def test_a(built_target):
            assert built_target.reference == built_target.target.tag
            assert built_target.digest.startswith("sha256:")

        def test_b(built_image, built_target):
            assert built_image.digest == built_target.digest

        def test_c(build_target, built_target):
            assert built_target.target is build_target
        """
    )
    basetemp = tmp_path / "basetemp"
    result = pytester.runpytest_subprocess("--images-dir", str(tree), "-n", "4", "-p", "xdist",
                                           f"--basetemp={basetemp}",
                                           f"--cache-dir={tmp_path / 'cache'}")
    n_targets = len(load_plan(tree, "x.invalid").targets())
    result.assert_outcomes(passed=3 * n_targets)
    produced = (basetemp / "e2e-results" / "produced.log").read_text().split()
    counts = Counter(p for p in produced if p != "hermetic-upstream")
    assert len(counts) == n_targets == 5
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v > 1]


REGISTRY_PROBE = """
import os, pathlib

def test_registry_{n}(e2e_registry, e2e_clients, tmp_path_factory):
    host = e2e_registry.split("/", 1)[0]
    out = pathlib.Path(os.environ["PROBE_DIR"]) / f"{n}-{{os.getpid()}}"
    out.write_text(host)
    image = e2e_clients.image("docker.io/library/busybox:1.36.1", platform=None
                              if False else __import__("e2e_images.platforms").platforms
                              .parse_platform("linux/s390x"))
    assert image.platform.architecture == "s390x"
"""


def test_one_embedded_registry_per_run_shared_by_workers(pytester, tmp_path, monkeypatch):
    probes = tmp_path / "probes"
    probes.mkdir()
    monkeypatch.setenv("PROBE_DIR", str(probes))
    for n in range(6):
        pytester.makepyfile(**{f"test_probe_{n}": REGISTRY_PROBE.format(n=n)})
    result = pytester.runpytest_subprocess("-n", "3", "-p", "xdist",
                                           f"--basetemp={tmp_path / 'bt'}")
    result.assert_outcomes(passed=6)
    hosts = {p.read_text() for p in probes.iterdir()}
    pids = {p.name.split("-")[1] for p in probes.iterdir()}
    assert len(hosts) == 1 and hosts.pop().startswith("127.0.0.1:")
    assert len(pids) > 1, "the probes ran in more than one worker"
    out = subprocess.run(["pgrep", "-f", str(tmp_path / "bt")], capture_output=True, text=True)
    assert out.stdout == "", "the last worker out stops the registry"


def test_given_registry_starts_nothing(pytester, tmp_path):
    pytester.makepyfile("""
        def test_x(e2e_registry, e2e_upstream):
            assert e2e_registry == "registry.example/e2e"
            assert len(e2e_upstream) == 0
    """)
    result = pytester.runpytest_subprocess("--registry", "registry.example/e2e/",
                                           f"--basetemp={tmp_path / 'bt'}")
    result.assert_outcomes(passed=1)
    assert not list((tmp_path / "bt").glob("**/embedded-registry"))


def test_summary_table_names_failing_cells(pytester, tmp_path):
    tree = make_tiny_tree(tmp_path / "images")
    pytester.makepyfile("""
        def test_planned(build_target):
            assert build_target.tag

        def test_not_top(build_target):
            assert build_target.image_dir != "top"

        def test_list(image_plan):
            assert image_plan.targets
    """)
    result = pytester.runpytest_subprocess("--images-dir", str(tree), "-n", "2", "-p", "xdist",
                                           f"--basetemp={tmp_path / 'bt'}")
    result.assert_outcomes(passed=5 + 5 - 2 + 3, failed=2)
    out = result.stdout.str()
    assert "e2e-images: image x platform x check" in out
    for legend in ("[1] list", "[2] not_top", "[3] planned"):
        assert legend in out
    result.stdout.re_match_lines([r"base +\(list\) +ok *$", r"top +linux/amd64 +FAIL +ok$",
                                  r"8 rows, 2 failed cells"])


def test_no_image_table_without_image_tests(pytester, tmp_path):
    """A tool test whose id happens to be a target id is not an image test: no table."""
    tree = make_tiny_tree(tmp_path / "images")
    pytester.makepyfile("""
        import pytest

        @pytest.mark.parametrize("x", [1], ids=["base-linux-amd64"])
        def test_tool(x):
            assert x
    """)
    result = pytester.runpytest_subprocess("--images-dir", str(tree), "-p", "no:xdist",
                                           f"--basetemp={tmp_path / 'bt'}")
    result.assert_outcomes(passed=1)
    assert "image x platform x check" not in result.stdout.str()


def test_options_are_the_clis_and_work_without_xdist(pytester, tmp_path, monkeypatch):
    """`$REGISTRY` is the default registry, `--builder legacy` and `--shard` are accepted,
    and the fixtures work under `-p no:xdist` (no `worker_id` fixture there)."""
    tree = make_tiny_tree(tmp_path / "images")
    monkeypatch.setenv("REGISTRY", "registry.example/from-env")
    pytester.makepyfile("""
        def test_x(e2e_registry, e2e_shared_dir, pytestconfig):
            assert e2e_registry == "registry.example/from-env"
            assert pytestconfig.getoption("builder") == "legacy"
            assert e2e_shared_dir.is_dir()
    """)
    result = pytester.runpytest_subprocess("--images-dir", str(tree), "-p", "no:xdist",
                                           "--builder", "legacy", "--shard", "1/2",
                                           f"--basetemp={tmp_path / 'bt'}")
    result.assert_outcomes(passed=1)


def test_tool_tests_print_no_image_table():
    """`pytest tests/oci`: the tool's own tests, no image table."""
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/oci", "-q",
                          "-p", "no:cacheprovider", "-p", "no:xdist"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "passed" in out.stdout and "image x platform x check" not in out.stdout
