"""The shape of checks made of one rule per path: validated together, each rule checked on
its own, and a rule whose file a partial view cannot see reported unverified, not failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from e2e_images.errors import LayerError
from e2e_images.verify.result import CheckResult, Finding
from e2e_images.verify.view import ImageView

__all__ = ["PerFileCheck", "read_visible"]


def read_visible(view: ImageView, path: str) -> bytes | None:
    """The file's bytes; None when a partial view cannot see it; LayerError when it is there
    (or should be) but cannot be read."""
    try:
        return view.fs.read(path)
    except LayerError:
        if not view.complete and not view.fs.exists(path):
            return None
        raise


class _Rule(Protocol):
    path: str

    def validate(self) -> None: ...


R = TypeVar("R", bound=_Rule)


@dataclass(frozen=True, slots=True)
class PerFileCheck(Generic[R]):
    files: tuple[R, ...]
    name: ClassVar[str] = ""

    def validate(self) -> None:
        for f in self.files:
            f.validate()

    def run(self, view: ImageView) -> CheckResult:
        findings: list[Finding] = []
        unverified: list[str] = []
        for f in self.files:
            found = self.check(view, f)
            if found is None:
                unverified.append(f.path)
            else:
                findings += found
        return CheckResult(self.name, view.subject, tuple(findings),
                           unverified=tuple(unverified))

    def check(self, view: ImageView, rule: R) -> list[Finding] | None:
        """The rule's findings, or None when the view cannot see its file."""
        raise NotImplementedError
