"""`e2e-images verify REF...`: the static checks on published images and lists, no build.

With `--expect images/<dir>/expectations.yaml` the catalog directory next to it is planned
(REGISTRY is the reference's repository path, as the catalog would publish it), so the plan
gives the expected platforms (BASEIMAGE, in order) and each child's base. Without it a
reference is verified bare: its base is found from annotations, the Windows root of its
release (reached through `--mirrors`) or its layout. Windows images whose expectations name a
root image are checked against `mcr.microsoft.com/windows/nanoserver:<release>`.

One line per finding on stdout (warnings say so), then one `info:` line per observation (which
entry each containerd release pulls on each node). Exit 1 when any error was found, or any
warning with `--fail-on-warnings`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from e2e_images.audit import VerifyOptions, verify
from e2e_images.errors import E2EImagesError, PlanError
from e2e_images.plan import Filters, ImagePlan
from e2e_images.platforms import Platform, parse_platform
from e2e_images.registry import mirrors
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import parse_reference
from e2e_images.verify.containerd import DEFAULT_GATING, FAMILIES, parse_families
from e2e_images.verify.expectations import load_expectations
from e2e_images.workspace import load_plan

__all__ = ["add_arguments", "add_judgement_arguments", "run"]


def _families(text: str) -> frozenset[str]:
    try:
        return parse_families(text)
    except E2EImagesError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_judgement_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that decide what fails, identical in `verify` and `gate`."""
    parser.add_argument("--fail-on-warnings", action="store_true",
                        help="fail on warnings too (by default only errors fail)")
    names = ", ".join(f.name for f in FAMILIES)
    parser.add_argument("--containerd-families", type=_families,
                        default=parse_families(DEFAULT_GATING), metavar="LIST",
                        help=f"containerd families whose pull problems fail verification "
                             f"({names}; 'all'; or '<release>+'); the others are reported as "
                             f"information (default: {DEFAULT_GATING})")


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
    add_judgement_arguments(parser)


def _image_plan(expect: Path, ref: str) -> ImagePlan | None:
    """The catalog image beside an expectations file, planned for the reference's registry."""
    directory = expect.resolve().parent
    if not (directory / "VERSION").is_file():
        return None
    registry = parse_reference(ref).name.rsplit("/", 1)[0]
    plan = load_plan(directory.parent, registry, Filters(what=(directory.name,)))
    found = next((i for i in plan.images if i.spec.dir == directory.name), None)
    if found is None:
        raise PlanError(f"{directory.name} is not planned", path=str(directory))
    return found


def run(args: argparse.Namespace) -> int:
    pool = ClientPool(mirrors=mirrors.load(args.mirrors) if args.mirrors else None)
    expectations = load_expectations(args.expect) if args.expect else None
    expected: Sequence[Platform] = [parse_platform(p) for item in args.platform
                                    for p in item.split(",") if p.strip()]
    options = VerifyOptions(fast=args.fast, gating=args.containerd_families)
    reports = []
    for ref in args.refs:
        plan = _image_plan(Path(args.expect), ref) if args.expect else None
        if plan is None:
            reports.append(verify(pool, ref, expected=expected, expectations=expectations,
                                  options=options))
        else:
            reports.append(verify(pool, plan, ref=ref, expected=expected,
                                  expectations=expectations, options=options))
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    for ref, report in zip(args.refs, reports, strict=True):
        if not args.json:
            for finding in report.findings:
                print(f"{ref}: {finding.line()}")
            for line in report.info:
                print(f"{ref}: info: {line}")
        for result in report.results:
            if result.skipped:
                print(f"note: {result.check} skipped: {result.skipped}", file=sys.stderr)
        ok = report.ok(fail_on_warnings=args.fail_on_warnings)
        print(("ok   " if ok else "FAIL ") + report.summary(), file=sys.stderr)
    return 0 if all(r.ok(fail_on_warnings=args.fail_on_warnings) for r in reports) else 1
