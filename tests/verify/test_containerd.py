"""The containerd matcher, family by family, against what each release's `platforms` code does
(read from containerd 1.6/1.7 `platforms/`, containerd/platforms v0.2.1, v1.0.0-rc.1 and
main; docs/windows-layers.md): a table (family, node, list) -> the entry pulled, covering
every place where the families disagree, then the verdict built on it."""

from __future__ import annotations

import pytest

from e2e_images.oci import media_types as mt
from e2e_images.oci.models import Descriptor, ImagePlatform
from e2e_images.verify import containerd
from e2e_images.verify.containerd import (
    FAMILIES,
    FamilyError,
    host_compatible,
    judge,
    parse_families,
    parse_os_version,
    select,
    windows_host,
)

OSV = {17763: "10.0.17763.6659", 20348: "10.0.20348.2966", 26100: "10.0.26100.2605"}
FAMILY = {f.name: f for f in FAMILIES}
EXACT = ("1.6", "1.7.0-1.7.19")


def _entry(n: int, os_: str = "windows", arch: str = "amd64", variant: str = "",
           os_version: str = "", attestation: bool = False) -> Descriptor:
    annotations = {mt.REFERENCE_TYPE_ANNOTATION: mt.ATTESTATION_MANIFEST} if attestation else {}
    return Descriptor(mt.OCI_MANIFEST, "sha256:" + f"{n:x}".rjust(64, "0"), 100,
                      platform=ImagePlatform(os_, arch, variant, os_version),
                      annotations=annotations)


# name -> (entries, the build each Windows entry really is)
LISTS: dict[str, list[Descriptor]] = {
    "upstream": [_entry(0, "linux"), _entry(1, os_version=OSV[17763]),
                 _entry(2, os_version=OSV[20348]), _entry(3, os_version=OSV[26100])],
    "newest-first": [_entry(0, "linux"), _entry(1, os_version=OSV[26100]),
                     _entry(2, os_version=OSV[20348]), _entry(3, os_version=OSV[17763])],
    "ltsc2022-only": [_entry(0, os_version=OSV[20348])],
    "no-os-version-first": [_entry(0), _entry(1, os_version=OSV[20348]),
                            _entry(2, os_version=OSV[26100])],
    "long-build": [_entry(0, os_version="10.0.203480.1")],
    "revisions": [_entry(0, os_version="10.0.20348.100"), _entry(1, os_version=OSV[20348])],
    "capital-os": [_entry(0, "Windows", os_version=OSV[20348])],
    "attestation-first": [_entry(0, attestation=True), _entry(1, os_version=OSV[20348])],
}

# (family, node build, list) -> index pulled (None: "no match for platform")
TABLE: list[tuple[str, int, str, int | None]] = [
    *[(f, h, "upstream", want) for f in EXACT
      for h, want in ((17763, 1), (20348, 2), (22621, None), (26100, 3))],
    *[("1.7.20-2.1", h, "upstream", want)  # first compatible in index order
      for h, want in ((17763, 1), (20348, 2), (22621, 2), (26100, 2))],
    *[("2.2+", h, "upstream", want)  # highest os.version text first
      for h, want in ((17763, 1), (20348, 2), (22621, 2), (26100, 3))],
    *[(f, h, "newest-first", want) for f in ("1.7.20-2.1", "2.2+")
      for h, want in ((17763, 3), (20348, 2), (22621, 2), (26100, 1))],
    *[(f, h, "ltsc2022-only", want) for f in EXACT
      for h, want in ((17763, None), (20348, 0), (22621, None), (26100, None))],
    *[(f, h, "ltsc2022-only", want) for f in ("1.7.20-2.1", "2.2+")
      for h, want in ((17763, None), (20348, 0), (22621, 0), (26100, 0))],
    *[(f, h, "no-os-version-first", want) for f in EXACT
      for h, want in ((17763, None), (20348, 1), (22621, None), (26100, 2))],
    *[("1.7.20-2.1", h, "no-os-version-first", 0) for h in (17763, 20348, 22621, 26100)],
    *[("2.2+", h, "no-os-version-first", want)
      for h, want in ((17763, 0), (20348, 1), (22621, 1), (26100, 2))],
    *[(f, 20348, "long-build", 0) for f in EXACT],  # prefix without a trailing dot
    *[(f, 20348, "long-build", None) for f in ("1.7.20-2.1", "2.2+")],  # not a 16-bit build
    *[(f, 20348, "revisions", 1) for f in EXACT],  # the higher revision
    ("1.7.20-2.1", 20348, "revisions", 0),
    ("2.2+", 20348, "revisions", 1),
    *[(f, 20348, "capital-os", None) for f in EXACT],  # lowercase `windows` only
    *[(f, 20348, "capital-os", 0) for f in ("1.7.20-2.1", "2.2+")],
    *[(f.name, 20348, "attestation-first", 1) for f in FAMILIES],
]


@pytest.mark.parametrize(("family", "host", "name", "want"), TABLE,
                         ids=[f"{f}-{h}-{n}" for f, h, n, _ in TABLE])
def test_each_family_pulls_what_its_release_pulls(family, host, name, want):
    entries = LISTS[name]
    chosen = select(entries, windows_host(host), FAMILY[family])
    got = None if chosen is None else entries.index(chosen)
    assert got == want


def test_the_table_holds_the_disagreements_the_issue_names():
    """The same (node, list) gives different entries in different families."""
    by_case: dict[tuple[int, str], set[int | None]] = {}
    for _family, host, name, want in TABLE:
        by_case.setdefault((host, name), set()).add(want)
    split = {case for case, wants in by_case.items() if len(wants) > 1}
    assert {(26100, "upstream"), (22621, "ltsc2022-only"), (20348, "long-build"),
            (20348, "revisions"), (20348, "capital-os"), (17763, "no-os-version-first"),
            (26100, "no-os-version-first")} <= split


