"""Fixtures for the hermetic stand-ins: the real busybox binaries, a real registry, a seed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e_images.hermetic import StandinError
from e2e_images.hermetic.busybox import BusyboxBinaries, default_cache_dir, fetch_busybox_binaries
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.embedded import EmbeddedRegistry


@pytest.fixture(scope="session")
def busybox_binaries() -> BusyboxBinaries:
    """Debian's busybox-static for five arches, from the cache or fetched with apt.

    A failure is a test failure, never a skip: apt is part of the test environment, and the
    message says whether apt could not reach the archive.
    """
    try:
        return fetch_busybox_binaries(default_cache_dir())
    except StandinError as exc:
        pytest.fail(f"could not get the busybox-static binaries: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="module")
def client(registry: EmbeddedRegistry) -> RegistryClient:
    return RegistryClient(registry.host, insecure=True)
