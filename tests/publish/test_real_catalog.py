"""The gate on a subset of the real catalog, on the hermetic default (embedded registry,
stand-ins as upstream): busybox for Linux and ltsc2022 with the helpers it needs. The proposal
holds busybox only: the servercore cache, the PowerShell helper and staging-only mirrors
never appear in images.yaml."""

from __future__ import annotations

from pathlib import Path

from e2e_images.gate import EXIT_OK, GateOptions, run_gate
from e2e_images.plan import Filters
from e2e_images.publish.images_yaml import ImagesYaml
from e2e_images.publish.mirror import load_mirror_config, mirror_images
from e2e_images.session import open_session

IMAGES = Path(__file__).resolve().parents[2] / "images"


def test_real_subset_gate_proposes_busybox_only(tmp_path: Path, busybox_binaries) -> None:
    storage = tmp_path / "registry"
    mirror_config = tmp_path / "staging-mirrors.yaml"
    mirror_config.write_text("mirrors:\n  - source: docker.io/library/busybox:1.36.1\n"
                             "    name: busybox\n")
    # Stage the mirror first, into the same (persistent) embedded registry storage.
    with open_session(registry=None, cache=tmp_path / "cache", epoch=0,
                      storage=storage) as session:
        (mirrored,) = mirror_images(load_mirror_config(mirror_config), session.env.pool,
                                    session.registry)
    images_yaml = tmp_path / "images.yaml"
    opts = GateOptions(images_dir=IMAGES, storage=storage, cache=tmp_path / "cache",
                       filters=Filters(what=("windows-servercore-cache", "busybox",
                                             "powershell-helper"),
                                       windows_versions=("ltsc2022",)),
                       narrow_lists=True,  # ltsc2022 only, on purpose
                       results=tmp_path / "results.json", junit=tmp_path / "junit.xml",
                       images_yaml=images_yaml, mirror_config=mirror_config)
    outcome = run_gate(opts)
    failures = {i.name: [f.line() for f in i.findings] or i.error
                for i in outcome.results.images if not i.passed}
    assert outcome.exit_code == EXIT_OK, failures
    gated = {i.name for i in outcome.results.images}
    assert {"busybox", "powershell-helper", "windows-servercore-cache"} <= gated
    entries = ImagesYaml.load(images_yaml).entries()
    busybox = next(i for i in outcome.results.images if i.name == "busybox")
    assert [(e.name, e.tag, e.digest) for e in entries] == [
        ("busybox", busybox.version, busybox.list_digest)]
    text = images_yaml.read_text()
    assert "servercore" not in text and "powershell" not in text
    assert mirrored.digest not in text and '"1.36.1"' not in text