@pytest.mark.parametrize(("host", "accepted"), [
    (17763, {17763}),
    (20348, {20348}),
    (26100, {20348, 22000, 22621, 26100}),
    (22621, {20348, 22000, 22621}),
])
def test_process_isolation_compatibility(host, accepted):
    builds = (17763, 18362, 19041, 20348, 22000, 22621, 26100, 26200)
    got = {b for b in builds
           if host_compatible(parse_os_version(f"10.0.{host}"), parse_os_version(f"10.0.{b}.1"))}
    assert got == accepted


def test_malformed_os_versions():
    for text in ("1809", "ltsc2022", "10.0", "10.0.x.1", "10.0.203480.1", "256.0.1.1"):
        assert parse_os_version(text) is None, text
    assert parse_os_version("10.0.20348") == containerd.WindowsVersion(10, 0, 20348)
    assert select([_entry(1, os_version="6.3.17763.1")], windows_host(17763)) is None


def test_linux_arm_and_arm64_resolution():
    entries = [_entry(1, "linux"), _entry(2, "linux", "arm", "v7"), _entry(3, "linux", "arm64")]
    for host, want in ((ImagePlatform("linux", "arm"), 2), (ImagePlatform("linux", "arm", "v7"), 2),
                       (ImagePlatform("linux", "arm64", "v8"), 3),
                       (ImagePlatform("linux", "aarch64"), 3)):
        assert select(entries, host).digest.endswith(f"{want:x}")
    assert select(entries, ImagePlatform("linux", "arm", "v6")) is None
    only_arm = [_entry(2, "linux", "arm", "v7")]
    assert select(only_arm, ImagePlatform("linux", "arm64")) is only_arm[0]  # 32-bit fallback
    assert select([_entry(3, "linux", "arm64")], ImagePlatform("linux", "arm", "v7")) is None


def test_families_setting():
    assert parse_families("1.7.20+") == {"1.7.20-2.1", "2.2+"}
    assert parse_families("all") == {f.name for f in FAMILIES}
    assert parse_families("1.6, 2.2+") == {"1.6", "2.2+"}
    assert parse_families("1.7+") == {"1.7.0-1.7.19", "1.7.20-2.1", "2.2+"}
    for bad in ("1.8-x", "", "x+"):
        with pytest.raises(FamilyError):
            parse_families(bad)


def _builds(entries):
    return {i: parse_os_version(d.platform.os_version).build for i, d in enumerate(entries)
            if d.platform.os == "windows" and d.platform.os_version}


def test_upstream_order_warns_for_1_7_20_on_2025_nodes_naming_the_fix():
    entries = LISTS["upstream"]
    findings, pulls = judge(entries, _builds(entries), gating=parse_families("1.7.20+"))
    assert [f.severity for f in findings] == ["warning"]
    warning = findings[0]
    assert warning.subject == "containerd 1.7.20-2.1 node.kubernetes.io/windows-build=10.0.26100"
    assert "manifests[2] built for 10.0.20348, not manifests[3] built for 10.0.26100" in \
        warning.message
    assert "windows/amd64/ltsc2025, windows/amd64/ltsc2022, windows/amd64/1809" in \
        warning.message
    lines = [p.line() for p in pulls]
    assert ("containerd 1.7.20-2.1 on node.kubernetes.io/windows-build=10.0.26100 (amd64) "
            "pulls manifests[2] windows/amd64:10.0.20348.2966") in lines
    assert len([p for p in pulls if p.arch == "amd64" and p.family != "any"]) == 4 * 4
    newest = LISTS["newest-first"]
    assert judge(newest, _builds(newest), gating=parse_families("1.7.20+"))[0] == []


def test_exact_families_fail_only_when_they_gate():
    entries = LISTS["ltsc2022-only"]
    quiet, pulls = judge(entries, _builds(entries), gating=parse_families("1.7.20+"))
    assert quiet == []
    assert any(p.family == "1.6" and p.index is None and p.host.endswith("10.0.26100")
               for p in pulls)
    loud, _ = judge(entries, _builds(entries), gating=parse_families("all"))
    assert {(f.subject, f.severity) for f in loud} == {
        (f"containerd {fam} node.kubernetes.io/windows-build=10.0.{h}", "error")
        for fam in EXACT for h in (22621, 26100)}
    assert all("pulls nothing, though manifests[0] (10.0.20348) runs there" in f.message
               for f in loud)


def test_an_entry_without_os_version_first_is_pulled_where_it_cannot_run():
    entries = LISTS["no-os-version-first"]
    builds = {0: 17763, 1: 20348, 2: 26100}  # what the children's configs say
    findings, _ = judge(entries, builds, gating=parse_families("1.7.20-2.1"))
    errors = {f.subject.rsplit("=", 1)[1] for f in findings if f.severity == "error"}
    assert errors == {"10.0.20348", "10.0.22621", "10.0.26100"}
    assert all("cannot run" in f.message for f in findings)


def test_linux_nodes_pull_their_own_entry():
    entries = [_entry(1, "linux", "arm"), _entry(2, "linux", "arm64", "v8")]
    findings, pulls = judge(entries, {}, gating=parse_families("all"))
    assert findings == []
    assert {p.line() for p in pulls} == {
        "containerd any on linux/arm/v7 (arm) pulls manifests[0] linux/arm",
        "containerd any on linux/arm64 (arm64) pulls manifests[1] linux/arm64/v8"}
