"""Several `e2e-images build` processes on one cache directory, from an empty cache.

Each must exit 0 and report the digests of a single clean build: cache entries (Go binaries,
buildah stages, push records, stand-in artifacts) are written under unique names and renamed
into place under a lock, and the embedded registry's kept storage belongs to one run at a time
(the others get a private one). Run on the embedded default and on one given registry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from e2e_images.errors import RegistryError
from e2e_images.hermetic.standins import seed_host
from e2e_images.registry.embedded import EmbeddedRegistry
from e2e_images.session import _embedded_base

PROJECT = Path(__file__).resolve().parents[2]
WHAT = ["busybox", "agnhost", "kitten"]  # a Go payload, a RUN stage (buildah), a native COPY
PLATFORMS = ["--platform", "linux/amd64"]  # qemu-free: the race, not emulation, is tested


def _start(cache: Path, out: Path, registry: str | None,
           mirrors: Path | None = None) -> subprocess.Popen[str]:
    extra = ["--registry", registry, "--mirrors", str(mirrors)] if registry and mirrors else []
    return subprocess.Popen(
        [sys.executable, "-m", "e2e_images.cli", "build", *WHAT, *PLATFORMS,
         "--images-dir", str(PROJECT / "images"), "--cache-dir", str(cache),
         "--json", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _digests(report_file: Path) -> dict[str, str]:
    """target id or list dir -> digest (tags differ between registries; digests may not)."""
    report = json.loads(report_file.read_text())
    found = {t["id"]: t["digest"] for t in report["targets"]}
    found |= {f"list:{x['dir']}": x["digest"] for x in report["lists"]}
    return found


def _run_together(tmp: Path, count: int, registry: str | None = None,
                  mirrors: Path | None = None) -> list[dict[str, str]]:
    cache = tmp / f"cache-{count}-{'given' if registry else 'embedded'}"
    outs = [cache.with_name(f"{cache.name}-{i}.json") for i in range(count)]
    procs = [_start(cache, out, registry, mirrors) for out in outs]
    results = []
    for proc, out in zip(procs, outs, strict=True):
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        results.append(_digests(out))
    return results


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("clean")
    proc = _start(tmp / "cache", tmp / "clean.json", None)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    found = _digests(tmp / "clean.json")
    assert len([k for k in found if not k.startswith("list:")]) == 3, found
    return found


@pytest.mark.parametrize("count", [2, 4])
def test_runs_sharing_a_cache_on_the_embedded_default(tmp_path, clean_build, count):
    for digests in _run_together(tmp_path, count, None):
        assert digests == clean_build


def _seeded(storage: Path, port: int | None = None) -> tuple[EmbeddedRegistry, Path]:
    """A given registry holding the upstream bases (as a mirror would), and its mirror map."""
    reg = EmbeddedRegistry(storage, port=port).start()
    mirror_map, _ = seed_host(reg.host)
    mirrors = storage / "mirrors.yaml"
    mirrors.write_text(yaml.safe_dump({m.upstream: m.mirror for m in mirror_map.mirrors}))
    return reg, mirrors


@pytest.mark.parametrize("count", [2, 4])
def test_runs_sharing_a_cache_and_a_given_registry(tmp_path, count):
    """The reference is a single clean build into an empty registry at the same address (a
    registry's name may appear in what is built); then `count` runs into another empty one."""
    reg, mirrors = _seeded(tmp_path / "reference")
    port, registry = reg.port, f"{reg.host}/e2e-test-images"
    try:
        proc = _start(tmp_path / "clean-cache", tmp_path / "clean.json", registry, mirrors)
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
    finally:
        reg.stop()
    clean = _digests(tmp_path / "clean.json")
    reg, mirrors = _seeded(tmp_path / "given", port)
    try:
        for digests in _run_together(tmp_path, count, registry, mirrors):
            assert digests == clean
    finally:
        reg.stop()


def test_the_kept_embedded_storage_belongs_to_one_run(tmp_path):
    cache = tmp_path / "cache"
    stale = cache / "embedded-runs" / "999999999.killed"  # no such pid
    stale.mkdir(parents=True)
    with ExitStack() as first, ExitStack() as second:
        assert _embedded_base(first, cache, None) == cache / "embedded-registry"
        private = _embedded_base(second, cache, None)
        assert private.parent == cache / "embedded-runs" and private.is_dir()
        assert not stale.exists()
        with pytest.raises(RegistryError, match="in use by another run"), ExitStack() as third:
            _embedded_base(third, cache, cache / "embedded-registry")
    assert not private.exists()
    with ExitStack() as later:  # released: the next run keeps it again
        assert _embedded_base(later, cache, None) == cache / "embedded-registry"
