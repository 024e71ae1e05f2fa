"""Every planned target is coherent with the catalog it came from (runs per target)."""

from __future__ import annotations

from e2e_images.catalog import render_dockerfile


def test_target_is_planned(built_target, e2e_registry):
    target = built_target.target
    assert built_target.reference == target.tag
    suffix = target.platform.tag_suffix
    assert target.tag == f"{e2e_registry}/{target.name}:{target.version}-{suffix}"
    assert target.dockerfile.is_file()
    text = render_dockerfile(target.dockerfile.read_text(), target.platform)
    assert "BASEARCH" not in text
    if target.platform.is_windows:
        assert target.os_version and target.os_version.startswith("10.0.")
        assert target.dockerfile.name in ("Dockerfile", "Dockerfile_windows")
    assert target.build_args["OS_VERSION"] == target.platform.release
    assert target.labels["image_version"] == target.version
