"""Every error the library raises, so callers can catch at the level they care about.

    E2EImagesError
    ├── CatalogError        an images/ tree that does not parse (names file and line)
    ├── PlanError           filters or dependencies that make no build plan
    ├── DockerfileError     a Dockerfile that cannot be built as written (names file and line)
    ├── BuildError          a backend failed to produce an image
    ├── RegistryError       the distribution API said no, or could not be reached
    │   ├── AuthError
    │   ├── ManifestUnknown
    │   ├── BlobUnknown
    │   └── RetriesExhausted
    ├── LayerError          a layer tar that cannot be read safely
    ├── LayoutError         an OCI layout directory that is malformed or lacks a blob
    ├── VerifyError         verification could not run (not: a check failed)
    └── PromotionRefused    promoting would move a tag or skip verification

This module imports nothing from e2e_images: everything else may import it.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BlobUnknown",
    "BuildError",
    "CatalogError",
    "DockerfileError",
    "E2EImagesError",
    "LayerError",
    "LayoutError",
    "ManifestUnknown",
    "PlanError",
    "PromotionRefused",
    "RegistryError",
    "RetriesExhausted",
    "VerifyError",
]


class E2EImagesError(Exception):
    """Base error: a one-line message, an optional hint, and where it happened."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class CatalogError(E2EImagesError):
    exit_code = 2


class PlanError(E2EImagesError):
    exit_code = 2


class DockerfileError(E2EImagesError):
    exit_code = 2


class BuildError(E2EImagesError):
    pass


class MissingBaseError(BuildError):
    """A base image a target reads is not in the registry (or not reachable): `status` is the
    registry's answer, 404 when it is simply not there (yet)."""

    def __init__(self, message: str, *, status: int | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.status = status


class RegistryError(E2EImagesError):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.status = status
        self.code = code


class AuthError(RegistryError):
    pass


class ManifestUnknown(RegistryError):
    pass


class BlobUnknown(RegistryError):
    pass


class RetriesExhausted(RegistryError):
    pass


class LayerError(E2EImagesError):
    pass


class LayoutError(E2EImagesError):
    pass


class VerifyError(E2EImagesError):
    pass


class PromotionRefused(E2EImagesError):
    pass
