from __future__ import annotations

import pytest

from e2e_images.platforms import (
    LTSC_BUILDS,
    Platform,
    PlatformError,
    parse_platform,
    windows_release,
)


@pytest.mark.parametrize(
    ("token", "build"),
    [("1809", 17763), ("ltsc2019", 17763), ("1903", 18362), ("1909", 18363), ("2004", 19041),
     ("20H2", 19042), ("ltsc2022", 20348), ("ltsc2025", 26100)],
)
def test_windows_release_table(token, build):
    assert windows_release(token).build == build
    assert parse_platform(f"windows/amd64/{token}").os_version == f"10.0.{build}"


def test_ltsc_builds():
    assert LTSC_BUILDS == (17763, 20348, 26100)


def test_parse_and_format_round_trip():
    for text in ("linux/amd64", "linux/arm/v7", "windows/amd64/ltsc2022", "linux/amd64/1809"):
        assert parse_platform(text).key == text


def test_variant_versus_release():
    arm = parse_platform("linux/arm/v7")
    assert (arm.variant, arm.release, arm.tag_suffix) == ("v7", "", "linux-arm-v7")
    cache = parse_platform("linux/amd64/1809")
    assert (cache.variant, cache.release, cache.os_version) == ("", "1809", None)
    assert cache.tag_suffix == "linux-amd64-1809"


def test_linux_arm_means_v7_in_oci_and_go():
    arm = parse_platform("linux/arm")
    assert arm.oci_variant == "v7"
    assert arm.oci_platform == "linux/arm/v7"
    assert arm.go_env() == {"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm", "GOARM": "7"}
    assert arm.target_args()["TARGETVARIANT"] == "v7"
    assert parse_platform("linux/arm64").go_env().get("GOARM") is None


@pytest.mark.parametrize("bad", ["windows/amd64/1809x", "linux", "linux/amd64/1809/extra",
                                 "windows/amd64", "darwin/amd64", "linux/am d64", "a//b"])
def test_bad_platforms(bad):
    with pytest.raises(PlatformError):
        parse_platform(bad)


def test_platform_rejects_unknown_release():
    with pytest.raises(PlatformError, match="unknown Windows release"):
        Platform("windows", "amd64", release="2019")


def test_per_release_linux_reads_its_base_as_that_release():
    cache = parse_platform("linux/amd64/1809")
    assert cache.per_release_linux and cache.oci_platform == "linux/amd64"
    assert cache.base_platform == parse_platform("windows/amd64/1809")
    for plain in ("linux/arm64", "windows/amd64/ltsc2022", "linux/arm/v7"):
        p = parse_platform(plain)
        assert not p.per_release_linux and p.base_platform == p
