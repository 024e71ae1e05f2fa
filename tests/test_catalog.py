from __future__ import annotations

import pytest
from upstream_tree import write

from e2e_images.catalog import (
    load_catalog,
    registry_references,
    render_dockerfile,
    substitute_registry,
)
from e2e_images.errors import CatalogError
from e2e_images.platforms import parse_platform


def test_reads_upstream_layout(upstream_tree):
    catalog = load_catalog(upstream_tree)
    assert [i.dir for i in catalog.images] == [
        "agnhost", "busybox", "httpd-new", "kitten", "resource-consumer", "volume/nfs",
        "windows-servercore-cache"]
    busybox = catalog.get("busybox")
    assert [p.key for p in busybox.platforms] == [
        "linux/amd64", "linux/arm", "linux/arm64", "linux/ppc64le", "linux/s390x",
        "windows/amd64/1809", "windows/amd64/ltsc2022", "windows/amd64/ltsc2025"]
    assert busybox.dockerfile(parse_platform("windows/amd64/1809")).name == "Dockerfile_windows"
    assert busybox.dockerfile(parse_platform("linux/arm")).name == "Dockerfile"
    assert busybox.go.srcs == ("hostname",) and busybox.go.ld_flags == ""
    httpd = catalog.get("httpd-new")
    assert (httpd.name, httpd.alias) == ("httpd", "httpd")
    assert httpd.owners is not None and httpd.owners.approvers == ("alice",)
    assert catalog.get("volume/nfs").version == "1.4"


def test_no_baseimage_means_five_linux_arches(upstream_tree):
    spec = load_catalog(upstream_tree).get("resource-consumer")
    assert [p.key for p in spec.platforms] == [
        "linux/amd64", "linux/arm", "linux/arm64", "linux/ppc64le", "linux/s390x"]
    assert all(line.value == "" for line in spec.lines)
    assert not spec.has_baseimage


def test_makefile_ld_flags_expand_version(upstream_tree):
    agnhost = load_catalog(upstream_tree).get("agnhost")
    assert agnhost.go.srcs == ("agnhost",)
    assert agnhost.go.ld_flags == "-X 'main.Version=2.52'"


def test_go_binaries_yaml_for_new_images(upstream_tree):
    d = upstream_tree / "newimage"
    write(d / "VERSION", "0.1\n")
    write(d / "Dockerfile", "FROM scratch\n")
    write(d / "go-binaries.yaml", "srcs: [cmd/tool]\nld_flags: \"-X main.V=$(VERSION)\"\n")
    spec = load_catalog(upstream_tree).get("newimage")
    assert spec.go.srcs == ("cmd/tool",)
    assert spec.go.ld_flags == "-X main.V=0.1"


def test_registry_substitution_keeps_line_order(upstream_tree):
    agnhost = load_catalog(upstream_tree).get("agnhost")
    bases = [line.base_image("example.com/e2e") for line in agnhost.lines]
    assert bases[0] == "example.com/e2e/busybox:1.36.1-1-linux-amd64"
    assert bases[-1] == "example.com/e2e/busybox:1.36.1-1-windows-amd64-ltsc2025"
    assert [line.line for line in agnhost.lines] == list(range(1, 9))


@pytest.mark.parametrize("written", ["REGISTRY", "$REGISTRY", "${REGISTRY}"])
def test_every_spelling_of_registry_is_substituted_and_found(written):
    value = f"{written}/busybox:1.36.1-1-windows-amd64-ltsc2022"
    assert substitute_registry(value, "reg.example/e2e") == \
        "reg.example/e2e/busybox:1.36.1-1-windows-amd64-ltsc2022"
    assert list(registry_references(f"FROM {value}")) == \
        [(1, "busybox", "1.36.1-1-windows-amd64-ltsc2022")]


def test_registry_inside_a_word_is_not_substituted():
    assert substitute_registry("docker.io/library/MYREGISTRY/x", "r") == \
        "docker.io/library/MYREGISTRY/x"


def test_baseimage_comments_and_blank_lines(upstream_tree):
    write(upstream_tree / "volume/nfs/BASEIMAGE",
          "# comment\n\nlinux/amd64=centos:8\n\n  linux/s390x = centos:8  \n")
    spec = load_catalog(upstream_tree).get("volume/nfs")
    assert [(p.key, line.line) for p, line in zip(spec.platforms, spec.lines, strict=True)] == [
        ("linux/amd64", 3), ("linux/s390x", 5)]


def test_value_split_on_first_equals(upstream_tree):
    write(upstream_tree / "volume/nfs/BASEIMAGE", "linux/amd64=repo/img:tag@x=y\n")
    assert load_catalog(upstream_tree).get("volume/nfs").lines[0].value == "repo/img:tag@x=y"


def test_basearch_substitution():
    """As image-util.sh: BASEARCH always; QEMUARCH only on CROSS_BUILD_ lines of a
    `Dockerfile`, whose prefix is stripped for a foreign arch."""
    text = "FROM --platform=linux/BASEARCH x\nCROSS_BUILD_COPY qemu-QEMUARCH-static /\n"
    out = render_dockerfile(text, parse_platform("linux/arm64"))
    assert out == "FROM --platform=linux/arm64 x\nCOPY qemu-aarch64-static /\n"
    assert render_dockerfile(text, parse_platform("linux/arm64"), "Dockerfile_windows") == (
        "FROM --platform=linux/arm64 x\nCROSS_BUILD_COPY qemu-QEMUARCH-static /\n")


def test_missing_dockerfile_named(upstream_tree):
    (upstream_tree / "volume/nfs/Dockerfile").unlink()
    with pytest.raises(CatalogError, match="no Dockerfile for linux/amd64") as info:
        load_catalog(upstream_tree)
    assert info.value.path.endswith("volume/nfs/Dockerfile")
