"""File contents that must (or must not) match regular expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from e2e_images.errors import LayerError
from e2e_images.verify.checks.per_file import PerFileCheck, read_visible
from e2e_images.verify.result import Finding
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
class FileContentCheck(PerFileCheck[FileContent]):
    name = "file_content"

    def check(self, view: ImageView, rule: FileContent) -> list[Finding] | None:
        try:
            data = read_visible(view, rule.path)
        except LayerError as exc:
            return [Finding("FILE-CONTENT", view.platform, rule.path,
                            f"cannot read: {exc.message}")]
        if data is None:
            return None
        text = data.decode("utf-8", "replace")
        findings: list[Finding] = []
        for pattern in rule.expected:
            if not re.search(pattern, text, re.MULTILINE):
                findings.append(Finding("FILE-CONTENT", view.platform, rule.path,
                                        f"no match for {pattern!r}"))
        for pattern in rule.excluded:
            if m := re.search(pattern, text, re.MULTILINE):
                findings.append(Finding("FILE-CONTENT", view.platform, rule.path,
                                        f"contains {m.group(0)!r} (excluded {pattern!r})"))
        return findings
