"""The end-of-run table: image x platform x check, from the test reports.

A stateful plugin object, registered by `pytest_plugin.pytest_configure` on the controlling
process only (xdist workers send their reports there). Rows are the plan's targets and
lists, columns the image-suite test functions; a cell is what that test said for that row:
`ok`, `warn` (passed with verification warnings, which the test records as the
`e2e_warnings` user property), `FAIL` (errors, or warnings under `--fail-on-warnings`),
`skip`.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

__all__ = ["WARNINGS_PROPERTY", "CheckSummary"]

WARNINGS_PROPERTY = "e2e_warnings"  # user property: how many warnings a passing check saw

_PARAM = re.compile(r"::(?P<test>[A-Za-z_0-9]+)\[(?P<id>[^\]]+)\]$")
_MARK = {"passed": "ok", "failed": "FAIL", "skipped": "skip"}


class CheckSummary:
    def __init__(self, rows: dict[str, tuple[str, str]]) -> None:
        """`rows` maps a test id (target id or `<dir>-list`) to (image, platform)."""
        self.rows = rows
        self.cells: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        m = _PARAM.search(report.nodeid)
        if not m or m.group("id") not in self.rows:
            return
        if report.when != "call" and report.outcome == "passed":
            return
        check = m.group("test").removeprefix("test_")
        row = self.rows[m.group("id")]
        previous = self.cells[row].get(check)
        if previous != "FAIL":  # a failure in any phase stays a failure
            mark = _MARK.get(report.outcome, report.outcome)
            if mark == "ok" and dict(report.user_properties).get(WARNINGS_PROPERTY):
                mark = "warn"
            self.cells[row][check] = mark

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.cells:
            return
        checks = sorted({c for cells in self.cells.values() for c in cells})
        rows = sorted(self.cells)
        width = [max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)]
        tw = terminalreporter
        tw.section("e2e-images: image x platform x check")
        for n, check in enumerate(checks, 1):
            tw.write_line(f"  [{n}] {check}")
        header = f"{'image':<{width[0]}}  {'platform':<{width[1]}}  " + " ".join(
            f"{f'[{n}]':>5}" for n in range(1, len(checks) + 1))
        tw.write_line(header)
        failed = warned = 0
        for row in rows:
            cells = [self.cells[row].get(c, "") for c in checks]
            failed += cells.count("FAIL")
            warned += cells.count("warn")
            tw.write_line(f"{row[0]:<{width[0]}}  {row[1]:<{width[1]}}  " +
                          " ".join(f"{c:>5}" for c in cells), red="FAIL" in cells,
                          yellow="warn" in cells and "FAIL" not in cells)
        tw.write_line(f"{len(rows)} rows, {failed} failed cells, {warned} cells with "
                      "warnings (warn: passed with verification warnings)")
