from __future__ import annotations

import json
import subprocess
import sys

import pytest
from upstream_tree import WINDOWS, write

from e2e_images.catalog import load_catalog, read_dockerfiles
from e2e_images.errors import PlanError
from e2e_images.plan import Filters, GitInfo, make_plan

STAGING = "gcr.io/k8s-staging-e2e-test-images"


def plan_json(tree, *args):
    out = subprocess.run(
        [sys.executable, "-m", "e2e_images.cli", "plan", "--json", "--images-dir", str(tree),
         "--registry", STAGING, *args],
        capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_upstream_tags_in_baseimage_order(upstream_tree):
    data = plan_json(upstream_tree)
    images = {i["dir"]: i for i in data["images"]}
    agnhost = images["agnhost"]
    assert agnhost["list_tag"] == f"{STAGING}/agnhost:2.52"
    assert [t["tag"] for t in agnhost["targets"]] == [
        f"{STAGING}/agnhost:2.52-linux-amd64", f"{STAGING}/agnhost:2.52-linux-arm",
        f"{STAGING}/agnhost:2.52-linux-arm64", f"{STAGING}/agnhost:2.52-linux-ppc64le",
        f"{STAGING}/agnhost:2.52-linux-s390x", f"{STAGING}/agnhost:2.52-windows-amd64-1809",
        f"{STAGING}/agnhost:2.52-windows-amd64-ltsc2022",
        f"{STAGING}/agnhost:2.52-windows-amd64-ltsc2025"]
    win = agnhost["targets"][5]
    assert win == {**win, "platform": "windows/amd64/1809", "os_version": "10.0.17763",
                   "base_image": f"{STAGING}/busybox:1.36.1-1-windows-amd64-1809",
                   "dockerfile": "agnhost/Dockerfile"}
    assert agnhost["targets"][0]["os_version"] is None
    assert [t["os_version"] for t in images["busybox"]["targets"][5:]] == [
        "10.0.17763", "10.0.20348", "10.0.26100"]
    assert images["busybox"]["targets"][5]["dockerfile"] == "busybox/Dockerfile_windows"
    cache = images["windows-servercore-cache"]
    assert [t["tag"] for t in cache["targets"]] == [
        f"{STAGING}/windows-servercore-cache:1.0-linux-amd64-{v}" for v in WINDOWS]
    assert [t["os_version"] for t in cache["targets"]] == [None, None, None]
    assert cache["targets"][0]["build_args"]["OS_VERSION"] == "1809"
    httpd = images["httpd-new"]
    assert (httpd["name"], httpd["list_tag"]) == ("httpd", f"{STAGING}/httpd:2.4.39-4")
    assert httpd["targets"][0]["tag"] == f"{STAGING}/httpd:2.4.39-4-linux-amd64"
    assert images["volume/nfs"]["targets"][0]["tag"] == f"{STAGING}/volume/nfs:1.4-linux-amd64"
    rc = images["resource-consumer"]
    assert [t["platform"] for t in rc["targets"]] == [
        "linux/amd64", "linux/arm", "linux/arm64", "linux/ppc64le", "linux/s390x"]
    assert all(t["base_image"] is None for t in rc["targets"])


def test_build_order_respects_dependencies(upstream_tree):
    data = plan_json(upstream_tree)
    order = [i["dir"] for i in data["images"]]
    deps = {i["dir"]: i["depends_on"] for i in data["images"]}
    assert deps["agnhost"] == ["busybox"]
    assert deps["kitten"] == ["agnhost"]
    assert deps["busybox"] == ["windows-servercore-cache"]  # from Dockerfile_windows FROM
    for image, needs in deps.items():
        for need in needs:
            assert order.index(need) < order.index(image), (need, image)


def test_filters(upstream_tree):
    win = plan_json(upstream_tree, "--os", "windows")
    assert {i["dir"] for i in win["images"]} == {"busybox", "agnhost", "kitten"}
    only = plan_json(upstream_tree, "--windows-versions", "ltsc2019,ltsc2025", "busybox")
    assert [t["platform"] for t in only["images"][0]["targets"]] == [
        "linux/amd64", "linux/arm", "linux/arm64", "linux/ppc64le", "linux/s390x",
        "windows/amd64/1809", "windows/amd64/ltsc2025"]
    arm = plan_json(upstream_tree, "--platform", "linux/arm64,windows/amd64/ltsc2022", "agnhost")
    assert [t["platform"] for t in arm["images"][0]["targets"]] == [
        "linux/arm64", "windows/amd64/ltsc2022"]
    conf = plan_json(upstream_tree, "all-conformance")
    assert [i["dir"] for i in conf["images"]] == [
        "busybox", "agnhost", "kitten", "resource-consumer"]


def test_labels_and_build_args(upstream_tree):
    catalog = load_catalog(upstream_tree)
    git = GitInfo(commit="abc1234", url="https://github.com/kubernetes/kubernetes")
    plan = make_plan(catalog, STAGING, filters=Filters(what=("kitten",)),
                     dockerfiles=read_dockerfiles(catalog), git=git)
    target = plan.targets()[-1]
    assert target.labels == {
        "image_version": "1.7", "commit_id": "abc1234",
        "git_url": "https://github.com/kubernetes/kubernetes/tree/abc1234/test/images/kitten"}
    assert target.build_args == {"BASEIMAGE": f"{STAGING}/agnhost:2.52-windows-amd64-ltsc2025",
                                 "REGISTRY": STAGING, "OS_VERSION": "ltsc2025"}
    assert target.id == "kitten-windows-amd64-ltsc2025"


def test_cycle_is_an_error_naming_the_line(upstream_tree):
    write(upstream_tree / "busybox" / "BASEIMAGE",
          "linux/amd64=docker.io/library/busybox:1.36.1\n"
          "linux/arm64=REGISTRY/kitten:1.7-linux-arm64\n")
    catalog = load_catalog(upstream_tree)
    with pytest.raises(PlanError, match="cycle") as info:
        make_plan(catalog, STAGING, dockerfiles=read_dockerfiles(catalog))
    assert "agnhost" in info.value.message and "kitten" in info.value.message
    assert info.value.line is not None


def test_reference_to_other_version_is_not_an_edge(upstream_tree):
    write(upstream_tree / "kitten" / "BASEIMAGE", "linux/amd64=REGISTRY/agnhost:2.40-linux-amd64\n")
    catalog = load_catalog(upstream_tree)
    plan = make_plan(catalog, STAGING, dockerfiles=read_dockerfiles(catalog))
    assert next(i for i in plan.images if i.spec.dir == "kitten").depends_on == ()


def test_project_catalog_build_order():
    """The catalog: the servercore cache before busybox, busybox before agnhost, agnhost
    before kitten and nautilus (plan --json, as CI scripts read it)."""
    from pathlib import Path

    images = Path(__file__).resolve().parents[1] / "images"
    data = plan_json(images)
    order = [i["dir"] for i in data["images"]]
    assert order.index("windows-servercore-cache") < order.index("busybox")
    assert order.index("busybox") < order.index("agnhost")
    assert order.index("agnhost") < min(order.index("kitten"), order.index("nautilus"))
    names = {i["dir"]: i["name"] for i in data["images"]}
    assert names["httpd-new"] == "httpd" and names["nginx-new"] == "nginx"
    assert {i["dir"]: i["has_list"] for i in data["images"]}["windows-servercore-cache"] is False
    for image in data["images"]:
        assert (images / image["dir"] / "OWNERS").is_file()


def test_what_naming_a_directory_without_version_says_so(upstream_tree):
    (upstream_tree / "volume" / "notes").mkdir(parents=True)
    catalog = load_catalog(upstream_tree)
    with pytest.raises(PlanError, match="names no image directory") as info:
        make_plan(catalog, STAGING, filters=Filters(what=("volume/notes",)))
    assert info.value.hint == "volume/notes has no VERSION file, so it is not an image directory"
    with pytest.raises(PlanError) as info:
        make_plan(catalog, STAGING, filters=Filters(what=("nowhere",)))
    assert info.value.hint is None
