"""Kill a build halfway: no manifest list points at a missing child; the re-run completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from e2e_images.oci.models import Index
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.embedded import EmbeddedRegistry
from e2e_images.workspace import load_plan

PROJECT = Path(__file__).resolve().parents[2]
WHAT = ["windows-servercore-cache", "busybox", "agnhost", "kitten", "nautilus"]
PLATFORMS = ["--platform", "linux/amd64,linux/arm64,windows/amd64/ltsc2022,linux/amd64/ltsc2022"]
# (--narrow-lists: the platform filter is for speed; the lists it gives are the subject)


def build(tmp: Path, *extra: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "e2e_images.cli", "build", *WHAT, *PLATFORMS,
         "--images-dir", str(PROJECT / "images"), "--cache-dir", str(tmp / "cache"),
         "--storage", str(tmp / "registry"), "--narrow-lists", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        **kwargs)


def lists_are_complete(storage: Path) -> tuple[int, int]:
    """(lists present, lists absent); asserts every present list's children exist."""
    with EmbeddedRegistry(storage.with_name("runtime"), storage=storage) as reg:
        client = RegistryClient(reg.host)
        plan = load_plan(PROJECT / "images", f"{reg.host}/e2e-test-images")
        present = absent = 0
        for image in plan.images:
            if image.spec.dir not in WHAT or not image.has_list:
                continue
            repo = f"e2e-test-images/{image.spec.name}"
            if client.head_manifest(repo, image.spec.version) is None:
                absent += 1
                continue
            present += 1
            index = client.get_manifest(repo, image.spec.version)
            assert isinstance(index, Index)
            for child in index.manifests:
                assert client.head_manifest(repo, child.digest) is not None, child.digest
    return present, absent


def test_killed_build_leaves_no_dangling_list_and_rerun_completes(tmp_path):
    proc = build(tmp_path)
    deadline = time.monotonic() + 300
    seen = []
    for line in proc.stderr:  # type: ignore[union-attr]
        seen.append(line)
        if line.startswith("list  busybox"):
            break  # one list up, its dependents still building
        assert time.monotonic() < deadline, "".join(seen[-20:])
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    present, absent = lists_are_complete(tmp_path / "registry")
    assert present >= 1 and absent >= 1, (present, absent)

    rerun = build(tmp_path, "--json", str(tmp_path / "rerun.json"))
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()  # type: ignore[union-attr]
    assert lists_are_complete(tmp_path / "registry") == (4, 0)  # the cache has no list

    again = build(tmp_path, "--json", str(tmp_path / "again.json"))
    assert again.wait(timeout=600) == 0
    report = json.loads((tmp_path / "again.json").read_text())
    assert report["ok"] and not any(t["pushed"] for t in report["targets"])
    assert sum(t["bytes_pushed"] for t in report["targets"]) == 0
    assert not any(x["pushed"] for x in report["lists"])
