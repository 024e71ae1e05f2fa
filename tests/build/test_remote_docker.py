"""Legacy mode: Windows releases built on remote daemons named by REMOTE_DOCKER_URL_<osver>."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from upstream_tree import make_tiny_tree, write

from e2e_images.build.remote_docker import (
    build_remote,
    docker_build_command,
    docker_push_command,
    remote_daemons,
)
from e2e_images.pipeline import build_plan
from e2e_images.plan import Filters
from e2e_images.registry.embedded import EmbeddedRegistry
from e2e_images.session import open_session
from e2e_images.workspace import load_plan

IMAGES = Path(__file__).resolve().parents[2] / "images"


def test_daemons_from_the_environment():
    daemons = remote_daemons({"REMOTE_DOCKER_URL_1809": "tcp://win1809:2376",
                              "REMOTE_DOCKER_URL_ltsc2022": "", "HOME": "/home/ci",
                              "DOCKER_CERT_BASE_PATH": "/certs", "OTHER": "x"})
    assert list(daemons) == ["1809"]  # an empty URL is no builder
    d = daemons["1809"]
    assert d.cert_dir == Path("/certs/.docker-1809")
    assert d.docker_args() == ["--host", "tcp://win1809:2376", "--tlsverify",
                               "--tlscacert", "/certs/.docker-1809/ca.pem",
                               "--tlscert", "/certs/.docker-1809/cert.pem",
                               "--tlskey", "/certs/.docker-1809/key.pem"]
    assert remote_daemons({"REMOTE_DOCKER_URL_2004": "tcp://h:1", "HOME": "/home/ci"}
                          )["2004"].cert_dir == Path("/home/ci/.docker-2004")


def test_command_lines():
    target = next(t for t in load_plan(IMAGES, "gcr.io/k8s-staging-e2e-test-images").targets()
                  if t.id == "busybox-windows-amd64-1809")
    daemon = remote_daemons({"REMOTE_DOCKER_URL_1809": "tcp://w:2376", "HOME": "/h"})["1809"]
    cmd = docker_build_command(daemon, target, "Dockerfile_windows", "/ctx")
    assert cmd[:3] == ["docker", "--host", "tcp://w:2376"]
    assert cmd[cmd.index("build") + 1:cmd.index("build") + 4] == ["--pull", "-t", target.tag]
    assert "OS_VERSION=1809" in cmd and cmd[-1] == "/ctx"
    assert docker_push_command(daemon, target.tag)[-2:] == ["push", target.tag]


def test_releases_without_a_daemon_are_not_built_and_lists_stay_whole(tmp_path, monkeypatch):
    """No REMOTE_DOCKER_URL at all: Linux targets build; Windows ones are skipped (not a
    failure). A list missing a skipped release is not pushed unless asked to narrow it."""
    for key in [k for k in os.environ if k.startswith("REMOTE_DOCKER_URL_")]:
        monkeypatch.delenv(key)
    tree = make_tiny_tree(tmp_path / "images")
    write(tree / "top" / "BASEIMAGE", "linux/amd64=REGISTRY/base:1.0-linux-amd64\n"
          "windows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022\n")
    with open_session(registry=None, cache=tmp_path / "cache", epoch=1, backend="legacy") as s:
        plan = load_plan(tree, s.registry, Filters())
        report = build_plan(plan, s.env)
        narrowed = build_plan(plan, s.env, narrow_lists=True)
    assert report.ok and not report.complete
    by_id = {t.target.id: t for t in report.targets}
    assert by_id["win-windows-amd64-ltsc2022"].skipped.startswith("skipped: no builder")
    assert by_id["top-windows-amd64-ltsc2022"].build is None
    assert by_id["top-linux-amd64"].build is not None
    lists = {i.image.spec.dir: i for i in report.images}
    assert lists["win"].published is None and lists["win"].missing
    assert lists["top"].published is None
    assert [t.rsplit("-", 1)[-1] for t in lists["top"].missing] == ["ltsc2022"]
    lists = {i.image.spec.dir: i for i in narrowed.images}
    entries = lists["top"].published.index.manifests
    assert [d.platform.os for d in entries] == ["linux"]
    assert lists["win"].published is None  # nothing at all to list


def test_build_and_push_through_a_docker_daemon(tmp_path):
    """The docker backend's build and push, against the local engine (a Linux image: there
    is no Windows daemon here)."""
    import docker

    try:
        docker.from_env().ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine ({type(exc).__name__}); hack/services.sh up starts one")
    tree = make_tiny_tree(tmp_path / "images")
    write(tree / "base" / "BASEIMAGE", "linux/amd64=scratch\n")
    with EmbeddedRegistry(tmp_path / "reg") as reg:
        target = load_plan(tree, f"{reg.host}/legacy").targets()[0]
        daemon = remote_daemons({"REMOTE_DOCKER_URL_x": "unix:///var/run/docker.sock",
                                 "HOME": str(tmp_path)})["x"]
        digest = build_remote(daemon, target, target.dockerfile, target.context)
        from e2e_images.registry.client import RegistryClient

        pushed = RegistryClient(reg.host).head_manifest("legacy/base", "1.0-linux-amd64")
        assert pushed is not None and pushed.digest == digest
