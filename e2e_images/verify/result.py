"""What a verification says: findings (one problem each), per-check results, a report.

A finding names the check id (`W6`, `LIST-OSVERSION`, `FILE-EXISTS`), the platform it was
seen on and the path or field, so one line of CLI output is enough to locate it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckResult", "Finding", "Report"]


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # rule id: W1..W13, LIST-*, FILE-*, META-*, ...
    platform: str  # `windows/amd64:10.0.20348.2966`; empty for list-wide findings
    subject: str  # a path in the image, a config field, or an index entry
    message: str

    def line(self) -> str:
        return f"{self.check} {self.platform or '-'} {self.subject or '-'}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "platform": self.platform, "subject": self.subject,
                "message": self.message}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check kind run on one subject. `skipped` says why it could not run at all;
    `unverified` lists what it had to leave out (e.g. base-layer paths in fast mode)."""

    check: str  # the check kind: windows_layer, metadata, file_existence, manifest_list...
    subject: str  # image digest or list reference
    findings: tuple[Finding, ...] = ()
    skipped: str = ""
    unverified: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"check": self.check, "subject": self.subject,
                             "passed": self.passed,
                             "findings": [f.to_dict() for f in self.findings]}
        if self.skipped:
            d["skipped"] = self.skipped
        if self.unverified:
            d["unverified"] = list(self.unverified)
        return d


@dataclass(frozen=True, slots=True)
class Report:
    subject: str
    results: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.results for f in r.findings)

    def ids(self) -> set[str]:
        """The check ids that failed: what a test asserts on."""
        return {f.check for f in self.findings}

    def merged(self, *others: Report, subject: str | None = None) -> Report:
        results = self.results + tuple(r for o in others for r in o.results)
        return Report(subject if subject is not None else self.subject, results)

    def summary(self) -> str:
        failed = [r for r in self.results if not r.passed]
        skipped = [r for r in self.results if r.skipped]
        text = (f"{self.subject}: {len(self.results)} checks, {len(failed)} failed, "
                f"{len(self.findings)} findings")
        return text + (f", {len(skipped)} skipped" if skipped else "")

    def lines(self) -> list[str]:
        return [f.line() for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "passed": self.passed, "summary": self.summary(),
                "results": [r.to_dict() for r in self.results]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def of(cls, subject: str, results: Iterable[CheckResult]) -> Report:
        return cls(subject, tuple(results))
