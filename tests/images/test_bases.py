"""Every target's base exists for its platform before anything is built.

External bases are read through the mirror map (the hermetic stand-ins on the embedded
default); a base from this catalog must be a target of the same plan, so it gets built first.
Targets keyed per Windows release (the servercore cache) take a Windows base of that release.
"""

from __future__ import annotations

from e2e_images.platforms import Platform


def base_platform(platform: Platform) -> Platform:
    if platform.release and not platform.is_windows:
        return Platform("windows", platform.arch, release=platform.release)
    return platform


def test_base_image_exists_for_the_platform(build_target, e2e_plan, e2e_registry, e2e_clients):
    base = build_target.base_image
    if base is None:
        assert not build_target.build_args["BASEIMAGE"]
        return
    if base.startswith(e2e_registry + "/"):
        planned = {t.tag for t in e2e_plan.targets()}
        assert base in planned, f"{base} is in the target registry but no target builds it"
        return
    want = base_platform(build_target.platform)
    image = e2e_clients.image(base, platform=want)
    assert image.platform.os == want.os
    assert image.platform.architecture == want.arch
    if want.is_windows:
        assert image.platform.os_version.startswith(want.os_version + "."), (
            f"{base}: os.version {image.platform.os_version!r} is not of {want.release}")
