"""Fixtures for mirror, promote and the gate: two real registries (staging, production), the
staging one seeded with the hermetic stand-ins as "upstream", and tiny catalogs."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from e2e_images.hermetic import StandinError
from e2e_images.hermetic.busybox import BusyboxBinaries, default_cache_dir, fetch_busybox_binaries
from e2e_images.hermetic.standins import SeedResult, seed_host
from e2e_images.registry.embedded import DEFAULT_BINARY, EmbeddedRegistry


@dataclass(frozen=True)
class Staging:
    registry: EmbeddedRegistry
    seeded: tuple[SeedResult, ...]

    @property
    def host(self) -> str:
        return self.registry.host

    def upstream_digest(self, ref: str) -> str:
        return next(s.digest for s in self.seeded if str(s.upstream) == ref)

    def namespace(self) -> str:
        """A fresh `host/ns` per test, so tests sharing the registry never see each other."""
        return f"{self.host}/t{uuid.uuid4().hex[:10]}"


def _binary() -> str:
    binary = shutil.which("docker-registry") or DEFAULT_BINARY
    if not Path(binary).exists():
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    return binary


@pytest.fixture(scope="session")
def busybox_binaries() -> BusyboxBinaries:
    try:
        return fetch_busybox_binaries(default_cache_dir())
    except StandinError as exc:
        pytest.fail(f"could not get the busybox-static binaries: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory, busybox_binaries: BusyboxBinaries
            ) -> Iterator[Staging]:
    with EmbeddedRegistry(tmp_path_factory.mktemp("staging"), binary=_binary()) as reg:
        _, seeded = seed_host(reg.host, busybox=busybox_binaries)
        yield Staging(reg, seeded)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(tmp_path_factory.mktemp("production"), binary=_binary()) as reg:
        yield reg


@pytest.fixture
def mirror_map_file(tmp_path: Path, staging: Staging) -> Path:
    """The upstream hosts mapped onto the stand-ins seeded in staging (a --mirrors file)."""
    path = tmp_path / "mirror-map.yaml"
    path.write_text(yaml.safe_dump({"docker.io": f"{staging.host}/docker.io",
                                    "mcr.microsoft.com": f"{staging.host}/mcr.microsoft.com"}))
    return path
