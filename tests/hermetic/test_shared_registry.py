"""`e2e-images registry serve --standins`: a hermetic registry other processes build against
(issue 14, part 4), checked through the real CLI in separate processes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from e2e_images.plan import Filters
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.embedded import DEFAULT_BINARY
from e2e_images.registry.reference import parse_reference
from e2e_images.workspace import load_plan

CLI = Path(sys.executable).parent / "e2e-images"
IMAGES = Path(__file__).resolve().parents[2] / "images"

pytestmark = pytest.mark.skipif(not Path(DEFAULT_BINARY).exists(),
                                reason=f"{DEFAULT_BINARY} (docker-registry) not installed")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    storage = tmp_path_factory.mktemp("storage")
    log_path = storage.parent / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(CLI), "registry", "serve", "--standins", "--storage",
                                 str(storage)], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while not (storage / "artifacts.yaml").exists():
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "not ready within 120 s"
                time.sleep(0.1)
            host = re.search(r"listening on (\S+)", log_path.read_text()).group(1)
            yield host, storage
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_binds_loopback_and_writes_both_files(served):
    host, storage = served
    assert host.startswith("127.0.0.1:")
    mirrors = yaml.safe_load((storage / "mirrors.yaml").read_text())
    assert mirrors == {"docker.io": f"{host}/docker.io",
                       "mcr.microsoft.com": f"{host}/mcr.microsoft.com"}


def test_artifacts_file_maps_every_pinned_url_to_its_bytes(served):
    _, storage = served
    doc = yaml.safe_load((storage / "artifacts.yaml").read_text())
    assert doc["pins"], doc
    for url, pin in doc["pins"].items():
        entry = next(a for a in doc["artifacts"] if url.startswith(a["prefix"]))
        mirrored = entry["mirror"] + url[len(entry["prefix"]):]
        assert mirrored.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(mirrored, timeout=10) as resp:
            assert "sha256:" + hashlib.sha256(resp.read()).hexdigest() == pin


def test_a_build_in_another_process_uses_only_the_served_files(served, tmp_path):
    """Own cache, empty HOME: the stand-in bases come through mirrors.yaml; a second such
    build finds every target unchanged from the registry's records."""
    host, storage = served
    reports = []
    for run in ("first", "second"):
        home, cache = tmp_path / run / "home", tmp_path / run / "cache"
        home.mkdir(parents=True)
        env = os.environ | {"HOME": str(home), "E2E_IMAGES_CACHE": str(cache)}
        result = subprocess.run(
            [str(CLI), "build", "--images-dir", str(IMAGES), "--registry", f"{host}/ns",
             "--mirrors", str(storage / "mirrors.yaml"), "--json", str(tmp_path / run / "r.json"),
             "windows-servercore-cache"], env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        reports.append(json.loads((tmp_path / run / "r.json").read_text()))
    assert all(t["pushed"] for t in reports[0]["targets"])
    assert [t["backend"] for t in reports[1]["targets"]] == ["unchanged"] * 3
    assert [t["digest"] for t in reports[1]["targets"]] == \
        [t["digest"] for t in reports[0]["targets"]]


def _build_options() -> set[str]:
    import argparse

    from e2e_images.commands import build

    parser = argparse.ArgumentParser()
    build.add_arguments(parser)
    return set(parser._option_string_actions)


def test_whole_catalog_then_cold_cache_then_shards(served, tmp_path):
    """Acceptance: a full build with --registry, --mirrors and --artifacts from `registry serve
    --standins`, then the same build with a new cache dir and an empty HOME: nothing pushed,
    nothing compiled, every digest equal; then three shards at once into another namespace,
    each with its own cache and HOME: the full build's list digests, and never a list with a
    missing child while they run."""
    if "--artifacts" not in _build_options():
        pytest.skip("this CLI has no `build --artifacts` yet (the upstream-builds branch adds "
                    "it); the Windows downloads need it")
    host, storage = served
    reports = {}
    for run in ("full", "cold"):
        home, cache = tmp_path / run / "home", tmp_path / run / "cache"
        home.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "GOCACHE")}
        env |= {"HOME": str(home), "E2E_IMAGES_CACHE": str(cache)}
        out = tmp_path / run / "r.json"
        result = subprocess.run(
            [str(CLI), "build", "--images-dir", str(IMAGES), "--registry", f"{host}/whole",
             "--mirrors", str(storage / "mirrors.yaml"), "--artifacts",
             str(storage / "artifacts.yaml"), "--json", str(out)],
            env=env, capture_output=True, text=True, timeout=1800)
        assert result.returncode == 0, result.stderr[-3000:]
        reports[run] = json.loads(out.read_text())
    full, cold = reports["full"], reports["cold"]
    assert {t["backend"] for t in cold["targets"]} == {"unchanged"}
    assert sum(t["bytes_pushed"] for t in cold["targets"]) == 0
    assert [t["digest"] for t in cold["targets"]] == [t["digest"] for t in full["targets"]]
    assert [x["digest"] for x in cold["lists"]] == [x["digest"] for x in full["lists"]]
    assert not (tmp_path / "cold" / "cache" / "go").exists()
    assert not (tmp_path / "cold" / "home" / ".cache" / "go-build").exists()

    # Three shards at once into a second namespace, each with its own cache and HOME: the
    # same list digests as the full build, and no list ever points at a missing child.
    namespace = f"{host}/sharded"
    plan = load_plan(IMAGES, namespace, Filters())
    lists = [parse_reference(i.list_tag) for i in plan.images if i.has_list]
    client = RegistryClient(host)
    stop, broken, seen = threading.Event(), [], set()

    def watch() -> None:
        while not stop.wait(0.05):
            for ref in lists:
                if client.head_manifest(ref.repository, ref.ref) is None:
                    continue
                index = client.get_manifest(ref.repository, ref.ref)
                seen.add(str(ref))
                broken.extend(f"{ref} -> {d.digest}" for d in index.manifests
                              if client.head_manifest(ref.repository, d.digest) is None)

    watcher = threading.Thread(target=watch)
    watcher.start()
    procs = []
    try:
        for i in (1, 2, 3):
            home, cache = tmp_path / f"shard{i}" / "home", tmp_path / f"shard{i}" / "cache"
            home.mkdir(parents=True)
            env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "GOCACHE")}
            env |= {"HOME": str(home), "E2E_IMAGES_CACHE": str(cache)}
            procs.append(subprocess.Popen(
                [str(CLI), "build", "--images-dir", str(IMAGES), "--registry", namespace,
                 "--shard", f"{i}/3", "--mirrors", str(storage / "mirrors.yaml"),
                 "--artifacts", str(storage / "artifacts.yaml"),
                 "--json", str(tmp_path / f"shard{i}" / "r.json")],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        errors = [p.communicate(timeout=1800)[1] for p in procs]
    finally:
        stop.set()
        watcher.join()
    assert [p.returncode for p in procs] == [0, 0, 0], [e[-2000:] for e in errors]
    assert not broken, broken
    sharded = {x["dir"]: x["digest"]
               for i in (1, 2, 3)
               for x in json.loads((tmp_path / f"shard{i}" / "r.json").read_text())["lists"]
               if x["digest"]}
    assert sharded == {x["dir"]: x["digest"] for x in full["lists"] if x["digest"]}
    assert seen == {str(ref) for ref in lists}
