"""What may be promoted: helpers, caches and staging-only mirrors never; failures never; the
catalog's promotion.yaml; and KUBE_TEST_REPO_LIST-style overrides read as a mirror map."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_images.errors import PromotionRefused
from e2e_images.publish.files import PublishInputError
from e2e_images.publish.images_yaml import ImagesYaml
from e2e_images.publish.mirror import load_mirror_config
from e2e_images.publish.policy import BUILTIN, PromotionPolicy, load_policy
from e2e_images.publish.promote import plan_promotion, promote
from e2e_images.publish.results import GateResults, ImageResult, read_results, write_results
from e2e_images.registry import mirrors
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import ReferenceError
from e2e_images.verify.result import Finding

D = {c: f"sha256:{c * 64}" for c in "abcdef"} | {"g": f"sha256:{'9' * 64}"}


def result(name: str, digest: str | None, *, version: str = "1.0", passed: bool = True,
           dir: str | None = None) -> ImageResult:
    findings = () if passed else (Finding("W6", "windows/amd64", "/bin/sh.exe", "bad"),)
    return ImageResult(dir or name, name, version, f"reg.example/s/{name}:{version}", digest,
                       passed, findings)


RESULTS = GateResults("reg.example/s", (
    result("windows-servercore-cache", None),
    result("powershell-helper", D["a"], version="7.4.1-linux-cache"),
    result("agnhost", D["b"], version="2.52"),
    result("httpd", D["c"], version="2.4.39-4", dir="httpd-new"),
    result("busybox", D["d"], version="1.36.1"),  # a staging-only mirror, by name:tag
    result("nginx", D["e"], version="1.25-alpine"),  # same digest as a mirror
    result("kitten", D["f"], version="1.7", passed=False),
))


def test_only_verified_catalog_images_are_proposed(tmp_path: Path) -> None:
    mirrors = tmp_path / "staging-mirrors.yaml"
    mirrors.write_text("mirrors:\n  - docker.io/library/busybox:1.36.1\n"
                       "  - source: docker.io/library/nginx:1.25-alpine\n    name: nginx-hub\n")
    plan = plan_promotion(RESULTS, ImagesYaml.parse(""), policy=PromotionPolicy(),
                          mirrors=load_mirror_config(mirrors), mirror_digests={D["e"]})
    assert [(p.name, p.tag, p.digest) for p in plan.promotions] == [
        ("agnhost", "2.52", D["b"]), ("httpd", "2.4.39-4", D["c"])]
    reasons = {s.name: s.reason for s in plan.skipped}
    assert reasons["windows-servercore-cache"] == BUILTIN["windows-servercore-cache"]
    assert reasons["powershell-helper"] == BUILTIN["powershell-helper"]
    assert reasons["busybox"] == reasons["nginx"] == "staging-only mirror, never promoted"
    assert reasons["kitten"] == "verification failed (1 findings)"


def test_promote_writes_only_promotable_entries(tmp_path: Path) -> None:
    out = tmp_path / "images.yaml"
    promote(RESULTS, out, ClientPool(), policy=load_policy(tmp_path))
    text = out.read_text()
    names = {e.name for e in ImagesYaml.load(out).entries()}
    assert names == {"agnhost", "busybox", "httpd", "nginx"}  # no mirror config given here
    for helper in ("windows-servercore-cache", "powershell-helper", "kitten"):
        assert helper not in text


def test_catalog_policy_file_adds_names(tmp_path: Path) -> None:
    (tmp_path / "promotion.yaml").write_text(
        "# never proposed\nnever-promote:\n  httpd-new: a staging-only mirror image\n")
    policy = load_policy(tmp_path)
    assert policy.reason("httpd", "httpd-new") == "a staging-only mirror image"
    assert policy.reason("windows-servercore-cache") is not None  # built-ins stay
    assert load_policy(tmp_path / "nowhere").never == BUILTIN  # upstream tree: defaults
    (tmp_path / "promotion.yaml").write_text("promote: [x]\n")
    with pytest.raises(PublishInputError, match="one key"):
        load_policy(tmp_path)


def test_refuses_a_tag_move_in_images_yaml_naming_both_digests(tmp_path: Path) -> None:
    out = tmp_path / "images.yaml"
    existing = f'# keep\n- name: agnhost\n  dmap:\n    "{D["g"]}": ["2.52"]\n'
    out.write_text(existing)
    with pytest.raises(PromotionRefused) as info:
        promote(RESULTS, out, ClientPool(), policy=PromotionPolicy())
    assert f"agnhost:2.52 is {D['g']} in {out}; refusing to move it to {D['b']}" in str(info.value)
    assert info.value.exit_code == 1
    assert out.read_text() == existing


def test_results_round_trip(tmp_path: Path) -> None:
    write_results(tmp_path / "r.json", RESULTS)
    assert read_results(tmp_path / "r.json") == RESULTS
    (tmp_path / "bad.json").write_text('{"schema": 1, "images": [{}]}')
    with pytest.raises(PublishInputError, match="malformed"):
        read_results(tmp_path / "bad.json")


def test_repo_list_keys_become_mirror_prefixes(tmp_path: Path) -> None:
    path = tmp_path / "repo-list.yaml"
    path.write_text("dockerLibraryRegistry: mirror.example/library\n"
                    "promoterE2eRegistry: mirror.example/e2e\n"
                    "gcRegistry: mirror.example/k8s\n"
                    "mcr.microsoft.com: mirror.example/mcr\n")
    mm = mirrors.load(path)
    assert str(mm.rewrite("busybox:1.36.1")) == "mirror.example/library/busybox:1.36.1"
    assert str(mm.rewrite("registry.k8s.io/e2e-test-images/agnhost:2.52")) == \
        "mirror.example/e2e/agnhost:2.52"
    assert str(mm.rewrite("registry.k8s.io/pause:3.9")) == "mirror.example/k8s/pause:3.9"
    assert str(mm.rewrite("mcr.microsoft.com/windows/nanoserver:ltsc2022")) == \
        "mirror.example/mcr/windows/nanoserver:ltsc2022"
    plain = tmp_path / "plain.yaml"
    plain.write_text("docker.io: 127.0.0.1:5000/docker.io\n")
    assert str(mirrors.load(plain).rewrite("busybox:1")) == \
        "127.0.0.1:5000/docker.io/library/busybox:1"
    path.write_text("dockerLibraryRegistry: m.example/l\nfooRegistry: m.example/f\n")
    with pytest.raises(ReferenceError, match="unknown registry key 'fooRegistry'"):
        mirrors.load(path)
