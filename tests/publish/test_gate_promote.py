"""The gate and promotion end to end on a tiny catalog: staging and production are two real
registries, upstream is the hermetic stand-ins seeded into staging."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from e2e_images.cli import main
from e2e_images.gate import EXIT_BUILD, EXIT_FAILED, EXIT_OK, GateOptions, run_gate
from e2e_images.oci.models import Index
from e2e_images.publish.images_yaml import ImagesYaml
from e2e_images.publish.results import read_results
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS

sys.path.insert(0, str(Path(__file__).parents[1]))
from upstream_tree import make_tiny_tree, write


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tiny_tree(tmp_path / "images")


def gate(tree: Path, registry: str, mirrors: Path, tmp: Path, **kw: object) -> tuple:
    opts = GateOptions(images_dir=tree, registry=registry, mirrors_file=str(mirrors),
                       cache=tmp / "cache", results=tmp / "results.json",
                       junit=tmp / "junit.xml", **kw)  # type: ignore[arg-type]
    return run_gate(opts), opts


def tree_of(client: RegistryClient, repo: str, ref: str) -> dict[str, bytes]:
    """Every manifest under `ref` by digest, and every blob's presence."""
    m = client.get_manifest(repo, ref)
    out = {m.digest: m.raw}
    if isinstance(m, Index):
        for child in m.manifests:
            out.update(tree_of(client, repo, child.digest))
    else:
        for blob in (m.config, *m.layers):
            with client.open_blob(repo, blob.digest) as f:
                out[blob.digest] = f.read()
    return out


def test_green_gate_promote_confirm_and_tag_move(tree, tmp_path, staging, production,
                                                 mirror_map_file) -> None:
    registry = staging.namespace()
    images_yaml = tmp_path / "images.yaml"
    outcome, opts = gate(tree, registry, mirror_map_file, tmp_path, images_yaml=images_yaml)
    assert outcome.exit_code == EXIT_OK, [i.findings or i.error for i in outcome.results.images]

    # The results file: every image passed, with its list digest.
    results = read_results(opts.results)
    assert results.passed and results.registry == registry
    digests = {i.name: i.list_digest for i in results.images}
    assert set(digests) == {"base", "top", "win"} and all(digests.values())
    junit = ET.parse(opts.junit).getroot().find("testsuite")
    assert junit is not None and junit.get("tests") == "3" and junit.get("failures") == "0"

    # The proposal: k8s.io style, quoted digests, only what the gate verified.
    doc = ImagesYaml.load(images_yaml)
    assert {(e.name, e.tag, e.digest) for e in doc.entries()} == {
        ("base", "1.0", digests["base"]), ("top", "2.0", digests["top"]),
        ("win", "3.0", digests["win"])}
    assert f'"{digests["top"]}": ["2.0"]' in images_yaml.read_text()

    # --confirm: production holds byte-identical lists, children and blobs.
    images_yaml.write_text("# promoted by the e2e-images gate\n" + images_yaml.read_text())
    assert main(["promote", "--results", str(opts.results), "--images-yaml", str(images_yaml),
                 "--images-dir", str(tree), "--to", f"{production.host}/prod",
                 "--confirm"]) == 0
    src = RegistryClient(staging.host, credentials=ANONYMOUS)
    dst = RegistryClient(production.host, credentials=ANONYMOUS)
    ns = registry.split("/", 1)[1]
    for name, tag in (("base", "1.0"), ("top", "2.0"), ("win", "3.0")):
        copied = tree_of(dst, f"prod/{name}", tag)
        assert copied == tree_of(src, f"{ns}/{name}", digests[name])
        assert next(iter(copied)) == digests[name]
    assert images_yaml.read_text().startswith("# promoted by the e2e-images gate\n")
    before = images_yaml.read_bytes()

    # Change an image without bumping VERSION, rebuild: the tag would move, so refuse.
    write(tree / "top" / "top.txt", "top, changed\n")
    outcome2, opts2 = gate(tree, registry, mirror_map_file, tmp_path / "second")
    assert outcome2.exit_code == EXIT_OK
    new_top = next(i.list_digest for i in outcome2.results.images if i.name == "top")
    assert new_top != digests["top"]
    code = main(["promote", "--results", str(opts2.results), "--images-yaml",
                 str(images_yaml), "--images-dir", str(tree),
                 "--to", f"{production.host}/prod", "--confirm"])
    assert code == 1
    assert images_yaml.read_bytes() == before
    assert dst.head_manifest("prod/top", "2.0").digest == digests["top"]

    # The destination registry alone also refuses (a fresh images.yaml knows nothing).
    fresh = tmp_path / "fresh.yaml"
    with pytest.raises(Exception, match=rf"top:2.0 is {digests['top']} in "
                                        rf"{production.host}/prod; refusing to move it to "
                                        rf"{new_top}"):
        from e2e_images.publish.policy import load_policy
        from e2e_images.publish.promote import promote
        from e2e_images.registry.pool import ClientPool

        promote(read_results(opts2.results), fresh, ClientPool(), policy=load_policy(tree),
                to=f"{production.host}/prod")
    assert not fresh.exists()

    # And the gate itself refuses to propose it: exit 1, images.yaml untouched.
    outcome3, _ = gate(tree, registry, mirror_map_file, tmp_path / "third",
                       images_yaml=images_yaml, build=False)
    assert outcome3.exit_code == EXIT_FAILED and "top:2.0" in (outcome3.refused or "")
    assert digests["top"] in outcome3.refused and new_top in outcome3.refused
    assert images_yaml.read_bytes() == before


