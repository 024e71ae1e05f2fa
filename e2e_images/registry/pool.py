"""One client per registry for a whole run, so sessions, tokens and connections are reused."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from e2e_images.oci.image import Image
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.mirrors import MirrorMap
from e2e_images.registry.reference import Reference, parse_reference

__all__ = ["ClientPool"]


class ClientPool:
    def __init__(self, *, mirrors: MirrorMap | None = None,
                 insecure: Iterable[str] = ()) -> None:
        self.mirrors = mirrors or MirrorMap()
        self._insecure = frozenset(insecure)
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()

    def client(self, registry: str) -> RegistryClient:
        with self._lock:
            if registry not in self._clients:
                self._clients[registry] = RegistryClient(registry,
                                                         insecure=registry in self._insecure)
            return self._clients[registry]

    def resolve(self, ref: str | Reference) -> Reference:
        """The reference to pull from: upstream references go through the mirror map."""
        return self.mirrors.rewrite(parse_reference(ref) if isinstance(ref, str) else ref)

    def image(self, ref: str | Reference, platform: object | None = None) -> Image:
        where = self.resolve(ref)
        return self.client(where.registry).image(where.repository, where.ref, platform)
