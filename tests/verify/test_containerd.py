"""The containerd matcher port against the spec's examples (windows-images.md)."""

from __future__ import annotations

import pytest

from e2e_images.oci import media_types as mt
from e2e_images.oci.models import Descriptor, ImagePlatform
from e2e_images.verify import containerd
from e2e_images.verify.containerd import host_compatible, parse_os_version, select, windows_host

OSV = {17763: "10.0.17763.6659", 20348: "10.0.20348.2966", 26100: "10.0.26100.2605"}


def _entry(n: int, os_: str = "windows", arch: str = "amd64", variant: str = "",
           os_version: str = "", attestation: bool = False) -> Descriptor:
    annotations = {mt.REFERENCE_TYPE_ANNOTATION: mt.ATTESTATION_MANIFEST} if attestation else {}
    return Descriptor(mt.OCI_MANIFEST, "sha256:" + f"{n:x}".rjust(64, "0"), 100,
                      platform=ImagePlatform(os_, arch, variant, os_version),
                      annotations=annotations)


def _windows_list() -> list[Descriptor]:
    return [_entry(1, "linux"), _entry(2, "linux", "arm", "v7"), _entry(3, "linux", "arm64"),
            _entry(4, os_version=OSV[17763]), _entry(5, os_version=OSV[20348]),
            _entry(6, os_version=OSV[26100])]


@pytest.mark.parametrize(("host", "accepted"), [
    (17763, {17763}),
    (20348, {20348}),
    (26100, {20348, 22000, 22621, 26100}),
    (22621, {20348, 22000, 22621}),
])
def test_host_accepts_the_builds_the_spec_lists(host, accepted):
    builds = (17763, 18362, 19041, 20348, 22000, 22621, 26100, 26200)
    got = {b for b in builds
           if host_compatible(parse_os_version(f"10.0.{host}"), parse_os_version(f"10.0.{b}.1"))}
    assert got == accepted


@pytest.mark.parametrize(("host", "want"), [(17763, 4), (20348, 5), (26100, 6), (22621, 5)])
def test_each_host_pulls_its_own_entry(host, want):
    chosen = select(_windows_list(), windows_host(host))
    assert chosen is not None and chosen.digest.endswith(f"{want:x}")


def test_a_host_with_nothing_compatible_gets_none():
    only_2019 = [_entry(1, os_version=OSV[17763])]
    assert select(only_2019, windows_host(20348)) is None
    assert select(only_2019, windows_host(22621)) is None
    assert select([_entry(1, os_version=OSV[20348])], windows_host(17763)) is None


def test_malformed_os_version_never_matches_and_empty_matches_all():
    assert select([_entry(1, os_version="1809")], windows_host(17763)) is None
    assert select([_entry(1, os_version="ltsc2022")], windows_host(20348)) is None
    assert parse_os_version("1809") is None and parse_os_version("10.0") is None
    empty = [_entry(1), _entry(2), _entry(3)]
    for host in (17763, 20348, 26100):  # the first one wins everywhere: the bug it detects
        assert select(empty, windows_host(host)).digest.endswith("1")


def test_ordering_is_by_os_version_string_then_index_order():
    entries = [_entry(1), _entry(2, os_version="10.0.20348.100"),
               _entry(3, os_version="10.0.22621.5"), _entry(4, os_version="10.0.20348.100")]
    assert select(entries, windows_host(22621)).digest.endswith("3")
    assert select(entries, windows_host(20348)).digest.endswith("2")  # tie: index order
    assert select(entries[:1] + entries[1:2], windows_host(20348)).digest.endswith("2")


def test_major_minor_must_match():
    assert select([_entry(1, os_version="6.3.17763.1")], windows_host(17763)) is None


def test_linux_arm_and_arm64_normalisation():
    entries = _windows_list()
    assert select(entries, ImagePlatform("linux", "arm")).digest.endswith("2")
    assert select(entries, ImagePlatform("linux", "arm", "v7")).digest.endswith("2")
    assert select(entries, ImagePlatform("linux", "arm64", "v8")).digest.endswith("3")
    assert select(entries, ImagePlatform("linux", "aarch64")).digest.endswith("3")
    assert select(entries, ImagePlatform("linux", "arm", "v6")) is None
    v8 = [_entry(9, "linux", "arm64", "v8")]
    assert select(v8, ImagePlatform("linux", "arm64")).digest.endswith("9")


def test_attestations_are_never_selected():
    entries = [_entry(1, "unknown", "unknown", attestation=True), _entry(2, "linux")]
    assert select(entries, ImagePlatform("unknown", "unknown")) is None
    assert select(entries, ImagePlatform("linux", "amd64")).digest.endswith("2")
    assert containerd.normalize(ImagePlatform("linux", "x86_64")).architecture == "amd64"
