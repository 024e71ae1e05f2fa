"""What a verification says: findings (one problem each), per-check results, a report.

A finding names the check id (`W6`, `LIST-OSVERSION`, `FILE-EXISTS`), the platform it was
seen on and the path or field, so one line of CLI output is enough to locate it. Its
severity follows from consequences (docs/windows-layers.md): an `error` is something a node
refuses or an image that cannot do its job; a `warning` departs from what Windows' own export
writes but every node tolerates it. Only errors fail, unless the caller asks for warnings too
(`--fail-on-warnings`). `info` lines say what was observed without judging it (which entry each
containerd release pulls).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ERROR", "WARNING", "CheckResult", "Finding", "Judged", "Report", "Severity",
           "failing"]

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # rule id: W1..W13, LIST-*, FILE-*, META-*, ...
    platform: str  # `windows/amd64:10.0.20348.2966`; empty for list-wide findings
    subject: str  # a path in the image, a config field, or an index entry
    message: str
    severity: Severity = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def line(self) -> str:
        """`W6 windows/amd64:10.0.20348.2966 Files/bin/ls.exe: ...`; warnings say so."""
        text = self.message if self.is_error else f"warning: {self.message}"
        return f"{self.check} {self.platform or '-'} {self.subject or '-'}: {text}"

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "platform": self.platform, "subject": self.subject,
                "message": self.message, "severity": self.severity}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        severity = d.get("severity", ERROR)
        if severity not in (ERROR, WARNING):
            raise ValueError(f"finding severity {severity!r} is not error or warning")
        return cls(str(d["check"]), str(d["platform"]), str(d["subject"]), str(d["message"]),
                   severity)


def failing(findings: Iterable[Finding], *, fail_on_warnings: bool = False
            ) -> tuple[Finding, ...]:
    """The findings that fail a verification under this setting."""
    return tuple(f for f in findings if f.is_error or fail_on_warnings)


class Judged:
    """Errors and warnings of anything that holds `findings` (results, reports, the gate's
    per-image results)."""

    __slots__ = ()
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.is_error)


@dataclass(frozen=True, slots=True)
class CheckResult(Judged):
    """One check kind run on one subject. `skipped` says why it could not run at all;
    `unverified` lists what it had to leave out (e.g. base-layer paths in fast mode);
    `info` holds observations that judge nothing (which entry each containerd release
    pulls)."""

    check: str  # the check kind: windows_layer, metadata, file_existence, manifest_list...
    subject: str  # image digest or list reference
    findings: tuple[Finding, ...] = ()
    skipped: str = ""
    unverified: tuple[str, ...] = ()
    info: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"check": self.check, "subject": self.subject,
                             "passed": self.passed,
                             "findings": [f.to_dict() for f in self.findings]}
        if self.skipped:
            d["skipped"] = self.skipped
        if self.unverified:
            d["unverified"] = list(self.unverified)
        if self.info:
            d["info"] = list(self.info)
        return d


@dataclass(frozen=True, slots=True)
class Report(Judged):
    subject: str
    results: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """No errors (warnings pass; see `ok` for --fail-on-warnings)."""
        return all(r.passed for r in self.results)

    def ok(self, *, fail_on_warnings: bool = False) -> bool:
        return not failing(self.findings, fail_on_warnings=fail_on_warnings)

    @property
    def findings(self) -> tuple[Finding, ...]:  # type: ignore[override]
        return tuple(f for r in self.results for f in r.findings)

    @property
    def info(self) -> tuple[str, ...]:
        return tuple(line for r in self.results for line in r.info)

    def ids(self) -> set[str]:
        """The check ids that failed (errors only): what a test asserts on."""
        return {f.check for f in self.errors}

    def warning_ids(self) -> set[str]:
        return {f.check for f in self.warnings}

    def merged(self, *others: Report, subject: str | None = None) -> Report:
        results = self.results + tuple(r for o in others for r in o.results)
        return Report(subject if subject is not None else self.subject, results)

    def summary(self) -> str:
        failed = [r for r in self.results if not r.passed]
        skipped = [r for r in self.results if r.skipped]
        text = (f"{self.subject}: {len(self.results)} checks, {len(failed)} failed, "
                f"{len(self.errors)} errors, {len(self.warnings)} warnings")
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
