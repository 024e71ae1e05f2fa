"""Manifest-list checks on lists pushed to a real registry, good and broken."""

from __future__ import annotations

import pytest
import requests
from verify_builders import OS_VERSIONS, Builder, entry, push_index

from e2e_images.oci import media_types as mt
from e2e_images.oci.image import Image
from e2e_images.oci.models import Descriptor, ImagePlatform, Index
from e2e_images.platforms import parse_platform
from e2e_images.registry.client import RegistryClient
from e2e_images.verify.runner import run_list_checks

RELEASES = ("1809", "ltsc2022", "ltsc2025")
EXPECTED = tuple(parse_platform(p) for p in (
    "linux/amd64", "linux/arm", "windows/amd64/1809", "windows/amd64/ltsc2022",
    "windows/amd64/ltsc2025"))


@pytest.fixture(scope="module")
def children(client: RegistryClient) -> dict[str, Descriptor]:
    """Five children pushed by digest to `verify/list`: two Linux, three Windows."""
    b = Builder()
    out = {}
    for key, plat in (("linux/amd64", ImagePlatform("linux", "amd64")),
                      ("linux/arm", ImagePlatform("linux", "arm", "v7"))):
        out[key] = b.push(client, "verify/list", b.scratch(plat))
    for release in RELEASES:
        out[f"windows/amd64/{release}"] = b.push(client, "verify/list", b.busybox(release))
    return out


def _fetch(client: RegistryClient, index: Index) -> dict[str, Image | Index | None]:
    out: dict[str, Image | Index | None] = {}
    for d in index.manifests:
        if client.head_manifest("verify/list", d.digest) is None:
            out[d.digest] = None
            continue
        m = client.get_manifest("verify/list", d.digest)
        out[d.digest] = m if isinstance(m, Index) else Image.load(
            m, client.repository("verify/list"))
    return out


def _check(client, entries, tag, expected=EXPECTED, **kw):
    index = push_index(client, "verify/list", entries, tag)
    return run_list_checks(index, _fetch(client, index), expected, **kw)


def test_a_good_list_passes(client, children):
    report = _check(client, list(children.values()), "good",
                    base_os_versions={f"windows/amd64/{r}": OS_VERSIONS[r] for r in RELEASES})
    assert report.passed, report.lines()


def test_a_missing_platform_is_named(client, children):
    entries = [d for k, d in children.items() if k != "windows/amd64/ltsc2022"]
    report = _check(client, entries, "missing")
    assert report.ids() == {"LIST-MISSING"}
    assert [(f.platform, f.subject) for f in report.findings] == [
        ("windows/amd64/ltsc2022", "manifests")]
    assert "no entry for windows/amd64/ltsc2022" in report.findings[0].message


def test_windows_entries_without_os_version(client, children):
    entries = [entry(d, os_version="") if d.platform.os == "windows" else d
               for d in children.values()]
    report = _check(client, entries, "no-os-version")
    assert {"LIST-OSVERSION", "LIST-DUPLICATE", "LIST-CONTAINERD"} >= report.ids()
    assert "LIST-OSVERSION" in report.ids()
    osv = [f for f in report.findings if f.check == "LIST-OSVERSION"]
    assert len(osv) == 3 and all("without os.version" in f.message for f in osv)
    assert "LIST-MISSING" not in report.ids()  # the entries still stand for their targets


def test_1809_as_os_version(client, children):
    entries = [entry(d, os_version="1809") if d.platform.os_version.startswith("10.0.17763")
               else d for d in children.values()]
    report = _check(client, entries, "release-token")
    found = [f for f in report.findings if f.check == "LIST-OSVERSION"]
    assert found and all(f.subject == "manifests[2].platform.os.version" for f in found)
    assert any("'1809'" in f.message for f in found)


def test_os_version_must_equal_child_and_base(client, children):
    d = children["windows/amd64/ltsc2022"]
    entries = [entry(x, os_version="10.0.20348.1") if x is d else x for x in children.values()]
    report = _check(client, entries, "wrong-revision",
                    base_os_versions={"windows/amd64/ltsc2022": "10.0.20348.2966"})
    messages = [f.message for f in report.findings if f.check == "LIST-OSVERSION"]
    assert any("child's config" in m for m in messages)
    assert any("base image's" in m for m in messages)


def test_per_platform_tag_that_is_an_index(client, children):
    nested = push_index(client, "verify/list", [children["linux/amd64"]], "nested")
    entries = [Descriptor(mt.OCI_INDEX, nested.digest, nested.size,
                          platform=ImagePlatform("linux", "amd64")) if k == "linux/amd64" else d
               for k, d in children.items()]
    report = _check(client, entries, "nested-child")
    assert report.ids() == {"LIST-CHILD"}
    assert "is an index" in report.findings[0].message


def test_missing_child_wrong_platform_order_and_extras(client, registry, children):
    b = Builder()
    ghost = b.push(client, "verify/list", b.scratch(ImagePlatform("linux", "s390x")))
    ordered = list(children.values())
    entries = [ordered[1], ordered[0], *ordered[2:], ghost,
               entry(children["linux/amd64"], architecture="arm64")]
    index = push_index(client, "verify/list", entries, "messy")
    # the registry accepts a list only when its children exist: delete one afterwards
    resp = requests.delete(f"{registry.url}/v2/verify/list/manifests/{ghost.digest}",
                           timeout=10)
    assert resp.status_code == 202
    report = run_list_checks(index, _fetch(client, index), EXPECTED)
    assert {"LIST-CHILD", "LIST-EXTRA", "LIST-ORDER", "LIST-CONFIG"} <= report.ids()
    config = next(f for f in report.findings if f.check == "LIST-CONFIG")
    assert config.subject.endswith("platform.architecture")


def test_attestations_are_recognised_not_counted(client, children):
    att = Descriptor(mt.OCI_MANIFEST, children["linux/amd64"].digest, 10,
                     platform=ImagePlatform("unknown", "unknown"),
                     annotations={mt.REFERENCE_TYPE_ANNOTATION: mt.ATTESTATION_MANIFEST})
    report = _check(client, [*children.values(), att], "attested")
    assert report.passed, report.lines()
    unmarked = Descriptor(mt.OCI_MANIFEST, children["linux/arm"].digest, 10,
                          platform=ImagePlatform("unknown", "unknown"))
    report = _check(client, [*children.values(), unmarked], "unmarked")
    assert "LIST-ATTESTATION" in report.ids()
