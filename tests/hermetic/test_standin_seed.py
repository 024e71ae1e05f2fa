"""Seeding the stand-in set into a real docker-registry, and reading it back with skopeo."""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import tarfile
from pathlib import Path

import pytest

from e2e_images.hermetic import StandinError
from e2e_images.hermetic.busybox import BusyboxBinaries
from e2e_images.hermetic.standins import SeedResult, StandinSet, build_standins, seed_upstream
from e2e_images.hermetic.windows_base import WINDOWS_BASES
from e2e_images.oci.models import ConfigFile, Index, Manifest
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.embedded import EmbeddedRegistry

E_MACHINE = {"amd64": 62, "arm": 40, "arm64": 183, "ppc64le": 21, "s390x": 22}
BUSYBOX = "docker.io/library/busybox"


@pytest.fixture(scope="module")
def standins(busybox_binaries: BusyboxBinaries) -> StandinSet:
    return build_standins(busybox=busybox_binaries)


@pytest.fixture(scope="module")
def seeded(client: RegistryClient, registry: EmbeddedRegistry,
           standins: StandinSet) -> tuple[SeedResult, ...]:
    return seed_upstream(client, registry.host, standins=standins)


def skopeo_raw(ref: str) -> dict:
    proc = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def layer_tar(client: RegistryClient, repo: str, manifest: Manifest) -> tarfile.TarFile:
    (layer,) = manifest.layers
    with client.open_blob(repo, layer.digest) as f:
        data = f.read()
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def elf_machine(head: bytes) -> int:
    assert head[:4] == b"\x7fELF", "not an ELF file"
    order = "little" if head[5] == 1 else "big"  # EI_DATA
    return int.from_bytes(head[18:20], order)  # e_machine


def config_of(client: RegistryClient, repo: str, manifest: Manifest) -> ConfigFile:
    with client.open_blob(repo, manifest.config.digest) as f:
        return ConfigFile.parse(f.read())


def test_seed_pushes_everything_then_nothing(client: RegistryClient, registry: EmbeddedRegistry,
                                             busybox_binaries: BusyboxBinaries,
                                             seeded: tuple[SeedResult, ...]) -> None:
    assert all(r.pushed for r in seeded)
    assert {str(r.mirrored) for r in seeded} >= {
        f"{registry.host}/{BUSYBOX}:1.36.1",
        f"{registry.host}/mcr.microsoft.com/windows/nanoserver:ltsc2022",
        f"{registry.host}/mcr.microsoft.com/windows/servercore:1809"}
    again = seed_upstream(client, registry.host, standins=build_standins(busybox=busybox_binaries))
    assert not any(r.pushed for r in again)
    assert [r.digest for r in again] == [r.digest for r in seeded]
    for r in seeded:
        head = client.head_manifest(r.mirrored.repository, r.mirrored.tag)
        assert head is not None and head.digest == r.digest


def test_second_registry_under_a_path_gets_the_same_digests(
        tmp_path: Path, busybox_binaries: BusyboxBinaries,
        seeded: tuple[SeedResult, ...]) -> None:
    with EmbeddedRegistry(tmp_path) as other:
        results = seed_upstream(RegistryClient(other.host, insecure=True),
                                f"{other.host}/mirror", busybox=busybox_binaries)
    assert [r.digest for r in results] == [r.digest for r in seeded]
    assert str(results[0].mirrored) == f"{other.host}/mirror/{BUSYBOX}:1.36.1"


def test_prefix_must_name_the_clients_registry(client: RegistryClient,
                                               standins: StandinSet) -> None:
    with pytest.raises(StandinError, match="client talks to"):
        seed_upstream(client, "127.0.0.1:1/elsewhere", standins=standins)


def test_busybox_index_has_five_real_binaries(client: RegistryClient, registry: EmbeddedRegistry,
                                              busybox_binaries: BusyboxBinaries,
                                              seeded: tuple[SeedResult, ...]) -> None:
    index = skopeo_raw(f"{registry.host}/{BUSYBOX}:1.36.1")
    plats = [(m["platform"]["os"], m["platform"]["architecture"],
              m["platform"].get("variant", "")) for m in index["manifests"]]
    assert plats == [("linux", "amd64", ""), ("linux", "arm", "v7"), ("linux", "arm64", ""),
                     ("linux", "ppc64le", ""), ("linux", "s390x", "")]
    repo = "docker.io/library/busybox"
    for entry in index["manifests"]:
        arch = entry["platform"]["architecture"]
        manifest = client.get_manifest(repo, entry["digest"])
        assert isinstance(manifest, Manifest)
        config = config_of(client, repo, manifest)
        assert config.cmd == ("sh",) and config.platform.architecture == arch
        with layer_tar(client, repo, manifest) as tar:
            f = tar.extractfile("bin/busybox")
            assert f is not None
            assert elf_machine(f.read(20)) == E_MACHINE[arch], arch
            links = {m.name: m.linkname for m in tar.getmembers() if m.issym()}
        assert links["bin/sh"] == "busybox"
        assert len(links) == len(busybox_binaries.applets)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="runs the amd64 binary natively")
