"""Fixtures for the registry tests: real docker-registry processes, one per module."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS
from e2e_images.registry.embedded import DEFAULT_BINARY, EmbeddedRegistry

# The regtest_* helpers beside this file, for the test modules (whatever the import mode).
# Appended, not prepended: this folder's conftest.py must not shadow tests/conftest.py.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))

if TYPE_CHECKING:
    from regtest_proxy import FaultProxy


def _need(binary: str, package: str) -> str:
    path = shutil.which(binary) or (binary if Path(binary).exists() else None)
    if path is None:
        pytest.skip(f"{binary} is not installed (apt-get install {package})")
    return path


@pytest.fixture(scope="session")
def registry_binary() -> str:
    return _need(shutil.which("docker-registry") or DEFAULT_BINARY, "docker-registry")


@pytest.fixture(scope="module")
def registry(registry_binary: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(tmp_path_factory.mktemp("registry"), binary=registry_binary) as reg:
        yield reg


@pytest.fixture(scope="module")
def second_registry(registry_binary: str, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(tmp_path_factory.mktemp("registry2"), binary=registry_binary) as reg:
        yield reg


@pytest.fixture
def client(registry: EmbeddedRegistry) -> RegistryClient:
    return RegistryClient(registry.host, credentials=ANONYMOUS, backoff=0.01)


@pytest.fixture
def proxy(registry: EmbeddedRegistry) -> Iterator[FaultProxy]:
    from regtest_proxy import FaultProxy

    p = FaultProxy(registry.host).start()
    yield p
    p.stop()


@pytest.fixture
def skopeo() -> str:
    return _need("skopeo", "skopeo")
