"""`e2e-images plan`: the build matrix of a catalog, as a table or as the JSON contract."""

from __future__ import annotations

import argparse
import json
import os
import sys

from e2e_images.build.builder import BACKENDS
from e2e_images.commands._common import add_catalog_arguments, filters_from
from e2e_images.plan import Plan
from e2e_images.workspace import load_plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_catalog_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--builder", choices=BACKENDS, default="auto",
                        help="the builder the Dockerfiles are checked for (legacy allows RUN "
                             "in Windows stages)")


def _print_table(plan: Plan) -> None:
    """Rendered to text first: rich turns a broken pipe into exit status 1 by itself."""
    import io

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"build plan for {plan.registry}")
    for column in ("#", "image", "platform", "tag", "base image", "depends on", "make"):
        table.add_column(column, overflow="fold")
    for n, image in enumerate(plan.images, 1):
        make = "make bin" if image.spec.go.needs_make else ""
        for i, target in enumerate(image.targets):
            table.add_row(str(n) if i == 0 else "", image.spec.dir if i == 0 else "",
                          target.platform.key, target.tag.rsplit("/", 1)[-1],
                          target.base_image or "-",
                          ", ".join(image.depends_on) if i == 0 else "", make if i == 0 else "")
    text = io.StringIO()
    Console(file=text, width=Console().width, force_terminal=sys.stdout.isatty()).print(table)
    sys.stdout.write(text.getvalue())
    with_make = [i.spec.dir for i in plan.images if i.spec.go.needs_make]
    print(f"{len(plan.images)} images, {len(plan.targets())} targets")
    if with_make:
        print(f"need make (own `bin` recipe): {', '.join(with_make)}")


def run(args: argparse.Namespace) -> int:
    plan = load_plan(args.images_dir, args.registry, filters_from(args), backend=args.builder)
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        if args.json:
            json.dump(plan.to_json(), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            _print_table(plan)
        sys.stdout.flush()
    except BrokenPipeError:  # `plan | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
