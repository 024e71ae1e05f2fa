"""`e2e-images verify REF...`: the static checks on published images and lists, no build.

With `--expect images/<dir>/expectations.yaml` the catalog directory next to it also gives the
expected platforms (BASEIMAGE, in order) and each child's base, so the Windows lint skips the
base layers and W13 compares os.version with the base's. Windows images whose expectations
name a root image are checked against `mcr.microsoft.com/windows/nanoserver:<release>`,
reached through `--mirrors`. One line per finding on stdout; exit 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from e2e_images.audit import verify_reference
from e2e_images.catalog import load_image
from e2e_images.platforms import Platform, parse_platform
from e2e_images.registry import mirrors
from e2e_images.registry.pool import ClientPool
from e2e_images.verify.expectations import load_expectations


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("refs", nargs="+", metavar="REF",
                        help="image or manifest-list references (tag or @digest)")
    parser.add_argument("--expect", metavar="FILE",
                        help="expectations.yaml (its directory's BASEIMAGE gives the platforms)")
    parser.add_argument("--platform", action="append", default=[], metavar="PLATFORM",
                        help="expected list platforms in order (os/arch[/osversion]); "
                             "repeatable; default: from --expect's BASEIMAGE")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument("--mirrors", metavar="FILE",
                        help="YAML map of upstream registries to mirrors (bases, nanoserver)")
    parser.add_argument("--fast", action="store_true",
                        help="read only configs and the layers the build added")


def run(args: argparse.Namespace) -> int:
    pool = ClientPool(mirrors=mirrors.load(args.mirrors) if args.mirrors else None)
    expectations = spec = None
    if args.expect:
        expectations = load_expectations(args.expect)
        directory = Path(args.expect).resolve().parent
        if (directory / "VERSION").is_file():
            spec = load_image(directory.parent, directory)
    expected: Sequence[Platform] = [parse_platform(p) for item in args.platform
                                    for p in item.split(",") if p.strip()]
    if not expected and spec is not None and spec.has_baseimage:
        expected = spec.platforms
    reports = [verify_reference(pool, ref, spec=spec, expected=expected,
                                expectations=expectations, fast=args.fast)
               for ref in args.refs]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    for report in reports:
        if not args.json:
            for finding in report.findings:
                print(f"{report.subject.split(' ')[0]}: {finding.line()}")
        for result in report.results:
            if result.skipped:
                print(f"note: {result.check} skipped: {result.skipped}", file=sys.stderr)
        print(("ok   " if report.passed else "FAIL ") + report.summary(), file=sys.stderr)
    return 0 if all(r.passed for r in reports) else 1
