"""Every image's manifest list: complete and truthful (entries 1:1 with BASEIMAGE, in order,
full os.version equal to child and base), and what containerd pulls from it on each Windows
node build and on the Linux arm variants."""

from __future__ import annotations

from e2e_images.audit import base_image, fetch_children
from e2e_images.errors import E2EImagesError
from e2e_images.oci.models import ImagePlatform
from e2e_images.registry.reference import parse_reference
from e2e_images.verify import containerd
from e2e_images.verify.checks.manifest_list import entry_build
from e2e_images.verify.runner import run_list_checks

# Node build -> the build of the entry it must pull (None: the one built for it, if any).
# Client 22621 (Windows 11 22H2) runs LTSC 2022 images; nothing is built for it.
HOSTS = {17763: 17763, 20348: 20348, 26100: 26100, 22621: 20348}


def _per_platform_tags_only(image_plan, built_list) -> bool:
    assert (built_list is None) == (not image_plan.has_list)
    return built_list is None


def test_list_matches_the_plan(image_plan, built_list, e2e_clients):
    if _per_platform_tags_only(image_plan, built_list):
        return
    ref = e2e_clients.resolve(parse_reference(image_plan.list_tag))
    children = fetch_children(e2e_clients, ref, built_list)
    bases: dict[str, str] = {}
    for target in image_plan.targets:
        if target.platform.is_windows and target.base_image:
            try:
                bases[target.platform.key] = base_image(e2e_clients, target.base_image,
                                                        target.platform).os_version
            except E2EImagesError as exc:
                raise AssertionError(f"base {target.base_image}: {exc}") from None
    report = run_list_checks(built_list, children, [t.platform for t in image_plan.targets],
                             base_os_versions=bases)
    assert report.passed, "\n".join(report.lines())
    assert len(built_list.platforms()) == len(image_plan.targets)


def test_containerd_pulls_the_entry_built_for_each_node(image_plan, built_list):
    if _per_platform_tags_only(image_plan, built_list):
        return
    built = {t.platform.arch: set() for t in image_plan.targets if t.platform.is_windows}
    for t in image_plan.targets:
        if t.platform.is_windows:
            built[t.platform.arch].add(int(t.os_version.split(".")[2]))
    for arch, builds in built.items():
        for host, wanted in HOSTS.items():
            chosen = containerd.select(built_list.manifests, containerd.windows_host(host, arch))
            if wanted in builds:
                assert chosen is not None, f"a {host} node finds nothing to pull"
                assert chosen.platform.os == "windows"
                assert entry_build(chosen.platform) == wanted, (
                    f"a {host} node pulls {chosen.platform}, want 10.0.{wanted}")
            else:
                assert chosen is None, f"a {host} node pulls {chosen.platform}, built for none"


def test_arm_variants_resolve(image_plan, built_list):
    if _per_platform_tags_only(image_plan, built_list):
        return
    arches = {t.platform.arch for t in image_plan.targets if t.platform.os == "linux"}
    for host, arch, variant in (("arm", "arm", "v7"), ("arm/v7", "arm", "v7"),
                                ("arm64", "arm64", ""), ("arm64/v8", "arm64", "")):
        if arch not in arches:
            continue
        want_arch, _, want_variant = host.partition("/")
        chosen = containerd.select(built_list.manifests,
                                   ImagePlatform("linux", want_arch, want_variant))
        assert chosen is not None, f"linux/{host} resolves to nothing"
        assert (chosen.platform.architecture, chosen.platform.variant) == (arch, variant)