def test_pulled_amd64_busybox_runs(client: RegistryClient, tmp_path: Path,
                                   seeded: tuple[SeedResult, ...]) -> None:
    index = client.get_manifest(BUSYBOX, "1.36.1")
    assert isinstance(index, Index)
    manifest = client.get_manifest(BUSYBOX, index.manifests[0].digest)
    assert isinstance(manifest, Manifest)
    with layer_tar(client, BUSYBOX, manifest) as tar:
        f = tar.extractfile("bin/busybox")
        assert f is not None
        binary = tmp_path / "busybox"
        binary.write_bytes(f.read())
    os.chmod(binary, 0o755)
    out = subprocess.run([str(binary), "sh", "-c", "echo hello from $0"], capture_output=True,
                         text=True, timeout=30, check=True)
    assert out.stdout.strip() == "hello from sh"


@pytest.mark.parametrize("base", WINDOWS_BASES, ids=lambda b: b.release)
@pytest.mark.parametrize("flavor", ["nanoserver", "servercore"])
def test_windows_bases(client: RegistryClient, registry: EmbeddedRegistry, flavor: str,
                       base, seeded: tuple[SeedResult, ...]) -> None:
    repo = f"mcr.microsoft.com/windows/{flavor}"
    digests = set()
    for tag in base.tags:
        index = skopeo_raw(f"{registry.host}/{repo}:{tag}")
        (entry,) = index["manifests"]
        assert entry["platform"] == {"architecture": "amd64", "os": "windows",
                                     "os.version": base.os_version}
        digests.add(entry["digest"])
    assert len(digests) == 1  # 1809 and ltsc2019 are one image
    manifest = client.get_manifest(repo, digests.pop())
    assert isinstance(manifest, Manifest)
    config = config_of(client, repo, manifest)
    assert config.platform.os_version == base.os_version
    assert config.env["PATH"].startswith("C:\\Windows\\system32;C:\\Windows;")
    with layer_tar(client, repo, manifest) as tar:
        ms = tar.getmembers()
    names = {m.name for m in ms}
    assert [m.name for m in ms[:2]] == ["Files", "Hives"]
    assert "Files/Windows/System32/cmd.exe" in names
    assert "Hives/Software_Delta" in names and "UtilityVM/Files/EFI/Microsoft/Boot/bcd" in names
    servercore_only = {"Files/Windows/System32/netapi32.dll", "Files/Windows/System32/ntdsapi.dll",
                       "Files/Windows/System32/nltest.exe",
                       "Files/Windows/System32/en-US/nltest.exe.mui",
                       "Files/Windows/System32/WindowsPowerShell"}
    if flavor == "servercore":
        assert servercore_only <= names
    else:
        assert not servercore_only & names
    for m in ms:
        assert m.pax_headers["MSWINDOWS.fileattr"] == ("16" if m.isdir() else "32")
        assert "MSWINDOWS.rawsd" in m.pax_headers


def test_filled_bases_stream_into_the_registry(client: RegistryClient, registry: EmbeddedRegistry,
                                               tmp_path: Path) -> None:
    size = 10 << 20  # over the client's single-PUT size, so blobs go up in chunks
    standins = build_standins(include_busybox=False, windows_filler_bytes=size,
                              workdir=tmp_path)
    results = seed_upstream(client, f"{registry.host}/filled", standins=standins)
    assert len(results) == 8 and all(r.pushed for r in results)
    tag = standins.find("mcr.microsoft.com/windows/servercore:ltsc2025")
    (layer,) = tag.images[0].manifest.layers
    assert layer.size > size
    with client.open_blob("filled/mcr.microsoft.com/windows/servercore", layer.digest) as f:
        received = 0
        while chunk := f.read(1 << 20):
            received += len(chunk)
    assert received == layer.size
