"""Run the built Linux images in a real Docker engine: amd64 natively, arm64 under qemu."""

from __future__ import annotations

import time

import pytest
import requests

pytestmark = pytest.mark.runtime

RUNTIME_ARCHES = ("amd64", "arm64")


def pull(docker, built_target):
    repo, tag = built_target.reference.rsplit(":", 1)
    return docker.images.pull(repo, tag=tag, platform=built_target.target.platform.oci_platform)


def run(docker, image, *args, **kwargs):
    return docker.containers.run(image.id, list(args) or None, remove=True, **kwargs)


def serve(docker, image, port, command=None, timeout=60):
    """Start a container publishing `port`, wait for HTTP, return (container, base URL)."""
    container = docker.containers.run(image.id, command, detach=True, auto_remove=False,
                                      ports={f"{port}/tcp": ("127.0.0.1", None)})
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        binding = (container.ports.get(f"{port}/tcp") or [{}])[0].get("HostPort")
        if binding:
            url = f"http://127.0.0.1:{binding}"
            try:
                requests.get(url + "/", timeout=2)
                return container, url
            except requests.ConnectionError:
                pass
        if container.status == "exited" or time.monotonic() > deadline:
            logs = container.logs().decode(errors="replace")[-500:]
            container.remove(force=True)
            pytest.fail(f"{image.tags} did not serve on {port}: {logs}")
        time.sleep(0.5)


@pytest.mark.targets(image="agnhost", os="linux")
def test_agnhost_version(built_target, e2e_docker):
    image = pull(e2e_docker, built_target)
    out = run(e2e_docker, image, "--version").decode().strip()
    assert out == built_target.target.version
    assert image.attrs["Architecture"] == built_target.target.platform.arch


@pytest.mark.targets(image="agnhost", os="linux", arch=RUNTIME_ARCHES)
def test_agnhost_netexec_answers_hostname(built_target, e2e_docker):
    image = pull(e2e_docker, built_target)
    container, url = serve(e2e_docker, image, 8080, ["netexec", "--http-port=8080"])
    try:
        hostname = requests.get(url + "/hostname", timeout=10).text
        assert hostname == container.attrs["Config"]["Hostname"]
        assert requests.get(url + "/echo?msg=e2e", timeout=10).text == "e2e"
    finally:
        container.remove(force=True)


@pytest.mark.targets(image=("kitten", "nautilus"), os="linux", arch=RUNTIME_ARCHES)
def test_webserver_default_cmd_serves_its_page(built_target, e2e_docker):
    image = pull(e2e_docker, built_target)
    assert image.attrs["Config"]["Cmd"] == ["test-webserver"]
    container, url = serve(e2e_docker, image, 80)
    try:
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200
        assert f"<h1>{built_target.target.image_dir}</h1>" in page.text
    finally:
        container.remove(force=True)


@pytest.mark.targets(image="busybox", os="linux", arch=RUNTIME_ARCHES)
def test_busybox_applets_run(built_target, e2e_docker):
    image = pull(e2e_docker, built_target)
    arch = {"amd64": "x86_64", "arm64": "aarch64"}[built_target.target.platform.arch]
    assert run(e2e_docker, image, "uname", "-m").decode().strip() == arch
    assert run(e2e_docker, image, "sh", "-c", "echo $((6*7))").decode().strip() == "42"


@pytest.mark.targets(image="agnhost", os="linux", arch="amd64")
def test_agnhost_files_in_a_running_container(built_target, e2e_docker):
    """Default CMD (pause) keeps it running; testinfra inspects it through docker exec."""
    import testinfra

    image = pull(e2e_docker, built_target)
    container = e2e_docker.containers.run(image.id, detach=True)
    try:
        host = testinfra.get_host(f"docker://{container.id}")
        link = host.file("/agnhost-2")
        assert link.is_symlink and link.linked_to == "/agnhost"
        assert host.file("/agnhost").mode == 0o755
        assert host.check_output("/agnhost-2 --version") == built_target.target.version
        # busybox ps has no `time` column, which testinfra's process module asks for.
        assert "/agnhost pause" in host.check_output("ps -o args")
    finally:
        container.remove(force=True)
