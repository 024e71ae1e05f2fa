"""JUnit XML for the gate: one test case per catalog image, failures listing every finding,
so a CI system shows which image failed which check without reading the log. A passing case
carries its warnings (and the containerd pull table) as its output, each line marked as a
warning, so they are visible without failing anything."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from e2e_images.publish.files import write_atomic
from e2e_images.publish.results import GateResults

__all__ = ["junit_xml", "write_junit"]


def junit_xml(results: GateResults, *, seconds: float = 0.0) -> str:
    failures = sum(1 for i in results.images if not i.passed and i.error is None)
    errors = sum(1 for i in results.images if not i.passed and i.error is not None)
    suite = ET.Element("testsuite", name="e2e-images gate", tests=str(len(results.images)),
                       failures=str(failures), errors=str(errors), skipped="0",
                       time=f"{seconds:.3f}")
    for image in results.images:
        case = ET.SubElement(suite, "testcase", classname=f"gate.{image.dir}",
                             name=image.list_tag, time="0")
        if image.error is not None:
            ET.SubElement(case, "error", message=image.error[:500]).text = image.error
        elif not image.passed:
            lines = [f.line() for f in image.errors or image.findings] + \
                [f.line() for f in image.warnings if image.errors]
            first = lines[0] if lines else "verification failed"
            ET.SubElement(case, "failure", message=(
                f"{len(image.errors)} errors, {len(image.warnings)} warnings; {first}")[:500],
                type="verification").text = "\n".join(lines)
        else:
            out = [f"{image.list_digest or 'per-platform tags only'}",
                   f"{len(image.warnings)} warnings",
                   *(f.line() for f in image.warnings), *(f"info: {i}" for i in image.info)]
            ET.SubElement(case, "system-out").text = "\n".join(out)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def write_junit(path: str | Path, results: GateResults, *, seconds: float = 0.0) -> None:
    write_atomic(path, junit_xml(results, seconds=seconds))
