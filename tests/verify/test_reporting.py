"""Warnings are shown, distinguished from errors, everywhere a verdict is reported: the
finding lines, the results file promote reads, JUnit, and the end-of-run summary table."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from upstream_tree import make_tiny_tree

from e2e_images.publish.files import PublishInputError
from e2e_images.publish.junit import junit_xml
from e2e_images.publish.results import GateResults, ImageResult, read_results, write_results
from e2e_images.verify.result import CheckResult, Finding, Report

WARN = Finding("W7", "windows/amd64:10.0.20348.2966", "Files/bin/ls.exe",
               "no MSWINDOWS.fileattr record", "warning")
ERR = Finding("W5", "windows/amd64:10.0.20348.2966", "Files/bin/sh.exe",
              "hardlink target missing")


def test_lines_mark_warnings_and_only_errors_fail():
    assert WARN.line().endswith("Files/bin/ls.exe: warning: no MSWINDOWS.fileattr record")
    assert ERR.line().endswith("Files/bin/sh.exe: hardlink target missing")
    warned = Report("x", (CheckResult("windows_layer", "x", (WARN,)),))
    assert warned.passed and warned.ok() and not warned.ok(fail_on_warnings=True)
    assert warned.ids() == set() and warned.warning_ids() == {"W7"}
    failed = Report("x", (CheckResult("windows_layer", "x", (WARN, ERR)),))
    assert not failed.passed and failed.ids() == {"W5"}
    assert "1 errors, 1 warnings" in failed.summary()


def _results(*images: ImageResult) -> GateResults:
    return GateResults("registry.example/e2e", images)


def test_results_file_keeps_severities(tmp_path):
    image = ImageResult("busybox", "busybox", "1.36.1-1", "r/busybox:1.36.1-1",
                        "sha256:" + "a" * 64, True, findings=(WARN,),
                        info=("containerd 2.2+ on x pulls y",))
    path = tmp_path / "results.json"
    write_results(path, _results(image))
    text = path.read_text()
    assert '"severity": "warning"' in text and '"warnings": 1' in text and '"errors": 0' in text
    back = read_results(path).images[0]
    assert back == image and back.warnings == (WARN,) and back.errors == ()
    path.write_text(text.replace('"severity": "warning"', '"severity": "fatal"'))
    with pytest.raises(PublishInputError):
        read_results(path)
    # a results file from before severities: every finding was an error
    path.write_text(text.replace('"severity": "warning"', '"x": 1'))
    assert read_results(path).images[0].findings[0].severity == "error"


def test_junit_shows_warnings_as_output_of_passing_cases():
    ok = ImageResult("busybox", "busybox", "1", "r/busybox:1", "sha256:" + "a" * 64, True,
                     findings=(WARN,), info=("containerd 2.2+ on x pulls y",))
    bad = ImageResult("agnhost", "agnhost", "2", "r/agnhost:2", "sha256:" + "b" * 64, False,
                      findings=(WARN, ERR))
    root = ET.fromstring(junit_xml(_results(ok, bad)).split("\n", 1)[1])
    cases = {c.get("classname"): c for c in root.iter("testcase")}
    passing = cases["gate.busybox"]
    assert passing.find("failure") is None
    out = passing.find("system-out").text
    assert "1 warnings" in out and WARN.line() in out and "info: containerd 2.2+" in out
    failure = cases["gate.agnhost"].find("failure")
    assert failure.get("message").startswith("1 errors, 1 warnings; W5 ")
    assert failure.text.splitlines() == [ERR.line(), WARN.line()]
    assert root.find("testsuite").get("failures") == "1"


def test_summary_table_shows_warned_cells(pytester, tmp_path):
    tree = make_tiny_tree(tmp_path / "images")
    pytester.makepyfile("""
        from e2e_images.summary import WARNINGS_PROPERTY

        def test_checked(build_target, record_property):
            record_property(WARNINGS_PROPERTY, 2 if build_target.image_dir == "top" else 0)
    """)
    result = pytester.runpytest_subprocess("--images-dir", str(tree),
                                           f"--basetemp={tmp_path / 'bt'}")
    result.assert_outcomes(passed=5)
    result.stdout.re_match_lines([r"base +linux/amd64 +ok$", r"top +linux/amd64 +warn$",
                                  r"\d+ rows, 0 failed cells, \d+ cells with warnings"])
