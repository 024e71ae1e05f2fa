"""The upstream -> mirror map: prefix matching, rewriting and the YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_images.registry.mirrors import MirrorMap, load
from e2e_images.registry.reference import ReferenceError, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def mirrors() -> MirrorMap:
    return MirrorMap.from_mapping({
        "docker.io": "127.0.0.1:5000/docker.io",
        "index.docker.io/library/busybox": "localhost:5001/pinned/busybox",
        "mcr.microsoft.com": "mirror.example:443/mcr",
    })


@pytest.mark.parametrize(("ref", "want"), [
    ("nginx", "127.0.0.1:5000/docker.io/library/nginx:latest"),
    ("docker.io/library/httpd:2.4", "127.0.0.1:5000/docker.io/library/httpd:2.4"),
    ("busybox:1.36.1", "localhost:5001/pinned/busybox:1.36.1"),  # longest prefix wins
    ("busybox-extra:1", "127.0.0.1:5000/docker.io/library/busybox-extra:1"),  # whole components
    ("mcr.microsoft.com/windows/nanoserver:ltsc2022",
     "mirror.example:443/mcr/windows/nanoserver:ltsc2022"),
    (f"busybox@{DIGEST}", f"localhost:5001/pinned/busybox@{DIGEST}"),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),  # unmapped: unchanged
])
def test_rewrite(mirrors: MirrorMap, ref: str, want: str) -> None:
    assert str(mirrors.rewrite(ref)) == want
    assert mirrors.rewrite(parse_reference(ref)) == parse_reference(want)


@pytest.mark.parametrize("alias", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_every_docker_hub_name_is_one_registry(alias: str) -> None:
    """References, mirror keys, credentials and the API host agree on Docker Hub's aliases."""
    from e2e_images.registry.client import base_url
    from e2e_images.registry.credentials import server_url

    assert parse_reference(f"{alias}/library/busybox:1").registry == "docker.io"
    assert str(MirrorMap.from_mapping({alias: "127.0.0.1:5000/hub"}).rewrite("busybox:1")) == \
        "127.0.0.1:5000/hub/library/busybox:1"
    assert server_url(alias) == "https://index.docker.io/v1/"
    assert base_url(alias) == "https://registry-1.docker.io"


def test_single_prefix_map() -> None:
    m = MirrorMap.single(["docker.io", "mcr.microsoft.com"], "127.0.0.1:5000/up/")
    assert str(m.rewrite("mcr.microsoft.com/windows/servercore:1809")) == \
        "127.0.0.1:5000/up/mcr.microsoft.com/windows/servercore:1809"


def test_load_yaml(tmp_path: Path) -> None:
    path = tmp_path / "mirrors.yaml"
    path.write_text("docker.io: 127.0.0.1:5000/docker.io\n"
                    "mcr.microsoft.com: 127.0.0.1:5000/mcr.microsoft.com\n")
    m = load(path)
    assert len(m) == 2
    assert m.rewrite("busybox").registry == "127.0.0.1:5000"
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert len(load(empty)) == 0


@pytest.mark.parametrize(("text", "match"), [
    ("- docker.io\n", "must be a YAML mapping"),
    ("docker.io: [a]\n", "pair of strings"),
    ("docker.io: mirror/docker.io\n", "does not start with a registry host"),
    ("library: 127.0.0.1:5000/x\n", "does not start with a registry host"),
    ("docker.io: 'localhost:5000/UPPER'\n", "invalid repository name"),
    ("docker.io: [\n", "not valid YAML"),
])
def test_load_rejects_bad_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "mirrors.yaml"
    path.write_text(text)
    with pytest.raises(ReferenceError, match=match) as err:
        load(path)
    assert err.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match="cannot read mirror map"):
        load(tmp_path / "nope.yaml")
