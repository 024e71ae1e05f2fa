"""Every planned target is what upstream's image-util.sh would build from the same files.

The expectations are read from the image directory itself (VERSION, ALIAS, the BASEIMAGE
line) and formed as image-util.sh forms them, not through the plan's own code: the tag is
`$REGISTRY/<ALIAS or dir>:<VERSION>-<BASEIMAGE key with / as ->`, the base is the line's value
with `REGISTRY` replaced (`sed s|REGISTRY|$REGISTRY|g`), OS_VERSION is the key's third part,
and a Windows target uses `Dockerfile_windows` when the directory has one.
"""

from __future__ import annotations

from pathlib import Path

from e2e_images.catalog import render_dockerfile


def _read(path: Path) -> str | None:
    return path.read_text().strip() if path.is_file() else None


def _upstream_key_and_value(directory: Path, line: int, arch: str) -> tuple[str, str]:
    if not (directory / "BASEIMAGE").is_file():
        return f"linux/{arch}", ""  # upstream: linux/<each QEMUARCHS key>, no base
    text = (directory / "BASEIMAGE").read_text().splitlines()[line - 1]
    key, _, value = text.strip().partition("=")
    return key, value


def test_target_is_what_image_util_builds(build_target, e2e_plan):
    target, registry = build_target, e2e_plan.registry
    directory = target.context
    key, value = _upstream_key_and_value(directory, target.baseimage_line, target.platform.arch)
    parts = key.split("/")
    image = _read(directory / "ALIAS") or target.image_dir
    version = _read(directory / "VERSION")

    assert target.platform.key == key
    assert target.tag == f"{registry}/{image}:{version}-{key.replace('/', '-')}"
    assert target.list_tag == f"{registry}/{image}:{version}"
    assert dict(target.build_args) == {"BASEIMAGE": value.replace("REGISTRY", registry),
                                       "REGISTRY": registry,
                                       "OS_VERSION": parts[2] if len(parts) == 3 else ""}
    assert target.labels["image_version"] == version
    assert target.labels["git_url"].endswith(f"/{target.image_dir}")
    windows_file = directory / "Dockerfile_windows"
    want = windows_file if parts[0] == "windows" and windows_file.is_file() else \
        directory / "Dockerfile"
    assert target.dockerfile == want
    assert "BASEARCH" not in render_dockerfile(want.read_text(), target.platform)
