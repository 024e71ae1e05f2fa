"""File contents that must (or must not) match regular expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from e2e_images.errors import LayerError
from e2e_images.verify.result import CheckResult, Finding
from e2e_images.verify.view import ImageView

__all__ = ["FileContent", "FileContentCheck"]


@dataclass(frozen=True, slots=True)
class FileContent:
    path: str
    expected: tuple[str, ...] = ()  # regexes that must match somewhere
    excluded: tuple[str, ...] = ()  # regexes that must not

    def validate(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path {self.path!r} must be absolute")
        if not self.expected and not self.excluded:
            raise ValueError(f"{self.path}: give expectedContents or excludedContents")
        for pattern in (*self.expected, *self.excluded):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{self.path}: bad regular expression {pattern!r}: {exc}"
                                 ) from None


@dataclass(frozen=True, slots=True)
class FileContentCheck:
    files: tuple[FileContent, ...]

    def validate(self) -> None:
        for f in self.files:
            f.validate()

    def run(self, view: ImageView) -> CheckResult:
        findings: list[Finding] = []
        unverified: list[str] = []
        for f in self.files:
            try:
                text = view.fs.read(f.path).decode("utf-8", "replace")
            except LayerError as exc:
                if not view.complete and not view.fs.exists(f.path):
                    unverified.append(f.path)
                else:
                    findings.append(Finding("FILE-CONTENT", view.platform, f.path,
                                            f"cannot read: {exc.message}"))
                continue
            for pattern in f.expected:
                if not re.search(pattern, text, re.MULTILINE):
                    findings.append(Finding("FILE-CONTENT", view.platform, f.path,
                                            f"no match for {pattern!r}"))
            for pattern in f.excluded:
                if m := re.search(pattern, text, re.MULTILINE):
                    findings.append(Finding("FILE-CONTENT", view.platform, f.path,
                                            f"contains {m.group(0)!r} (excluded {pattern!r})"))
        return CheckResult("file_content", view.subject, tuple(findings),
                           unverified=tuple(unverified))
