"""Fixtures for the verification tests: a real registry per module, and image builders."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS
from e2e_images.registry.embedded import DEFAULT_BINARY, EmbeddedRegistry

# verify_builders beside this file, for the test modules (whatever the import mode).
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRegistry]:
    binary = shutil.which("docker-registry") or DEFAULT_BINARY
    if not Path(binary).exists():
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    with EmbeddedRegistry(tmp_path_factory.mktemp("registry"), binary=binary) as reg:
        yield reg


@pytest.fixture(scope="module")
def client(registry: EmbeddedRegistry) -> RegistryClient:
    return RegistryClient(registry.host, credentials=ANONYMOUS)
