"""An upstream-shaped tree (tests/fixtures/upstream: go.mod + vendor/ at the root, images in
test/images) builds completely with `e2e-images build` on the embedded default (issue 10)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_images.oci.fs import LayerFS
from e2e_images.registry.embedded import EmbeddedRegistry
from e2e_images.registry.pool import ClientPool

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "upstream"
IMAGES = FIXTURE / "test" / "images"
NAMESPACE = "e2e-test-images"


def run_cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "e2e_images.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ), check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The whole fixture tree built by the CLI; yields (results JSON, image getter)."""
    work = tmp_path_factory.mktemp("upstream-build")
    storage = work / "storage"
    proc = run_cli("build", "--images-dir", str(IMAGES), "--storage", str(storage),
                   "--json", str(work / "results.json"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((work / "results.json").read_text())
    with EmbeddedRegistry(work / "reader", storage=storage / "storage") as reg:
        pool = ClientPool()

        def image(name: str, suffix: str) -> LayerFS:
            found = pool.image(f"{reg.host}/{NAMESPACE}/{name}-{suffix}")
            return found, LayerFS.open(found)

        yield results, image


def test_every_target_and_list_is_built(built):
    results, _ = built
    assert results["ok"]
    assert sorted(t["id"] for t in results["targets"]) == [
        "crossbuild-linux-amd64", "crossbuild-linux-arm64", "greeter-linux-amd64",
        "greeter-linux-arm64", "pets-zookeeper-installer-linux-amd64",
        "sample-data-linux-amd64", "sample-data-linux-arm64",
        "win-prep-windows-amd64-ltsc2022"]
    assert all(t["digest"] for t in results["targets"])
    assert all(i["digest"] for i in results["lists"])


def test_cross_build_copy_puts_qemu_only_into_foreign_arches(built):
    _, image = built
    _, arm64 = image("crossbuild:2.0", "linux-arm64")
    _, amd64 = image("crossbuild:2.0", "linux-amd64")
    qemu = arm64.read("/usr/bin/qemu-aarch64-static")
    assert qemu == Path("/usr/bin/qemu-aarch64-static").read_bytes()
    assert not amd64.exists("/usr/bin/qemu-aarch64-static")
    assert not amd64.exists("/usr/bin/qemu-x86_64-static")
    # the RUN stage ran for each target's architecture (under qemu for arm64)
    assert arm64.read("/built-on.txt").strip() == b"aarch64"
    assert amd64.read("/built-on.txt").strip() == b"x86_64"


def test_go_image_built_from_the_root_module_through_vendor(built, tmp_path):
    _, image = built
    pushed, amd64 = image("greeter:1.0", "linux-amd64")
    _, arm64 = image("greeter:1.0", "linux-arm64")
    assert arm64.read("/greeter")[18:20] == (183).to_bytes(2, "little")  # EM_AARCH64
    binary = tmp_path / "greeter"
    binary.write_bytes(amd64.read("/greeter"))
    binary.chmod(0o755)
    out = subprocess.run([str(binary)], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "hello from greeter"  # the vendored package's text
    assert pushed.config.runtime["Labels"]["git_url"].startswith(("file://", "https://"))


def test_src_dir_image_compiles_the_named_directory(built, tmp_path):
    _, image = built
    _, fs = image("pets/zookeeper-installer:1.2", "linux-amd64")
    binary = tmp_path / "peer-finder"
    binary.write_bytes(fs.read("/peer-finder"))
    binary.chmod(0o755)
    out = subprocess.run([str(binary)], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "hello from peer-finder"


def test_own_bin_recipe_ran_with_make_per_arch(built):
    _, image = built
    for arch in ("amd64", "arm64"):
        _, fs = image("sample-data:0.3", f"linux-{arch}")
        assert fs.read("/sample.txt") == f"built by make for linux/{arch}\n".encode()


def test_windows_image_on_a_per_arch_repo_prep_stage(built):
    _, image = built
    pushed, fs = image("win-prep:1.0", "windows-amd64-ltsc2022")
    assert pushed.config.platform.os == "windows"
    assert fs.read("/hello/hello.txt") == b"prepared on linux\n"


def test_a_changed_qemu_binary_rebuilds_the_target(tmp_path):
    """The qemu binary CROSS_BUILD_COPY adds is an input: same binary, unchanged; another
    binary, rebuilt."""
    from e2e_images.pipeline import build_plan
    from e2e_images.plan import Filters
    from e2e_images.session import open_session
    from e2e_images.workspace import load_plan

    qemu_dir = tmp_path / "qemu"
    qemu_dir.mkdir()
    shutil.copyfile("/usr/bin/qemu-aarch64-static", qemu_dir / "qemu-aarch64-static")
    with open_session(registry=None, cache=tmp_path / "cache", epoch=1) as session:
        session.env.qemu_dir = qemu_dir
        plan = load_plan(IMAGES, session.registry, Filters(what=("crossbuild",),
                                                           platforms=("linux/arm64",)))
        first = build_plan(plan, session.env, jobs=1).targets[0].build
        again = build_plan(plan, session.env, jobs=1).targets[0].build
        with (qemu_dir / "qemu-aarch64-static").open("ab") as f:
            f.write(b"\0")
        changed = build_plan(plan, session.env, jobs=1).targets[0].build
    assert first is not None and again is not None and changed is not None
    assert (first.pushed, again.pushed, again.backend) == (True, False, "unchanged")
    assert changed.backend != "unchanged" and changed.digest != first.digest