def test_failing_verification_gates_and_is_never_proposed(tree, tmp_path, staging,
                                                          mirror_map_file, capsys) -> None:
    write(tree / "top" / "expectations.yaml", 'schemaVersion: "1.0.0"\nlinux:\n'
          "  fileExistence:\n    - {path: /missing.txt}\n")
    images_yaml = tmp_path / "images.yaml"
    outcome, opts = gate(tree, staging.namespace(), mirror_map_file, tmp_path,
                         images_yaml=images_yaml)
    assert outcome.exit_code == EXIT_FAILED
    assert not images_yaml.exists(), "no proposal unless everything passed"
    top = next(i for i in outcome.results.images if i.name == "top")
    assert not top.passed and top.list_digest
    assert any("/missing.txt" in f.subject for f in top.findings)
    junit = ET.parse(opts.junit).getroot().find("testsuite")
    assert junit is not None and junit.get("failures") == "1"
    failure = junit.find("testcase[@classname='gate.top']/failure")
    assert failure is not None and "/missing.txt" in (failure.text or "")

    # promote on those results: the others are proposed, top is not.
    assert main(["promote", "--results", str(opts.results), "--images-yaml",
                 str(images_yaml), "--images-dir", str(tree)]) == 0
    names = {e.name for e in ImagesYaml.load(images_yaml).entries()}
    assert names == {"base", "win"}
    assert "skipped  top:2.0: verification failed" in capsys.readouterr().out


def test_build_failure_exits_3(tree, tmp_path, staging, mirror_map_file) -> None:
    # plan-time checks pass; the build finds no such base image
    write(tree / "top" / "Dockerfile", "FROM docker.io/library/no-such-base:1\nCOPY top.txt /\n")
    outcome, opts = gate(tree, staging.namespace(), mirror_map_file, tmp_path,
                         images_yaml=tmp_path / "images.yaml")
    assert outcome.exit_code == EXIT_BUILD
    data = json.loads(opts.results.read_text())
    by = {i["name"]: i for i in data["images"]}
    assert by["base"]["passed"] and not by["top"]["passed"]
    assert "build failed" in by["top"]["error"]
    assert not (tmp_path / "images.yaml").exists()


def test_gate_cli_bad_input_exits_2(tmp_path, tree) -> None:
    write(tree / "base" / "BASEIMAGE", "linux/amd64=scratch\nlinux/amd64=scratch\n")
    assert main(["gate", "--images-dir", str(tree), "--registry", "127.0.0.1:1/x",
                 "--no-build", "--results", str(tmp_path / "r.json")]) == 2
    bad = tmp_path / "images.yaml"
    bad.write_text("- name: a\n  dmap:\n    notadigest: [x]\n")
    results = tmp_path / "r.json"
    results.write_text('{"schema": 1, "registry": "r", "images": []}')
    assert main(["promote", "--results", str(results), "--images-yaml", str(bad)]) == 2
    assert main(["promote", "--results", str(tmp_path / "none.json")]) == 2


def test_repo_list_overrides_reach_the_standins(tree, tmp_path, staging) -> None:
    """KUBE_TEST_REPO_LIST-style keys as --mirrors: the same build, through the adapter."""
    write(tree / "hub" / "VERSION", "1.36.1-9\n")
    write(tree / "hub" / "BASEIMAGE", "linux/amd64=busybox:1.36.1\nlinux/arm64=busybox:1.36.1\n")
    write(tree / "hub" / "Dockerfile", 'ARG BASEIMAGE\nFROM $BASEIMAGE\nLABEL image_version="x"\n')
    overrides = tmp_path / "repo-list.yaml"
    overrides.write_text(f"dockerLibraryRegistry: {staging.host}/docker.io/library\n"
                         f"microsoftRegistry: {staging.host}/mcr.microsoft.com\n")
    outcome, _ = gate(tree, staging.namespace(), overrides, tmp_path)
    assert outcome.exit_code == EXIT_OK
    hub = next(i for i in outcome.results.images if i.name == "hub")
    assert hub.passed and hub.list_digest
